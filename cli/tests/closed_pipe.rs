//! `g1d … | head`: when the reader of its output goes away, g1d ends quietly (as Unix tools
//! do on SIGPIPE), not with a panic.

use std::process::{Command, Stdio};

#[test]
fn a_closed_pipe_ends_g1d_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(["bench", "estimator", "--seconds", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader closes before g1d prints anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}
