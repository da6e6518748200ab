//! Test support shared by the workspace's integration tests (a dev-dependency only).
//!
//! The independent checks the tests lean on (the Python `rosbags` and `mcap` readers,
//! `onnxruntime`, the `cyclonedds` peer) run in the project's virtual environment, which
//! `make setup` creates at `.venv/`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's Python (`.venv/bin/python`); panics with the fix when it is missing.
pub fn python() -> PathBuf {
    let p = repo().join(".venv/bin/python");
    assert!(
        p.exists(),
        "run `make setup` first ({} missing)",
        p.display()
    );
    p
}

/// What the Python `rosbags` and `mcap` readers find in a rosbag2 directory, from
/// `scripts/check_bag_python.py`: `{"rosbags": {topic: count}, "mcap": {topic: count},
/// "custom_data": {...}}`. Panics with the script's stderr if a reader fails.
pub fn python_bag_report(bag: &Path) -> serde_json::Value {
    let out = Command::new(python())
        .arg(repo().join("scripts/check_bag_python.py"))
        .arg(bag)
        .output()
        .expect("running the Python bag readers");
    assert!(
        out.status.success(),
        "the Python bag readers failed on {}: {}",
        bag.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the readers' JSON report")
}
