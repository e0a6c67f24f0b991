//! Helpers shared by the integration tests of the `hdon` binary.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The `hdon` binary built for these tests.
pub fn hdon() -> Command {
    Command::cargo_bin("hdon").expect("hdon binary")
}

/// `tests/fixtures/<name>`: a fixture model's spec, checkpoint and golden outputs.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}
