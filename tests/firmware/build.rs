//! Links the image with `link.x` (the mps2-an386 memory map, the vector table first). A build
//! script, not `.cargo/config.toml`: cargo reads that from the directory it runs in, and CI
//! builds this package from the repository's root with `--manifest-path`.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-search={dir}");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=link.x");
    println!("cargo:rerun-if-changed=build.rs");
}
