//! Helpers shared by the `g1d` command-line tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What the Python `rosbags` and `mcap` readers find in a rosbag2 directory
/// (`scripts/check_bag_python.py`: message counts per reader and topic); panics with the
/// script's stderr if it fails.
pub fn python_bag_report(bag: &Path) -> serde_json::Value {
    let py = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("scripts/check_bag_python.py"))
        .arg(bag)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    serde_json::from_slice(&py.stdout).unwrap()
}
