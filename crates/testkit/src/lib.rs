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

/// The DDS domain for a test that would use `wanted`, moved into 1..=100 (`1 + (wanted − 1) mod
/// 100`): away from 0, where a robot may be, and below 102, because on Linux the ports of
/// domains 102–232 (7400 + 250 · domain + …) lie in the ephemeral range 32768–60999, where any
/// socket the system opens may already hold them. Domains that differ by less than 100 stay
/// apart.
pub fn test_domain(wanted: u32) -> u16 {
    (1 + (wanted.max(1) - 1) % 100) as u16
}

/// A scratch directory under the system's temporary directory, named after `name` and the
/// test process, removed (with what is in it) when dropped — also when the test fails.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("g1d-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }

    /// `file` inside it.
    pub fn join(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_domains_avoid_0_and_the_ephemeral_ports() {
        for w in 0..400 {
            let d = super::test_domain(w);
            assert!((1..=100).contains(&d), "{w} → {d}");
            // The highest port a domain's participants use (120 participants).
            assert!(7400 + 250 * d as u32 + 11 + 2 * 120 < 32768);
        }
        assert_eq!(super::test_domain(140), 40);
        assert_eq!(super::test_domain(42), 42);
    }

    #[test]
    fn a_scratch_directory_goes_when_dropped() {
        let s = super::Scratch::new("scratch-test");
        std::fs::write(s.join("f"), "x").unwrap();
        let dir = s.join("");
        assert!(dir.is_dir());
        drop(s);
        assert!(!dir.exists());
    }
}
