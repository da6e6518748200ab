//! A second physics engine behind the suite: Bullet (PyBullet, on the shipped URDF and meshes)
//! in scripts/engine_peer.py speaks the generic ROS 2 robot interface (joint states, IMU,
//! odometry, /clock; joint commands), `g1_sim_adapter` presents it as the robot, and the
//! bridge, the estimator and the velocity expert run unchanged (`launch/engine.launch.xml`): the
//! G1 stands from the gantry and walks forward without a fall.

use std::process::{Command, Stdio};

mod common;

#[test]
fn the_expert_walks_the_g1_in_bullet_through_the_adapter() {
    let domain = g1_testkit::test_domain(20 + std::process::id() % 20);
    let dir = std::env::temp_dir().join(format!("g1d_engine_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("engine.json");
    let engine = Command::new(g1_testkit::python())
        .arg(common::repo().join("scripts/engine_peer.py"))
        .args(["--engine", "pybullet", "--domain", &domain.to_string()])
        .args(["--seconds", "9", "--wall-limit", "120"])
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .arg("up")
        .arg(common::repo().join("launch/engine.launch.xml"))
        .args(["--seconds", "150"])
        .env("ROS_DOMAIN_ID", domain.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let engine = engine.wait_with_output().unwrap();
    up.kill().ok();
    let log = String::from_utf8_lossy(&up.wait_with_output().unwrap().stderr).into_owned();
    assert!(
        engine.status.success(),
        "{}\n{log}",
        String::from_utf8_lossy(&engine.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    // The chain answered every state (lockstep) and the bridge went standby, then active.
    assert_eq!(r["time_s"], 9.0, "{r}\n{log}");
    assert!(r["missed_commands"].as_u64().unwrap() < 10, "{r}");
    assert!(log.contains("standby → active"), "{log}");
    // Released from the gantry at ≈ 5 s, it walked for ≈ 4 s at the commanded 0.5 m/s.
    assert_eq!(r["fell"], false, "{r}\n{log}");
    assert!(r["min_pelvis_z"].as_f64().unwrap() > 0.6, "{r}");
    let x = r["final_xy"][0].as_f64().unwrap();
    assert!(x > 1.0, "walked {x:.2} m forward: {r}");
    std::fs::remove_dir_all(&dir).ok();
}
