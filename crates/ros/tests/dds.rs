//! DDS on the wire: two of our nodes in one process, and the independent Cyclone DDS peer
//! (scripts/dds_peer.py) speaking unitree_hg with its own CRC.

use std::process::Command;
use std::time::{Duration, Instant};

use g1_hg::{check_low_cmd, sign_low_state};
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, wait_for, Dds, QosPreset, RosNode};
use g1_ros::{DdsEnv, DiscoveryRange, NodeContext};

fn domain(offset: u16) -> u16 {
    // A domain of its own per test process, away from 0 (a robot may be on 0).
    g1_testkit::test_domain(100 + std::process::id() % 60 + offset as u32)
}

fn node(dds: &Dds, name: &str, args: &str) -> RosNode {
    let argv: Vec<String> = args.split_whitespace().map(String::from).collect();
    let ctx = NodeContext::from_args_env(name, &argv, &|_| None).unwrap();
    RosNode::new(dds, ctx).unwrap()
}

fn low_state(tick: u32) -> LowState {
    let mut s = LowState {
        tick,
        mode_machine: 3,
        ..Default::default()
    };
    s.motor_state[0].q = 0.01 * tick as f32;
    s.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    sign_low_state(&mut s);
    s
}

#[test]
fn two_nodes_in_one_process_with_namespace_and_remap() {
    let dds = Dds::new(DdsEnv {
        domain_id: domain(0),
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
        ..Default::default()
    })
    .unwrap();
    // The publisher lives in /g1 and publishes the relative name `lowstate`; the subscriber is
    // remapped onto it from its own `state_in`.
    let mut a = node(&dds, "sim", "--ros-args -r __ns:=/g1");
    let mut b = node(&dds, "bridge", "--ros-args -r state_in:=/g1/lowstate");
    let publisher = a
        .publisher::<LowState>("lowstate", QosPreset::Command)
        .unwrap();
    let sub = b
        .subscription::<LowState>("state_in", QosPreset::Command)
        .unwrap();
    // Discovery takes a moment; keep publishing until the first sample arrives.
    let t0 = Instant::now();
    let mut tick = 0;
    let first = loop {
        tick += 1;
        publisher.publish(low_state(tick)).unwrap();
        if let Ok(m) = wait_for(&sub, Duration::from_millis(50)) {
            break m;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no discovery in 20 s"
        );
    };
    assert!(first.tick >= 1 && first.tick <= tick);
    assert_eq!(first.motor_state[0].q, 0.01 * first.tick as f32);
    assert!(
        g1_hg::check_low_state(&first).is_ok(),
        "CRC intact over the wire"
    );
    for k in 0..20 {
        publisher.publish(low_state(1000 + k)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    let (got, errors) = take_all(&sub);
    assert_eq!(errors, 0);
    let ticks: Vec<u32> = got.iter().map(|m| m.tick).filter(|t| *t >= 1000).collect();
    assert_eq!(
        ticks,
        (1000..1020).collect::<Vec<_>>(),
        "reliable, in order"
    );
}

#[test]
fn unitree_hg_interop_with_cyclone_dds_peer() {
    let (repo, py) = (g1_testkit::repo(), g1_testkit::python());
    let d = domain(60);
    let dds = Dds::new(DdsEnv {
        domain_id: d,
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
        ..Default::default()
    })
    .unwrap();
    // The robot's topic names: ROS `/lowstate` is DDS `rt/lowstate`.
    let mut n = node(&dds, "fake_robot", "--ros-args");
    let state_pub = n
        .publisher::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let cmd_sub = n
        .subscription::<LowCmd>("/lowcmd", QosPreset::Command)
        .unwrap();
    let peer = Command::new(&py)
        .arg(repo.join("scripts/dds_peer.py"))
        .args(["hg-echo", "--domain", &d.to_string(), "--seconds", "8"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut answers = Vec::new();
    let t0 = Instant::now();
    let mut tick = 0u32;
    let mut corrupted = 0;
    while t0.elapsed() < Duration::from_secs(6) {
        tick += 1;
        let mut s = low_state(tick);
        if tick.is_multiple_of(10) {
            // Every tenth state carries a broken CRC: the peer must reject it.
            s.crc ^= 0x5A5A;
            corrupted += 1;
        }
        state_pub.publish(s).unwrap();
        let (cmds, errors) = take_all(&cmd_sub);
        assert_eq!(errors, 0);
        answers.extend(cmds);
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = peer.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let ok = counts["crc_ok"].as_u64().unwrap();
    let bad = counts["crc_bad"].as_u64().unwrap();
    assert!(ok > 50, "peer accepted only {ok} LowStates: {counts}");
    assert!(
        bad > 0,
        "peer saw none of the {corrupted} corrupted LowStates: {counts}"
    );
    // Best effort may drop some, but every corrupted state it got was rejected and no valid
    // one: received = ok + bad, and bad ≤ corrupted sent.
    assert_eq!(counts["received"].as_u64().unwrap(), ok + bad);
    assert!(bad <= corrupted);
    assert!(answers.len() > 50, "{} LowCmds back", answers.len());
    for c in &answers {
        check_low_cmd(c).expect("the peer's CRC matches ours");
        assert_eq!(c.mode_machine, 3, "mode_machine echoed");
        let t = c.motor_cmd[0].q - 0.5;
        let k = (t / 0.01).round();
        assert!(
            (t - 0.01 * k).abs() < 1e-4,
            "answer to a real state: q0 = {t}"
        );
    }
}
