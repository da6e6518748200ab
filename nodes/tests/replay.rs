//! Replay tests (the user's "rosbag-based replay tests"): bags recorded by the bridge and the
//! estimator nodes themselves (`record_io`) while the simulator, bridge, estimator and expert
//! ran over DDS, committed as fixtures, replayed through the same nodes' processing at the
//! recorded node-clock times; any difference fails. Regenerate the fixtures with
//! `cargo test -p g1-nodes --release --test replay -- --ignored make_fixtures`.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use g1_nodes::replay::{read_recording, replay, replayable, Tolerances};
use g1_ros::ParamValue;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

const EXACT: Tolerances = Tolerances {
    default: 0.0,
    fields: Vec::new(),
};

#[test]
fn bridge_replays_exactly() {
    let rec = read_recording(&fixtures().join("replay_bridge")).unwrap();
    assert_eq!(rec.node, "g1_bridge");
    assert!(rec.steps.len() > 100, "{} steps", rec.steps.len());
    let mut node = replayable(&rec.node, &rec.params).unwrap();
    let r = replay(&rec, node.as_mut(), &EXACT).unwrap();
    assert!(r.outputs_compared > 500, "{r:?}");
    assert_eq!(r.differences, 0, "{:#?}", r.first);
}

#[test]
fn bridge_replay_catches_a_changed_parameter() {
    // The same recording through a bridge with another damping gain: the damping-mode
    // commands at the start must differ, and the replay must say where.
    let mut rec = read_recording(&fixtures().join("replay_bridge")).unwrap();
    rec.params
        .set("damping_kd", ParamValue::Double(5.0), "test");
    let mut node = replayable(&rec.node, &rec.params).unwrap();
    let r = replay(&rec, node.as_mut(), &EXACT).unwrap();
    assert!(r.differences > 0);
    assert!(
        r.first
            .iter()
            .any(|d| d.contains("/lowcmd.motor_cmd[0].kd: replayed 5 vs recorded 4")),
        "{:#?}",
        r.first
    );
}

#[test]
fn estimator_replays_exactly_and_catches_a_changed_filter() {
    let rec = read_recording(&fixtures().join("replay_estimator")).unwrap();
    assert_eq!(rec.node, "g1_estimator");
    let mut node = replayable(&rec.node, &rec.params).unwrap();
    let r = replay(&rec, node.as_mut(), &EXACT).unwrap();
    assert!(r.outputs_compared > 30, "{r:?}");
    assert_eq!(r.differences, 0, "{:#?}", r.first);
    let mut changed = rec.params.clone();
    changed.set("kalman.accel_noise", ParamValue::Double(3.0), "test");
    let mut node = replayable(&rec.node, &changed).unwrap();
    let r = replay(&rec, node.as_mut(), &EXACT).unwrap();
    assert!(
        r.differences > 0,
        "a different filter must not replay identically"
    );
    // With a loose enough tolerance on the pose the same change passes only where allowed.
    let loose = Tolerances {
        default: 1.0,
        fields: vec![],
    };
    let mut node = replayable(&rec.node, &changed).unwrap();
    let r = replay(&rec, node.as_mut(), &loose).unwrap();
    assert_eq!(r.differences, 0, "{:#?}", r.first);
}

#[test]
fn malformed_recordings_are_refused() {
    let e = read_recording(&fixtures().join("does_not_exist"))
        .err()
        .unwrap();
    assert!(format!("{e:#}").contains("does_not_exist"), "{e:#}");
    let rec = read_recording(&fixtures().join("replay_bridge")).unwrap();
    let e = replayable("g1_sim", &rec.params).err().unwrap();
    assert!(e.to_string().contains("cannot be replayed"));
}

#[test]
#[ignore]
fn make_fixtures() {
    use g1_nodes::runtime::{compose, Node};
    let dds = common::dds(200, 1);
    let ros = |name: &str, args: String| common::ros(&dds, name, &args);
    let f = fixtures();
    for d in ["replay_bridge", "replay_estimator"] {
        std::fs::remove_dir_all(f.join(d)).ok();
    }
    let sim = g1_nodes::sim_node::SimNode::new(ros(
        "g1_sim",
        "--ros-args -p gantry_s:=1.0 -p remote_script:=[0.1:L1+A,0.75:R1+A]".into(),
    ))
    .unwrap();
    let bridge = g1_nodes::bridge_node::BridgeNode::new(ros(
        "g1_bridge",
        format!(
            "--ros-args -p standby_ramp_s:=0.5 -p hold_after_s:=0.2 -p damping_after_s:=1.0 -p record_io:={}",
            f.join("replay_bridge").display()
        ),
    ))
    .unwrap();
    let est = g1_nodes::estimator_node::EstimatorNode::new(ros(
        "g1_estimator",
        format!(
            "--ros-args -p record_io:={}",
            f.join("replay_estimator").display()
        ),
    ))
    .unwrap();
    let expert = g1_nodes::expert_node::ExpertNode::new(ros(
        "g1_expert",
        "--ros-args -p command:=[0.5,0.0,0.0]".into(),
    ))
    .unwrap();
    let status = sim.status.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let nodes: Vec<Box<dyn Node>> = vec![
        Box::new(sim),
        Box::new(bridge),
        Box::new(est),
        Box::new(expert),
    ];
    let runner = std::thread::spawn(move || compose(nodes, s2));
    let t0 = Instant::now();
    while status.lock().unwrap().time_s < 1.6 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    runner.join().unwrap().unwrap();
    let rec = read_recording(&f.join("replay_bridge")).unwrap();
    assert!(
        rec.steps.len() > 100,
        "only {} steps recorded",
        rec.steps.len()
    );
}
