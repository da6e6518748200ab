//! The real-time diffusion chain under DDS Security (`g1d up launch/sim_diffusion.launch.xml`
//! with `ROS_SECURITY_ENABLE=true`, `ROS_SECURITY_STRATEGY=Enforce` and a keystore made by
//! `g1d security`): a credentialed monitor reads the robot's state; a participant without
//! credentials reads nothing of it, and its commands — a NaN velocity, a goal 2 km away, an
//! `active` mode request, joint targets with absurd gains, LowCmds to the simulated robot with a
//! broken CRC — never reach the nodes (nothing is even counted as rejected or as a bad CRC). The
//! secured suite still walks to its goal (a run that falls is repeated once and says so, as in
//! `realtime_chain.rs`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use g1_msgs::g1d::JointTargets;
use g1_msgs::geometry_msgs::{PoseStamped, Twist};
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::StringMsg;
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, QosPreset};

mod common;

fn g1d(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "g1d {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn secured_chain_walks_and_shuts_out_a_peer_without_credentials() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("g1d_secured_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ks = dir.join("keystore");
    let ks_s = ks.to_str().unwrap();
    g1d(&["security", "create-keystore", ks_s]);
    g1d(&["security", "create-enclave", ks_s, "/g1_diffusion"]);
    // A monitor that may read everything and publish nothing of its own.
    g1d(&[
        "security",
        "create-enclave",
        ks_s,
        "/monitor",
        "--publish",
        "",
    ]);
    let mut run = run_chain(&root, &ks, &dir, 0);
    if run.summary["fell"] == true {
        // Real time over DDS on a shared 2-core machine, with the handshakes' and encryption's
        // load beside it: a scheduling stall can tip the G1 (issue 18 tracks the chain's
        // robustness to it). Once more, said in the log.
        eprintln!(
            "the secured chain fell on the first run; running it once more: {}",
            run.summary
        );
        run = run_chain(&root, &ks, &dir, 1);
    }
    let Run {
        summary: s,
        log,
        read_by_monitor,
        read_by_peer,
        status,
    } = run;
    assert!(status.success(), "{log}");
    assert!(
        log.contains("DDS Security on: enclave /g1_diffusion"),
        "{log}"
    );
    assert!(
        read_by_monitor > 200,
        "the credentialed monitor read {read_by_monitor} states\n{log}"
    );
    assert_eq!(read_by_peer, 0, "a peer without credentials read the robot");
    for (name, r) in s["nodes"].as_object().unwrap() {
        assert!(r.get("failed").is_none(), "{name} failed: {r}\n{log}");
    }
    assert_eq!(s["fell"], false, "{s}\n{log}");
    let e = s["goal_error_m"].as_f64().unwrap();
    assert!(e <= 0.3, "ended {e:.2} m from the goal: {s}\n{log}");
    // Nothing of the peer's arrived, so nothing was even rejected.
    let c = &s["nodes"]["/g1_bridge"]["counters"];
    for k in ["gain_clamps", "refused_requests", "rejected_targets"] {
        assert_eq!(c[k].as_u64().unwrap_or(0), 0, "{k}: {c}");
    }
    let planner = &s["nodes"]["/g1_planner"];
    assert_eq!(planner["rejected_inputs"], 0, "{planner}");
    assert_eq!(
        s["bad_crc"], 0,
        "a LowCmd of the peer reached the simulator: {s}"
    );
    // Every write of the secured chain went out.
    assert_eq!(c["publish_failures"], 0, "{c}");
    assert_eq!(planner["publish_failures"], 0, "{planner}");
    std::fs::remove_dir_all(&dir).ok();
}

/// What one run of the secured chain left: its summary, its log, how many states the
/// credentialed monitor and the uncredentialed peer read, and how `g1d up` exited.
struct Run {
    summary: serde_json::Value,
    log: String,
    read_by_monitor: usize,
    read_by_peer: usize,
    status: std::process::ExitStatus,
}

