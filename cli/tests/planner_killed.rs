//! The planner killed mid-walk over DDS: the simulated chain (`sim_diffusion.launch.xml
//! planner:=false`: simulator, bridge, estimator) in one process, the planner
//! (`planner.launch.xml`) in another, in real time. Once the G1 walks, the planner's process is
//! killed (SIGKILL): the bridge holds the last targets after `hold_after_s` (0.2 s) and damps
//! after `damping_after_s` (1 s), as documented — or earlier if the G1, held in mid-stride, tips
//! past `fall_tilt_rad` — and every node of the chain keeps running.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use g1_ros::dds::take_all;

mod common;

#[test]
fn a_killed_planner_makes_the_bridge_hold_then_damp() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("g1d_killed_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("s.json");
    let domain = g1_testkit::test_domain(200 + std::process::id() % 20);
    let g1d = env!("CARGO_BIN_EXE_g1d");
    let launch = |f: &str| root.join("launch").join(f).display().to_string();
    let mut chain = Command::new(g1d)
        .args(["up", &launch("sim_diffusion.launch.xml"), "planner:=false"])
        .args(["--seconds", "14", "--summary", summary.to_str().unwrap()])
        .env("ROS_DOMAIN_ID", domain.to_string())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut planner = Command::new(g1d)
        .args([
            "up",
            &launch("planner.launch.xml"),
            "goal:=4,0",
            "use_sim_time:=true",
        ])
        .env("ROS_DOMAIN_ID", domain.to_string())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut obs = common::peer(domain, "observer");
    let mode = common::bridge_mode(&mut obs);
    common::wait_active(&mode, Duration::from_secs(20), &mut chain);
    // Two seconds of walking, then the planner's process dies.
    std::thread::sleep(Duration::from_secs(2));
    planner.kill().unwrap();
    planner.wait().unwrap();
    let killed = Instant::now();
    let mut seen: Vec<(String, f64)> = vec![];
    while killed.elapsed() < Duration::from_secs(3) {
        for m in take_all(&mode).0 {
            seen.push((m.data, killed.elapsed().as_secs_f64()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = chain.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut chain.stderr.take().unwrap(), &mut log).unwrap();
    assert!(status.success(), "{log}");
    eprintln!("bridge modes after the kill (s): {seen:?}");
    let names: Vec<&str> = seen.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names, ["hold", "damping"], "{seen:?}\n{log}");
    // Within the deadlines (in the simulator's time; DDS and the kill add a little wall time).
    let (hold, damp) = (seen[0].1, seen[1].1);
    assert!(hold <= 0.2 + 0.25, "hold {hold:.3} s after the kill");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    for (name, r) in s["nodes"].as_object().unwrap() {
        assert!(r.get("failed").is_none(), "{name} failed: {r}");
    }
    let transitions = s["nodes"]["/g1_bridge"]["transitions"].to_string();
    assert!(transitions.contains("ms old"), "{transitions}");
    // Damped by the watchdog at its deadline — or earlier, when the G1 held in mid-stride tips
    // past fall_tilt_rad first.
    if transitions.contains("→ damping (fall") || transitions.contains("→ damping: fall") {
        assert!(
            damp > hold && damp <= 1.0 + 0.3,
            "damping for a fall {damp:.3} s, hold {hold:.3} s"
        );
    } else {
        assert!(transitions.contains("watchdog"), "{transitions}");
        assert!(
            damp <= 1.0 + 0.3 && damp - hold >= 0.6,
            "damping {damp:.3} s, hold {hold:.3} s"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
