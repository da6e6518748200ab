//! Long jobs report progress in a log too: with stderr not a terminal (CI, a pipe, `nohup`),
//! `g1d eval` prints plain progress lines — at most one every 10 s, and the last — instead of
//! nothing.

use std::process::Command;

#[test]
fn progress_goes_to_a_log_as_plain_lines() {
    let dir = std::env::temp_dir().join(format!("g1d_progress_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenarios = dir.join("s.yaml");
    std::fs::write(
        &scenarios,
        "scenarios:\n  - {name: short_joystick, task: joystick, commands: [[0.3, 0, 0, 1]]}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(["eval", "--runs", "2", "--profile", "ideal", "--scenarios"])
        .arg(&scenarios)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2/2 short_joystick / diffusion"), "{err}");
    // Plain lines, no terminal control sequences.
    assert!(!err.contains('\u{1b}'), "{err:?}");
    std::fs::remove_dir_all(&dir).ok();
}
