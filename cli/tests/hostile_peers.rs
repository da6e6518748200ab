//! A hostile or faulty peer on the robot's DDS domain, against the real-time diffusion chain
//! (`g1d up launch/sim_diffusion.launch.xml goal:=1.5,0`): once the bridge is active, another
//! participant sends non-finite velocity commands, a goal 2 km away, an `active` mode request,
//! joint targets with absurd gains and a forged rt/lowstate carrying the remote's damping chord
//! (with a valid CRC). Every node keeps running, the G1 stays up and still reaches its goal,
//! and each probe is counted: in the run's summary and on `/diagnostics`. A run that falls is
//! repeated once (and says so): real time on a shared 2-core machine.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use g1_msgs::diagnostic_msgs::DiagnosticArray;
use g1_msgs::g1d::JointTargets;
use g1_msgs::geometry_msgs::{PoseStamped, Twist};
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::StringMsg;
use g1_msgs::unitree::LowState;
use g1_ros::dds::{take_all, QosPreset};

mod common;

/// One run of the chain under the probes: its summary, its log and the `/diagnostics` seen.
fn run_chain(attempt: u32) -> (serde_json::Value, String, Vec<DiagnosticArray>) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("g1d_hostile_{}_{attempt}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("s.json");
    let domain = g1_testkit::test_domain(160 + (std::process::id() + 7 * attempt) % 20);
    let mut child = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args([
            "up",
            root.join("launch/sim_diffusion.launch.xml")
                .to_str()
                .unwrap(),
            "goal:=1.5,0",
            "seed:=1",
            "--seconds",
            "18",
            "--summary",
            summary.to_str().unwrap(),
        ])
        .env("ROS_DOMAIN_ID", domain.to_string())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peer = common::peer(domain, "peer");
    let cmd_vel = peer
        .publisher::<Twist>("/cmd_vel", QosPreset::Command)
        .unwrap();
    let goal = peer
        .publisher::<PoseStamped>("/goal_pose", QosPreset::Command)
        .unwrap();
    let mode_req = peer
        .publisher::<StringMsg>("/g1d/bridge/mode_request", QosPreset::Command)
        .unwrap();
    let targets = peer
        .publisher::<JointTargets>("/joint_targets", QosPreset::Command)
        .unwrap();
    let lowstate = peer
        .publisher::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let mode = common::bridge_mode(&mut peer);
    let joints = peer
        .subscription::<JointState>("/joint_states", QosPreset::Sensor)
        .unwrap();
    let diag = peer
        .subscription::<DiagnosticArray>("/diagnostics", QosPreset::Command)
        .unwrap();
    // Wait for the bridge to hand over to the planner.
    let t0 = Instant::now();
    common::wait_active(&mode, Duration::from_secs(15), &mut child);
    std::thread::sleep(Duration::from_secs(1));
    let pause = || std::thread::sleep(Duration::from_millis(200));
    // 1. Non-finite velocity commands.
    for _ in 0..3 {
        let mut t = Twist::default();
        t.linear.x = f64::NAN;
        cmd_vel.publish(t).unwrap();
        pause();
    }
    // 2. A goal 2 km away.
    let mut g = PoseStamped::default();
    g.pose.position.x = 2000.0;
    goal.publish(g).unwrap();
    pause();
    // 3. `active` from the network.
    mode_req
        .publish(StringMsg {
            data: "active".into(),
        })
        .unwrap();
    pause();
    // 4. Joint targets with absurd gains, at the measured pose.
    let q = take_all(&joints)
        .0
        .pop()
        .expect("no /joint_states")
        .position;
    targets
        .publish(JointTargets {
            policy_id: "peer".into(),
            q_target: q.clone(),
            kp: vec![1e6; q.len()],
            kd: vec![1e3; q.len()],
            ..Default::default()
        })
        .unwrap();
    pause();
    // 5. A forged LowState with the damping chord and a valid CRC.
    let mut forged = LowState {
        tick: 7,
        ..Default::default()
    };
    forged.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
    forged.wireless_remote = g1_hg::Remote {
        buttons: g1_hg::Buttons(g1_hg::Buttons::B),
        ..Default::default()
    }
    .encode();
    g1_hg::sign_low_state(&mut forged);
    lowstate.publish(forged).unwrap();
    // Collect /diagnostics to the end of the run.
    let mut diagnostics = vec![];
    let status = loop {
        diagnostics.extend(take_all(&diag).0);
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "g1d up did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(status.success(), "{log}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    (s, log, diagnostics)
}

#[test]
fn the_chain_survives_a_hostile_peer_and_counts_every_probe() {
    let (mut s, mut log, mut diagnostics) = run_chain(0);
    if s["fell"] == true {
        // Real time over DDS on a shared 2-core machine: a scheduling stall can tip the G1
        // (issue 18 tracks the chain's robustness to it). Once more, said in the log.
        eprintln!("the chain fell on the first run; running it once more: {s}");
        (s, log, diagnostics) = run_chain(1);
    }
    // Every node ran to the end; the G1 stayed up and reached its goal.
    for (name, r) in s["nodes"].as_object().unwrap() {
        assert!(r.get("failed").is_none(), "{name} failed: {r}\n{log}");
    }
    assert_eq!(s["fell"], false, "{s}\n{log}");
    let e = s["goal_error_m"].as_f64().unwrap();
    assert!(e <= 0.3, "ended {e:.2} m from the goal: {s}\n{log}");
    // The bridge never left active before it stopped.
    let bridge = &s["nodes"]["/g1_bridge"];
    let transitions: Vec<&str> = bridge["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let left_active = transitions
        .iter()
        .filter(|t| t.contains("active →"))
        .collect::<Vec<_>>();
    assert!(
        left_active.iter().all(|t| t.contains("stopping")),
        "{transitions:?}"
    );
    // Counted.
    let c = &bridge["counters"];
    assert!(c["gain_clamps"].as_u64().unwrap() >= 1, "{c}");
    assert!(c["refused_requests"].as_u64().unwrap() >= 1, "{c}");
    assert!(c["foreign_states"].as_u64().unwrap() >= 1, "{c}");
    assert_eq!(c["bad_crc"], 0, "{c}");
    let planner = &s["nodes"]["/g1_planner"];
    assert!(
        planner["rejected_inputs"].as_u64().unwrap() >= 4,
        "{planner}"
    );
    // … and on /diagnostics, where an operator sees them.
    let value = |name: &str, key: &str| -> Option<u64> {
        diagnostics
            .iter()
            .flat_map(|d| &d.status)
            .filter(|st| st.name == name)
            .filter_map(|st| st.values.iter().find(|kv| kv.key == key))
            .filter_map(|kv| kv.value.parse().ok())
            .max()
    };
    assert!(value("g1_bridge: safety", "foreign_states") >= Some(1));
    assert!(value("g1_bridge: safety", "refused_requests") >= Some(1));
    assert!(value("g1_planner: planning", "rejected_inputs") >= Some(4));
}
