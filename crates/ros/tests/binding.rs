//! Interface binding, seen from a second machine: a network namespace joined to this one by a
//! veth pair plays another computer on the robot's network, and runs the independent Cyclone
//! DDS peer (scripts/dds_peer.py hg-echo: it answers every rt/lowstate with an rt/lowcmd).
//! Our participant publishes the robot's state on all interfaces (the peer answers), on the
//! chosen interface only (`G1_DDS_INTERFACES`, the G1's dedicated Ethernet: the peer still
//! answers), and on loopback only (`ROS_LOCALHOST_ONLY=1`: the peer hears nothing, while a
//! participant on this machine still does).
//!
//! Needs `ip netns` (CAP_NET_ADMIN); where the machine refuses it, the test says so and stops.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use g1_hg::sign_low_state;
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Dds, QosPreset, RosNode};
use g1_ros::{DdsEnv, DiscoveryRange, NodeContext};

struct Netns {
    name: String,
    host_if: String,
    host_addr: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

impl Netns {
    fn create() -> Result<Self, String> {
        let id = std::process::id() % 10_000;
        let (name, host_if, peer_if) = (
            format!("g1d-peer-{id}"),
            format!("g1h{id}"),
            format!("g1p{id}"),
        );
        let net = 10 + (id % 200);
        let host_addr = format!("10.213.{net}.1");
        let peer_addr = format!("10.213.{net}.2");
        ip(&["netns", "add", &name])?;
        let ns = Self {
            name: name.clone(),
            host_if: host_if.clone(),
            host_addr: host_addr.clone(),
        };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &peer_if,
        ])?;
        ip(&["link", "set", &peer_if, "netns", &name])?;
        ip(&["addr", "add", &format!("{host_addr}/24"), "dev", &host_if])?;
        ip(&["link", "set", &host_if, "up"])?;
        let inside = |a: &[&str]| {
            let mut v = vec!["netns", "exec", name.as_str(), "ip"];
            v.extend_from_slice(a);
            ip(&v)
        };
        inside(&["addr", "add", &format!("{peer_addr}/24"), "dev", &peer_if])?;
        inside(&["link", "set", &peer_if, "up"])?;
        inside(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_if]);
    }
}

/// Publishes LowStates from a participant with `env` for 6 s while the peer runs in the
/// namespace; returns (LowCmd answers we got, states the peer received, states a local
/// participant with the same `env` received).
fn probe(ns: &Netns, env: DdsEnv) -> (usize, u64, usize) {
    let (repo, py) = (g1_testkit::repo(), g1_testkit::python());
    let peer = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(&py)
        .arg(repo.join("scripts/dds_peer.py"))
        .args([
            "hg-echo",
            "--domain",
            &env.domain_id.to_string(),
            "--seconds",
            "8",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ctx = |n: &str| NodeContext::from_args_env(n, &["--ros-args".to_string()], &|_| None);
    let robot = Dds::open(&env, None).unwrap();
    let mut node = RosNode::new(&robot, ctx("robot").unwrap()).unwrap();
    let state_pub = node
        .publisher::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let cmd_sub = node
        .subscription::<LowCmd>("/lowcmd", QosPreset::Command)
        .unwrap();
    let local = Dds::open(&env, None).unwrap();
    let mut local_node = RosNode::new(&local, ctx("local").unwrap()).unwrap();
    let local_sub = local_node
        .subscription::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let (mut answers, mut local_got) = (0, 0);
    let t0 = Instant::now();
    let mut tick = 0;
    while t0.elapsed() < Duration::from_secs(7) {
        tick += 1;
        let mut s = LowState {
            tick,
            mode_machine: 3,
            ..Default::default()
        };
        s.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
        sign_low_state(&mut s);
        state_pub.publish(s).unwrap();
        answers += take_all(&cmd_sub).0.len();
        local_got += take_all(&local_sub).0.len();
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = peer.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "peer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    (answers, counts["received"].as_u64().unwrap(), local_got)
}

#[test]
fn loopback_only_is_invisible_to_another_machine_and_a_chosen_interface_is_not() {
    let ns = match Netns::create() {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("SKIPPED: this machine cannot create a network namespace ({e})");
            return;
        }
    };
    let domain = 20 + (std::process::id() % 20) as u16 * 3;
    let env = |d: u16, range: DiscoveryRange, interfaces: Vec<String>| DdsEnv {
        domain_id: d,
        range,
        interfaces,
        ..Default::default()
    };
    // All interfaces: the other machine reads the state and answers.
    let (answers, peer_got, local) = probe(&ns, env(domain, DiscoveryRange::Subnet, vec![]));
    assert!(
        answers > 50 && peer_got > 50 && local > 50,
        "all interfaces: {answers} answers, peer got {peer_got}, local {local}"
    );
    // Only the link to that machine (by interface name): still answered.
    let (answers, peer_got, local) = probe(
        &ns,
        env(domain + 1, DiscoveryRange::Subnet, vec![ns.host_if.clone()]),
    );
    assert!(
        answers > 50 && peer_got > 50 && local > 50,
        "G1_DDS_INTERFACES={}: {answers} answers, peer got {peer_got}, local {local}",
        ns.host_if
    );
    // Loopback only: the other machine hears nothing; this one does.
    let (answers, peer_got, local) = probe(&ns, env(domain + 2, DiscoveryRange::Localhost, vec![]));
    assert_eq!(
        (answers, peer_got),
        (0, 0),
        "ROS_LOCALHOST_ONLY=1 reached the other machine"
    );
    assert!(local > 50, "loopback-only: a local participant got {local}");
    // The chosen address is checked against the host's interfaces.
    let bad = env(domain, DiscoveryRange::Subnet, vec!["no-such-if0".into()]);
    let e = bad.restricted_to().unwrap_err();
    assert!(format!("{e}").contains("no interface `no-such-if0`"), "{e}");
    let addr = env(domain, DiscoveryRange::Subnet, vec![ns.host_addr.clone()]);
    assert_eq!(addr.restricted_to().unwrap().unwrap().len(), 1);
}
