//! `launch/record.launch.xml`, as the README gives it, starts with its default topics and
//! writes a bag that names them all and closes cleanly.

use std::process::Command;

#[test]
fn record_launch_starts_and_records_with_its_defaults() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("g1d_record_launch_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let bag = dir.join("bag");
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args([
            "up",
            root.join("launch/record.launch.xml").to_str().unwrap(),
            &format!("bag:={}", bag.display()),
            "--seconds",
            "2",
        ])
        .env(
            "ROS_DOMAIN_ID",
            g1_testkit::test_domain(180 + std::process::id() % 20).to_string(),
        )
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let meta = std::fs::read_to_string(bag.join("metadata.yaml")).unwrap();
    for topic in [
        "/joint_states",
        "/g1d/state",
        "/g1d/obstacles",
        "/goal_pose",
    ] {
        assert!(
            meta.contains(topic),
            "{topic} not in the bag's metadata:\n{meta}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
