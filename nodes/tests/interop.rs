//! Interop with an independent DDS implementation: the Python Cyclone DDS peer
//! (scripts/dds_peer.py, types declared from the .msg files) subscribes `/joint_states` and the
//! Body-Pos topic and publishes joint targets that visibly move the simulated G1's elbow.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use g1::{Joint, JOINTS};
use g1_nodes::bridge_node::BridgeNode;
use g1_nodes::estimator_node::EstimatorNode;
use g1_nodes::runtime::{compose, Node};
use g1_nodes::sim_node::SimNode;

#[test]
fn cyclone_dds_peer_reads_states_and_moves_the_elbow() {
    let (repo, py) = (g1_testkit::repo(), g1_testkit::python());
    let domain = g1_testkit::test_domain(120 + std::process::id() % 50);
    let dds = common::dds(domain, 1);
    // On the gantry the whole time; standby at 0.5 s, active at 4.0 s (the peer's targets are
    // fresh by then).
    let sim = SimNode::new(common::ros(
        &dds,
        "g1_sim",
        "--ros-args -p gantry_s:=100.0 -p remote_script:=[0.5:L1+A,4.0:R1+A]",
    ))
    .unwrap();
    let bridge = BridgeNode::new(common::ros(
        &dds,
        "g1_bridge",
        "--ros-args -p standby_ramp_s:=3.0 -p hold_after_s:=0.2 -p damping_after_s:=1.0",
    ))
    .unwrap();
    let est = EstimatorNode::new(common::ros(&dds, "g1_estimator", "--ros-args")).unwrap();
    let status = sim.status.clone();
    let elbow = Joint::LeftElbow.index();
    let mut targets = g1::default_pose();
    targets[elbow] += 0.6;
    let json = |v: Vec<f64>| serde_json::to_string(&v).unwrap();
    let peer = Command::new(&py)
        .arg(repo.join("scripts/dds_peer.py"))
        .args([
            "joint-poke",
            "--domain",
            &domain.to_string(),
            "--seconds",
            "9",
        ])
        .args(["--targets", &json(targets.to_vec())])
        .args(["--kp", &json(JOINTS.iter().map(|j| j.kp()).collect())])
        .args(["--kd", &json(JOINTS.iter().map(|j| j.kd()).collect())])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let nodes: Vec<Box<dyn Node>> = vec![Box::new(sim), Box::new(bridge), Box::new(est)];
    let runner = std::thread::spawn(move || compose(nodes, s2));
    let t0 = Instant::now();
    let mut before = None;
    while t0.elapsed() < Duration::from_secs(9) {
        std::thread::sleep(Duration::from_millis(50));
        let st = status.lock().unwrap().clone();
        if st.time_s > 3.8 && before.is_none() && !st.q.is_empty() {
            before = Some(st.q[elbow]);
        }
    }
    let out = peer.wait_with_output().unwrap();
    stop.store(true, Ordering::Relaxed);
    runner.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let st = status.lock().unwrap().clone();
    let before = before.expect("the simulation reached 3.8 s");
    let after = st.q[elbow];
    // Standby holds the default pose; the peer's target moves the elbow 0.6 rad.
    assert!(
        (before - g1::default_pose()[elbow]).abs() < 0.1,
        "elbow before activation {before}"
    );
    assert!(
        (after - targets[elbow]).abs() < 0.1,
        "elbow {after:.3} rad, target {:.3} rad",
        targets[elbow]
    );
    // The peer decoded our JointState and Body-Pos messages.
    assert!(r["joint_states"].as_u64().unwrap() > 100, "{r}");
    assert!(r["body_pos"].as_u64().unwrap() > 20, "{r}");
    assert_eq!(r["layout_version"], 1);
    assert_eq!(r["state_len"], 192);
    assert_eq!(r["names"][elbow], "left_elbow_joint");
    let seen = r["last_position"][elbow].as_f64().unwrap();
    assert!(
        (seen - targets[elbow]).abs() < 0.1,
        "peer saw the elbow at {seen}"
    );
}