/// One run of the secured chain (keystore `ks`, scratch `dir`) to a goal 1.5 m ahead while a
/// participant without credentials tries everything, repeatedly.
fn run_chain(
    root: &std::path::Path,
    ks: &std::path::Path,
    dir: &std::path::Path,
    attempt: u32,
) -> Run {
    let summary = dir.join(format!("s{attempt}.json"));
    // The launch's parameter file with a second standby chord (3.5 s) and a later active chord
    // (7.0 s) and gantry (7.4 s): with security on, the first seconds of handshakes among the
    // chain's participants (and a flood of the uncredentialed peer's unprotected discovery)
    // can hold rt/lowstate back past `state_timeout_s`, and the bridge then damps, as it
    // should; the operator presses standby again.
    let params = dir.join("params.yaml");
    let file = std::fs::read_to_string(root.join("config/g1.params.yaml")).unwrap();
    let timed = file.replace("gantry_s: 5.0", "gantry_s: 7.4").replace(
        r#"remote_script: ["0.5:L1+A", "4.6:R1+A"]"#,
        r#"remote_script: ["0.5:L1+A", "3.5:L1+A", "7.0:R1+A"]"#,
    );
    assert_ne!(
        timed, file,
        "the parameter file's gantry and remote script changed"
    );
    std::fs::write(&params, timed).unwrap();
    let params_arg = format!("params:={}", params.display());
    let domain = g1_testkit::test_domain(140 + (std::process::id() + 7 * attempt) % 20);
    let mut child = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args([
            "up",
            root.join("launch/sim_diffusion.launch.xml")
                .to_str()
                .unwrap(),
            "goal:=1.5,0",
            "seed:=1",
            params_arg.as_str(),
            "--seconds",
            "20",
            "--summary",
            summary.to_str().unwrap(),
        ])
        .env("ROS_DOMAIN_ID", domain.to_string())
        .env("ROS_SECURITY_ENABLE", "true")
        .env("ROS_SECURITY_STRATEGY", "Enforce")
        .env("ROS_SECURITY_KEYSTORE", ks)
        // DDS Security's handshake and key-exchange failures are logged only by RustDDS.
        .env("G1D_DDS_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained as it comes (the DDS log can exceed what a pipe holds).
    let mut chain_err = child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut chain_err, &mut log).ok();
        log
    });
    let mut monitor = common::secured_peer(domain, "monitor", ks, "/monitor");
    let monitor_state = monitor
        .subscription::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let mode = common::bridge_mode(&mut monitor);
    let mut peer = common::peer(domain, "peer");
    let peer_state = peer
        .subscription::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let peer_joints = peer
        .subscription::<JointState>("/joint_states", QosPreset::Sensor)
        .unwrap();
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
    let lowcmd = peer
        .publisher::<LowCmd>("/lowcmd", QosPreset::Command)
        .unwrap();
    let t0 = Instant::now();
    if !common::try_wait_active(&mode, Duration::from_secs(25)) {
        child.kill().ok();
        child.wait().ok();
        panic!(
            "the bridge never turned active\n{}",
            log_reader.join().unwrap()
        );
    }
    // The peer tries everything, repeatedly, while the robot walks.
    let (mut read_by_monitor, mut read_by_peer) = (0usize, 0usize);
    let status = loop {
        let mut t = Twist::default();
        t.linear.x = f64::NAN;
        let _ = cmd_vel.publish(t);
        let mut g = PoseStamped::default();
        g.pose.position.x = 2000.0;
        let _ = goal.publish(g);
        let _ = mode_req.publish(StringMsg {
            data: "active".into(),
        });
        let _ = targets.publish(JointTargets {
            policy_id: "peer".into(),
            q_target: vec![0.0; 29],
            kp: vec![1e6; 29],
            kd: vec![1e3; 29],
            ..Default::default()
        });
        // A bad CRC: were it delivered, the simulator would count it (and the robot drop it).
        let _ = lowcmd.publish(LowCmd {
            crc: 1,
            ..Default::default()
        });
        read_by_monitor += take_all(&monitor_state).0.len();
        read_by_peer += take_all(&peer_state).0.len() + take_all(&peer_joints).0.len();
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(70),
            "g1d up did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = log_reader.join().unwrap();
    let summary = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    Run {
        summary,
        log,
        read_by_monitor,
        read_by_peer,
        status,
    }
}
