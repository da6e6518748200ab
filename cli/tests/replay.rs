//! `g1d replay` on the committed recordings (nodes/tests/fixtures): the bridge and the
//! estimator replay with no difference; a changed parameter makes the command fail.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../nodes/tests/fixtures")
        .join(name)
}

fn g1d(args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn replay_command_passes_on_recordings_and_fails_on_change() {
    let bridge = fixture("replay_bridge");
    let est = fixture("replay_estimator");
    let (ok, out) = g1d(&["replay", bridge.to_str().unwrap(), "--node", "g1_bridge"]);
    assert!(ok, "{out}");
    assert!(out.contains(" 0 differences"), "{out}");
    let (ok, out) = g1d(&["replay", est.to_str().unwrap(), "--node", "g1_estimator"]);
    assert!(ok, "{out}");
    let (ok, out) = g1d(&[
        "replay",
        bridge.to_str().unwrap(),
        "--node",
        "g1_bridge",
        "-p",
        "standby_ramp_s:=0.3",
    ]);
    assert!(
        !ok,
        "a 0.3 s standby ramp cannot replay a recording made with a 0.5 s one: {out}"
    );
    let (ok, out) = g1d(&["replay", bridge.to_str().unwrap(), "--node", "g1_estimator"]);
    assert!(!ok && out.contains("recorded by g1_bridge"), "{out}");
}
