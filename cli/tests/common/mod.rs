//! Helpers shared by the `g1d` command-line tests (the rest is in `g1-testkit`).
#![allow(dead_code, unused_imports)]

use std::process::Child;
use std::time::{Duration, Instant};

use g1_msgs::std_msgs::StringMsg;
use g1_ros::dds::{take_all, Dds, QosPreset, RosNode, Subscription};
use g1_ros::{DdsEnv, DiscoveryRange, NodeContext};

pub use g1_testkit::{python_bag_report, repo};

/// A DDS participant of the test's own on `domain`, as a node named `name` (a peer of the
/// chain the test started with `g1d up`).
pub fn peer(domain: u16, name: &str) -> RosNode {
    let dds = Dds::new(DdsEnv {
        domain_id: domain,
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
        ..Default::default()
    })
    .unwrap();
    let ctx = NodeContext::from_args_env(name, &["--ros-args".to_string()], &|_| None).unwrap();
    RosNode::new(&dds, ctx).unwrap()
}

/// As [`peer`], secured with the enclave `enclave` of `keystore` (DDS Security, Enforce).
pub fn secured_peer(domain: u16, name: &str, keystore: &std::path::Path, enclave: &str) -> RosNode {
    let security = g1_ros::SecurityEnv::enforce(keystore, enclave).unwrap();
    let dds = Dds::open(
        &DdsEnv {
            domain_id: domain,
            range: DiscoveryRange::Subnet,
            interfaces: Vec::new(),
            ..Default::default()
        },
        Some(&security),
    )
    .unwrap();
    let ctx = NodeContext::from_args_env(name, &["--ros-args".to_string()], &|_| None).unwrap();
    RosNode::new(&dds, ctx).unwrap()
}

/// The bridge's published mode (`/g1d/bridge/mode`, latched).
pub fn bridge_mode(node: &mut RosNode) -> Subscription<StringMsg> {
    node.subscription::<StringMsg>("/g1d/bridge/mode", QosPreset::Latched)
        .unwrap()
}

/// Waits until the bridge reports `active`; false after `timeout`.
pub fn try_wait_active(mode: &Subscription<StringMsg>, timeout: Duration) -> bool {
    let t0 = Instant::now();
    loop {
        if take_all(mode).0.iter().any(|m| m.data == "active") {
            eprintln!("bridge active after {:.1} s", t0.elapsed().as_secs_f64());
            return true;
        }
        if t0.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the bridge reports `active`; after `timeout`, stops `chain` and panics with
/// what it printed (when its stderr is still piped to the test).
pub fn wait_active(mode: &Subscription<StringMsg>, timeout: Duration, chain: &mut Child) {
    if try_wait_active(mode, timeout) {
        return;
    }
    chain.kill().ok();
    chain.wait().ok();
    let mut log = String::new();
    if let Some(mut err) = chain.stderr.take() {
        std::io::Read::read_to_string(&mut err, &mut log).ok();
    }
    panic!("the bridge never turned active\n{log}");
}

/// `g1d up <launch> <args> --seconds <seconds>` on `domain` (the repository's launch file;
/// stdout dropped, stderr piped for the log).
pub fn up(launch: &str, args: &[&str], domain: u16, seconds: u32) -> Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_g1d"))
        .arg("up")
        .arg(repo().join(launch))
        .args(args)
        .args(["--seconds", &seconds.to_string()])
        .env("ROS_DOMAIN_ID", domain.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}
