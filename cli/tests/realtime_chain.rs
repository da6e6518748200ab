//! The simulated G1 under the diffusion controller in real time over DDS, driven by a goal:
//! `g1d up launch/sim_diffusion.launch.xml goal:=X,Y --summary` — simulator (500 Hz
//! rt/lowstate), bridge, Kalman estimator and planner node on the launch files' parameters, no
//! lockstep. The G1 hangs from the gantry for 5 s while the bridge starts, then walks to a goal
//! 1.5 m ahead; the summary must report no fall, the goal reached within the eval's 0.3 m, the
//! planner keeping up (a plan per 20 ms of the walk), and the state-to-command latency. A run
//! that falls is repeated once (and says so): real time on a shared 2-core machine.

use std::process::Command;

/// One run of the chain: its summary, its log and its scratch directory.
fn run_chain(attempt: u32) -> (serde_json::Value, String, std::path::PathBuf) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("g1d_rt_{}_{attempt}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("s.json");
    let out = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args([
            "up",
            root.join("launch/sim_diffusion.launch.xml")
                .to_str()
                .unwrap(),
            "goal:=1.5,0",
            "seed:=1",
            "--seconds",
            "16",
            "--summary",
            summary.to_str().unwrap(),
        ])
        .env(
            "ROS_DOMAIN_ID",
            g1_testkit::test_domain(120 + (std::process::id() + 7 * attempt) % 20).to_string(),
        )
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (s, log.into_owned(), dir)
}

#[test]
fn the_real_time_chain_walks_to_a_goal_over_dds() {
    let (mut s, mut log, mut dir) = run_chain(0);
    if s["fell"] == true {
        // Real time over DDS on a shared 2-core machine: a scheduling stall can tip the G1
        // (issue 18 tracks the chain's robustness to it). Once more, said in the log.
        eprintln!("the chain fell on the first run; running it once more: {s}");
        std::fs::remove_dir_all(&dir).ok();
        (s, log, dir) = run_chain(1);
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
    std::fs::remove_dir_all(&dir).ok();
}
