//! The simulated G1 under the diffusion controller in real time over DDS, driven by a goal:
//! `g1d up launch/sim_diffusion.launch.xml goal:=X,Y --summary` — simulator (500 Hz
//! rt/lowstate), bridge, Kalman estimator and planner node on the launch files' parameters, no
//! lockstep. The G1 hangs from the gantry for 5 s while the bridge starts, then walks to a goal
//! 1.5 m ahead; the summary must report no fall, the goal reached within the eval's 0.3 m, the
//! planner keeping up (a plan per 20 ms of the walk), and the state-to-command latency. A run
//! that falls is repeated once (and says so): real time on a shared 2-core machine. And driven
//! by `/cmd_vel` from an independent peer (Cyclone DDS from PyPI, scripts/dds_peer.py).

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use g1_testkit::Scratch;

/// The real-time runs one at a time: two chains at once on two cores would stall each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `g1d up launch/sim_diffusion.launch.xml ARGS --seconds 16 --summary DIR/s.json` on DDS
/// domain `domain`, started; [`finish`] waits for it.
fn spawn_chain(args: &[&str], domain: u16, dir: &Scratch) -> Child {
    let root = g1_testkit::repo();
    Command::new(env!("CARGO_BIN_EXE_g1d"))
        .arg("up")
        .arg(root.join("launch/sim_diffusion.launch.xml"))
        .args(args)
        .args(["--seconds", "16", "--summary"])
        .arg(dir.join("s.json"))
        .env("ROS_DOMAIN_ID", domain.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The chain's end: it must exit cleanly; its summary and its log.
fn finish(chain: Child, dir: &Scratch) -> (serde_json::Value, String) {
    let out = chain.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let s = std::fs::read_to_string(dir.join("s.json")).unwrap();
    (serde_json::from_str(&s).unwrap(), log)
}

/// One run of the chain walking to a goal 1.5 m ahead: its summary and its log.
fn run_chain(attempt: u32) -> (serde_json::Value, String) {
    let dir = Scratch::new(&format!("rt-goal-{attempt}"));
    let domain = g1_testkit::test_domain(120 + (std::process::id() + 7 * attempt) % 20);
    finish(spawn_chain(&["goal:=1.5,0", "seed:=1"], domain, &dir), &dir)
}

#[test]
fn the_real_time_chain_walks_to_a_goal_over_dds() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mut s, mut log) = run_chain(0);
    if s["fell"] == true {
        // Real time over DDS on a shared 2-core machine: a scheduling stall can tip the G1
        // (issue 18 tracks the chain's robustness to it). Once more, said in the log.
        eprintln!("the chain fell on the first run; running it once more: {s}");
        (s, log) = run_chain(1);
    }
    eprintln!("{}", serde_json::to_string_pretty(&s).unwrap());
    assert_eq!(s["fell"], false, "{s}\n{log}");
    let e = s["goal_error_m"].as_f64().unwrap();
    assert!(e <= 0.3, "ended {e:.2} m from the goal: {s}");
    assert_eq!(s["contacts"], 0);
    assert_eq!(s["bad_crc"], 0);
    // About one plan per 20 ms state for the 16 s (the planner plans from the first state on).
    let plans = s["plans"].as_u64().unwrap();
    assert!(plans > 500, "{plans} plans in 16 s");
    let p99 = s["state_to_command_ms_p99"].as_f64().unwrap();
    let p50 = s["state_to_command_ms_p50"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99, "{s}");
    // The latency breakdown is cumulative along the chain: estimator, planner, bridge.
    let l = &s["latency_ms"];
    let f = |k: &str| l[k].as_f64().unwrap_or_else(|| panic!("{k}: {l}"));
    assert!(
        f("sample_to_state_p50") <= f("sample_to_planner_p50"),
        "{l}"
    );
    assert!(
        f("sample_to_planner_p50") <= f("sample_to_command_p50"),
        "{l}"
    );
    // Every node and the process report a CPU share (of one core) within the machine's.
    let cpu = s["cpu_share"].as_object().unwrap();
    assert!(cpu.len() >= 5, "{cpu:?}");
    for (n, v) in cpu {
        let v = v.as_f64().unwrap_or_else(|| panic!("{n}: {v}"));
        assert!((0.0..2.5).contains(&v), "{n}: {v}");
    }
    for n in ["/g1_sim", "/g1_bridge", "/g1_planner", "process"] {
        assert!(cpu[n].as_f64().unwrap() > 0.0, "{n}: {cpu:?}");
    }
}

/// A forward `cmd_vel` (0.4 m/s) from a Cyclone DDS peer, arriving 1.5 s after the gantry let
/// the G1 go, no command before it: it walks forward, along the heading it started with. While
/// the planner stood on the model's unguided plans until a first command, half such starts
/// walked off 54–66° to the right; standing as on a zero command (`planner_node::STAND`), 6 of 6
/// ended 3.1–3.6 m out within 8° (docs/EXPERIMENTS.md).
#[test]
fn the_real_time_chain_follows_cmd_vel_from_a_cyclone_peer() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (root, py) = (g1_testkit::repo(), g1_testkit::python());
    let dir = Scratch::new("rt-cmd-vel");
    let domain = g1_testkit::test_domain(140 + std::process::id() % 20);
    let chain = spawn_chain(&["seed:=1"], domain, &dir);
    let peer = Command::new(&py)
        .arg(root.join("scripts/dds_peer.py"))
        .args(["cmd-vel", "--domain", &domain.to_string()])
        .args([
            "--seconds",
            "15.5",
            "--after",
            "7",
            "--twist",
            "[0.4, 0, 0]",
        ])
        .output()
        .unwrap();
    let (s, log) = finish(chain, &dir);
    let said = String::from_utf8_lossy(&peer.stdout);
    assert!(
        peer.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&peer.stderr)
    );
    let sent: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    assert!(sent["sent"].as_u64().unwrap() > 100, "{said}");
    eprintln!("{}", serde_json::to_string_pretty(&s).unwrap());
    assert_eq!(s["fell"], false, "{s}\n{log}");
    let (x, y) = (
        s["final_xy"][0].as_f64().unwrap(),
        s["final_xy"][1].as_f64().unwrap(),
    );
    // 8.5 s of the command less the ramp and the start: 3.4 m measured; at least 2.5.
    assert!(x.hypot(y) >= 2.5, "walked {:.2} m: {s}", x.hypot(y));
    let bearing = y.atan2(x).to_degrees();
    assert!(bearing.abs() <= 25.0, "walked off at {bearing:.0}°: {s}");
}
