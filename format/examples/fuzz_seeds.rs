//! Writes one small valid model file per family into a directory (the fuzzer's seed corpus):
//! `cargo run -p hdon-format --example fuzz_seeds -- DIR`.
#[path = "../tests/common/mod.rs"]
mod common;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/corpus/parse".into());
    std::fs::create_dir_all(&dir)?;
    for family in common::FAMILIES {
        let bytes = common::fixture(family).bytes();
        let path = std::path::Path::new(&dir).join(format!("{family}.hdon"));
        std::fs::write(&path, &*bytes)?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
