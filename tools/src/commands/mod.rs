//! One module per `hdon` subcommand: clap arguments (`Args`) and `run`.

pub mod bench;
pub mod demo;
pub mod export;
pub mod inspect;
pub mod run;
pub mod verify;

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed and
/// synced, then renamed over `path`. A failure never leaves a partial file at `path`.
///
/// The file gets the permissions a plain `File::create` would give it: those of the file it
/// replaces, else `0o666` minus the umask (a temporary file alone would be private, `0o600`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, "", |tmp| Ok(tmp.write_all(bytes)?))
}

/// [`write_atomic`] with a writer: `write` fills the temporary file (whose name ends in
/// `suffix`, e.g. `.png` for a writer that opens its path and picks the format from the
/// extension), which is then synced and renamed over `path`.
pub fn write_atomic_with(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&mut tempfile::NamedTempFile) -> Result<()>,
) -> Result<()> {
    write_atomic_inner(path, suffix, write)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write_atomic_inner(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&mut tempfile::NamedTempFile) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".hdon-tmp-").suffix(suffix);
    #[cfg(unix)]
    let replaced = std::fs::metadata(path).ok().map(|m| m.permissions());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode is passed to open(2), which applies the umask.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    write(&mut tmp)?;
    #[cfg(unix)]
    if let Some(p) = replaced {
        tmp.as_file()
            .set_permissions(p)
            .with_context(|| format!("cannot set permissions of {}", tmp.path().display()))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("cannot sync {}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot rename into {}: {}", path.display(), e.error))?;
    Ok(())
}

/// Checks, before any work, that the output `path` (given as option `flag`) can be written and
/// would not replace one of the command's `inputs` (`(option, path)`): its folder exists, it is
/// not a folder, and it is not the same file as an input (also through links), which the
/// rename of [`write_atomic`] would otherwise destroy.
pub fn check_output(flag: &str, path: &Path, inputs: &[(&str, &Path)]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{flag} {}: folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    if path.is_dir() {
        bail!(
            "{flag} {}: is a folder, expected a file name",
            path.display()
        );
    }
    for (name, input) in inputs {
        if same_file(path, input) {
            bail!(
                "{flag} {} is the same file as {name} {}: refusing to overwrite an input; choose another output name",
                path.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// Whether `a` and `b` name the same existing file (same device and inode on unix).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (ma.dev(), ma.ino()) == (mb.dev(), mb.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// A progress bar on stderr for `len` steps; hidden when stderr is not a terminal.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>12} [{bar:30}] {pos}/{len} {elapsed_precise}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `"release"` or `"debug"`: latency figures of a debug build are not representative.
pub const BUILD: &str = if cfg!(debug_assertions) {
    "debug"
} else {
    "release"
};

/// Prints a warning on stderr when latency is measured with a debug build.
pub fn warn_if_debug() {
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build of hdon; measure latency with `cargo run --release -p hdon-tools -- ...`");
    }
}
