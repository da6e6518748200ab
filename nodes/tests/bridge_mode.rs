//! The bridge's mode over DDS: requests on `/g1d/bridge/mode_request` (`std_msgs/String`) move
//! it as the remote's chords do, a request naming no mode is ignored, and every mode is
//! published (latched) on `/g1d/bridge/mode` — a late subscriber gets the current one.

mod common;

use std::time::{Duration, Instant};

use g1_hg::sign_low_state;
use g1_msgs::std_msgs::StringMsg;
use g1_msgs::unitree::LowState;
use g1_nodes::bridge_node::{BridgeNode, MODE_REQUEST_TOPIC, MODE_TOPIC};
use g1_nodes::runtime::Node;
use g1_ros::dds::{take_all, wait_for, QosPreset};

/// The robot's state with its tick (the bridge follows one stream of forward ticks).
fn state(tick: u32) -> LowState {
    let mut s = LowState {
        tick,
        ..Default::default()
    };
    s.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    for (j, m) in s.motor_state.iter_mut().enumerate().take(g1::NUM_JOINTS) {
        m.q = g1::default_pose()[j] as f32;
    }
    sign_low_state(&mut s);
    s
}

#[test]
fn mode_requests_and_the_published_mode() {
    let dds = common::dds(140, 9);
    let mut bridge = BridgeNode::new(common::ros(
        &dds,
        "g1_bridge",
        "--ros-args -p standby_ramp_s:=0.2",
    ))
    .unwrap();
    let mut robot = common::ros(&dds, "robot", "--ros-args");
    let lowstate = robot
        .publisher::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let requests = robot
        .publisher::<StringMsg>(MODE_REQUEST_TOPIC, QosPreset::Command)
        .unwrap();
    let modes = robot
        .subscription::<StringMsg>(MODE_TOPIC, QosPreset::Latched)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let mut seen: Vec<String> = Vec::new();
    let run = |bridge: &mut BridgeNode, t0: &mut f64, secs: f64, seen: &mut Vec<String>| {
        let end = *t0 + secs;
        while *t0 < end {
            lowstate
                .publish(state((*t0 * 500.0).round() as u32 + 1))
                .unwrap();
            std::thread::sleep(Duration::from_millis(4));
            bridge.step(*t0).unwrap();
            *t0 += 0.004;
            for m in take_all(&modes).0 {
                if seen.last() != Some(&m.data) {
                    seen.push(m.data);
                }
            }
        }
    };
    let mut t = 0.0;
    run(&mut bridge, &mut t, 0.4, &mut seen);
    requests
        .publish(StringMsg {
            data: "hover".into(),
        })
        .unwrap();
    run(&mut bridge, &mut t, 0.4, &mut seen);
    assert_eq!(
        bridge.status.lock().unwrap().mode.unwrap().name(),
        "damping"
    );
    requests
        .publish(StringMsg {
            data: "standby".into(),
        })
        .unwrap();
    run(&mut bridge, &mut t, 0.6, &mut seen);
    assert_eq!(
        bridge.status.lock().unwrap().mode.unwrap().name(),
        "standby"
    );
    requests
        .publish(StringMsg {
            data: "damping".into(),
        })
        .unwrap();
    run(&mut bridge, &mut t, 0.4, &mut seen);
    let t_wait = Instant::now();
    while seen.last().map(String::as_str) != Some("damping")
        && t_wait.elapsed() < Duration::from_secs(5)
    {
        run(&mut bridge, &mut t, 0.05, &mut seen);
    }
    assert_eq!(seen, ["damping", "standby", "damping"]);
    let st = bridge.status.lock().unwrap();
    assert!(
        st.transitions
            .iter()
            .any(|l| l.contains("request `standby`")),
        "{:?}",
        st.transitions
    );
    drop(st);
    // A late subscriber gets the current mode (transient-local).
    let mut late = common::ros(&dds, "late", "--ros-args");
    let sub = late
        .subscription::<StringMsg>(MODE_TOPIC, QosPreset::Latched)
        .unwrap();
    let m = wait_for(&sub, Duration::from_secs(20)).unwrap();
    assert_eq!(m.data, "damping");
}
