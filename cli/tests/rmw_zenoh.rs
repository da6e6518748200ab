//! The suite on Zenoh (`RMW_IMPLEMENTATION=rmw_zenoh_cpp`) against an independent Zenoh peer:
//! Eclipse Zenoh's Python binding (scripts/zenoh_peer.py) runs the router the suite connects
//! to, receives `/joint_states` and `/lowstate` under rmw_zenoh's key expressions and decodes
//! them with its own type declarations, finds the nodes and the `/cmd_vel` subscription in the
//! liveliness tokens, reads `/rosout`, and publishes `cmd_vel` — which the expert then follows
//! (it turns in place instead of walking ahead).

use std::process::{Command, Stdio};

use g1_msgs::type_hash::rihs01;

mod common;

#[test]
fn a_zenoh_peer_reads_the_suite_and_steers_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let domain = g1_testkit::test_domain(200 + std::process::id() % 20);
    let dir = std::env::temp_dir().join(format!("g1d_zenoh_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("s.json");
    let peer = Command::new(g1_testkit::python())
        .arg(common::repo().join("scripts/zenoh_peer.py"))
        .args(["--listen", &format!("tcp/127.0.0.1:{port}")])
        .args(["--domain", &domain.to_string(), "--seconds", "14"])
        .args(["--cmd-vel", "0.0,0.0,0.6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let up = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .arg("up")
        .arg(common::repo().join("launch/sim.launch.xml"))
        .args(["--seconds", "12", "--summary", summary.to_str().unwrap()])
        .env("RMW_IMPLEMENTATION", "rmw_zenoh_cpp")
        .env(
            "ZENOH_CONFIG_OVERRIDE",
            format!("connect/endpoints=[\"tcp/127.0.0.1:{port}\"]"),
        )
        .env("ROS_DOMAIN_ID", domain.to_string())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&up.stderr);
    let peer = peer.wait_with_output().unwrap();
    assert!(up.status.success(), "{log}");
    assert!(log.contains("on Zenoh (rmw_zenoh)"), "{log}");
    assert!(
        peer.status.success(),
        "{}",
        String::from_utf8_lossy(&peer.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&peer.stdout).unwrap();
    // The peer decoded both streams (a 500 Hz state each, for ≈ 10 s).
    let (joints, low) = (
        r["joint_states"].as_u64().unwrap(),
        r["lowstate"].as_u64().unwrap(),
    );
    assert!(joints > 1000 && low > 1000, "{r}");
    assert_eq!(r["decode_errors"], serde_json::json!([]));
    assert!(
        r["lowstate_crc_ok"].as_u64().unwrap() as f64 >= 0.99 * low as f64,
        "{r}"
    );
    assert_eq!(r["names"][0], "left_hip_pitch_joint");
    // /rosout: the bridge's transitions, as rcl_interfaces/Log.
    assert!(
        r["rosout"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "g1_bridge" && l["msg"].as_str().unwrap().contains("→ standby")),
        "{}",
        r["rosout"]
    );
    // Under rmw_zenoh's keys, with the hashes computed from the definitions.
    assert_eq!(
        r["keys"]["joint_states"],
        format!(
            "{domain}/joint_states/sensor_msgs::msg::dds_::JointState_/{}",
            rihs01::<g1_msgs::sensor_msgs::JointState>()
        )
    );
    assert_eq!(
        r["keys"]["lowstate"],
        format!(
            "{domain}/lowstate/unitree_hg::msg::dds_::LowState_/{}",
            rihs01::<g1_msgs::unitree::LowState>()
        )
    );
    // The graph: every node of the launch file, and the expert's cmd_vel subscription.
    let tokens: Vec<&str> = r["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for node in ["g1_sim", "g1_bridge", "g1_estimator", "g1_expert"] {
        assert!(
            tokens
                .iter()
                .any(|t| t.contains("/NN/") && t.ends_with(&format!("/{node}"))),
            "{node} has no node token: {tokens:?}"
        );
    }
    assert_eq!(r["cmd_vel_hash"], rihs01::<g1_msgs::geometry_msgs::Twist>());
    // The suite received the peer's cmd_vel: the expert turned in place.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let expert = &s["nodes"]["/g1_expert"];
    assert!(
        expert["cmd_vel_received"].as_u64().unwrap() > 20,
        "{expert}"
    );
    assert_eq!(expert["command"], serde_json::json!([0.0, 0.0, 0.6]));
    assert_eq!(s["fell"], false, "{s}");
    let xy = &s["final_xy"];
    let d = xy[0].as_f64().unwrap().hypot(xy[1].as_f64().unwrap());
    assert!(d < 1.0, "turning in place, it moved {d:.2} m: {s}");
    std::fs::remove_dir_all(&dir).ok();
}
