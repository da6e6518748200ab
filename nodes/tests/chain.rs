//! The whole chain over DDS on loopback, composed in one process: g1_sim → g1_bridge →
//! g1_estimator / g1_expert → g1_bridge → g1_sim. The G1 starts on a gantry in damping, the
//! scripted remote presses L1+A (standby ramp) and R1+A (active), the gantry lets go, and the
//! velocity expert walks it for 20 s without a fall.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use g1_bridge::Mode;
use g1_nodes::bridge_node::BridgeNode;
use g1_nodes::estimator_node::EstimatorNode;
use g1_nodes::expert_node::ExpertNode;
use g1_nodes::runtime::{compose, Node};
use g1_nodes::sim_node::SimNode;

#[test]
fn expert_walks_the_simulated_g1_through_the_bridge_over_dds() {
    let dds = common::dds(170, 50);
    let sim = SimNode::new(common::ros(
        &dds,
        "g1_sim",
        "--ros-args -p gantry_s:=5.0 -p remote_script:=[0.5:L1+A,4.6:R1+A]",
    ))
    .unwrap();
    let bridge = BridgeNode::new(common::ros(
        &dds,
        "g1_bridge",
        "--ros-args -p standby_ramp_s:=3.0 -p hold_after_s:=0.2 -p damping_after_s:=1.0",
    ))
    .unwrap();
    let est = EstimatorNode::new(common::ros(&dds, "g1_estimator", "--ros-args")).unwrap();
    let expert = ExpertNode::new(common::ros(
        &dds,
        "g1_expert",
        "--ros-args -p policy:=policies/velocity_mjlab -p command:=[0.5,0.0,0.0]",
    ))
    .unwrap();
    // A plain subscriber of the estimator's odometry (Kalman filter from /imu + /joint_states).
    let mut watcher = common::ros(&dds, "watcher", "--ros-args");
    let odom_sub = watcher
        .subscription::<g1_msgs::nav_msgs::Odometry>("/odom", g1_ros::dds::QosPreset::Sensor)
        .unwrap();
    let sim_status = sim.status.clone();
    let bridge_status = bridge.status.clone();
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
    let mut start_xy = None;
    let mut was_active = false;
    let mut odom = None;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(o) = g1_ros::dds::take_all(&odom_sub).0.pop() {
            odom = Some(o);
        }
        let s = sim_status.lock().unwrap().clone();
        let mode = bridge_status.lock().unwrap().mode;
        if mode == Some(Mode::Active) {
            was_active = true;
        }
        if s.time_s >= 5.0 && start_xy.is_none() {
            start_xy = Some([s.root_xyz[0], s.root_xyz[1]]);
        }
        if s.fell || s.time_s >= 25.0 || t0.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    runner.join().unwrap().unwrap();
    let s = sim_status.lock().unwrap().clone();
    let b = bridge_status.lock().unwrap().clone();
    eprintln!("bridge transitions: {:#?}", b.transitions);
    assert!(
        was_active,
        "the bridge never went active: {:#?}",
        b.transitions
    );
    assert!(
        s.time_s >= 25.0,
        "only {:.1} s simulated in 120 s",
        s.time_s
    );
    assert!(!s.fell, "the G1 fell at {:.1} s", s.time_s);
    assert_eq!(s.bad_crc, 0);
    assert_eq!(b.bad_crc, 0);
    let st = start_xy.unwrap();
    let d = ((s.root_xyz[0] - st[0]).powi(2) + (s.root_xyz[1] - st[1]).powi(2)).sqrt();
    assert!(d > 5.0, "walked only {d:.2} m in 20 s at 0.5 m/s");
    assert_eq!(b.mode, Some(Mode::Active), "{:#?}", b.transitions);
    // The estimator's odometry followed the walk: its displacement matches the truth's within
    // 10 % of the distance (odom starts under the robot; the truth starts at its spawn point).
    let o = odom.expect("no /odom received").pose.pose.position;
    let truth_disp = [s.root_xyz[0], s.root_xyz[1]];
    let err = ((o.x - truth_disp[0]).powi(2) + (o.y - truth_disp[1]).powi(2)).sqrt();
    assert!(
        err < 0.1 * d + 0.1,
        "odom ({:.2}, {:.2}) vs truth ({:.2}, {:.2})",
        o.x,
        o.y,
        truth_disp[0],
        truth_disp[1]
    );
}
