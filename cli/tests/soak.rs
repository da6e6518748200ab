//! Soak and faults, in real time over DDS: the simulated chain (`sim_diffusion.launch.xml
//! planner:=false estimator:=false`), the estimator (`estimator.launch.xml`), the planner
//! (`planner.launch.xml`) and the recorder (`record.launch.xml`), each in a process of its own.
//! While the G1 walks, bursts of garbage arrive every 5 s (non-finite velocity commands,
//! unreadable mode requests, joint targets of the wrong length) and the CPU is loaded for 5 s of
//! every 15; then the estimator stalls (SIGSTOP: alive, holding its sockets, silent) and comes
//! back (SIGCONT), and the planner is killed (SIGKILL) and started again. Asserted: the G1 stays
//! up until the stall; the bridge holds and damps within its deadlines after it, and stays damped
//! when the estimator resumes and when the planner restarts (damping is latched until the remote
//! asks); no node of the chain or the recorder fails; the chain's and the recorder's memory stay
//! flat; the bag is closed cleanly and holds the joint states up to the end. (The bridge's
//! answer to a killed planner alone is `cli/tests/planner_killed.rs`.)
//! `G1D_SOAK_S` sets the length (CI: 24 s; the documented soak: 1800).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use g1_msgs::g1d::JointTargets;
use g1_msgs::geometry_msgs::Twist;
use g1_msgs::std_msgs::StringMsg;
use g1_ros::dds::{take_all, QosPreset};

mod common;

fn rss_kb(p: &Child) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/status", p.id())).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_chain_survives_garbage_load_a_stalled_estimator_and_a_killed_planner() {
    let total_s: f64 = std::env::var("G1D_SOAK_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24.0);
    assert!(total_s >= 20.0, "G1D_SOAK_S must be at least 20");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("g1d_soak_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (summary, bag) = (dir.join("s.json"), dir.join("bag"));
    let domain = g1_testkit::test_domain(212 + std::process::id() % 20).to_string();
    let g1d = env!("CARGO_BIN_EXE_g1d");
    let launch = |f: &str| root.join("launch").join(f).display().to_string();
    let secs = format!("{total_s}");
    let mut chain = Command::new(g1d)
        .args([
            "up",
            &launch("sim_diffusion.launch.xml"),
            "planner:=false",
            "estimator:=false",
        ])
        .args(["--seconds", &secs, "--summary", summary.to_str().unwrap()])
        .env("ROS_DOMAIN_ID", &domain)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained as it comes (a long soak logs more than a pipe holds).
    let mut chain_err = chain.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut chain_err, &mut log).ok();
        log
    });
    let mut recorder = Command::new(g1d)
        .args(["up", &launch("record.launch.xml")])
        .arg(format!("bag:={}", bag.display()))
        .args(["--seconds", &secs])
        .env("ROS_DOMAIN_ID", &domain)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start_planner = || {
        Command::new(g1d)
            .args([
                "up",
                &launch("planner.launch.xml"),
                "goal:=2,0",
                "use_sim_time:=true",
            ])
            .env("ROS_DOMAIN_ID", &domain)
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut estimator = Command::new(g1d)
        .args(["up", &launch("estimator.launch.xml"), "use_sim_time:=true"])
        .env("ROS_DOMAIN_ID", &domain)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut planner = start_planner();
    let t_start = Instant::now();
    let mut peer = common::peer(domain.parse().unwrap(), "soak");
    let mode = common::bridge_mode(&mut peer);
    let cmd_vel = peer
        .publisher::<Twist>("/cmd_vel", QosPreset::Command)
        .unwrap();
    let requests = peer
        .publisher::<StringMsg>("/g1d/bridge/mode_request", QosPreset::Command)
        .unwrap();
    let targets = peer
        .publisher::<JointTargets>("/joint_targets", QosPreset::Command)
        .unwrap();
    common::wait_active(&mode, Duration::from_secs(20), &mut chain);
    let t_active = t_start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    let rss0 = (rss_kb(&chain), rss_kb(&recorder));
    // Walking with faults until 8 s before the end; then the stall.
    let t_stall = total_s - 8.0;
    let busy = Arc::new(AtomicBool::new(false));
    let b2 = busy.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let loader = std::thread::spawn(move || {
        while !s2.load(Ordering::Relaxed) {
            if b2.load(Ordering::Relaxed) {
                std::hint::black_box((0..10_000u64).sum::<u64>());
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    });
    let mut bursts = 0;
    let mut next_burst = t_start.elapsed().as_secs_f64() + 1.0;
    while t_start.elapsed().as_secs_f64() < t_stall {
        let t = t_start.elapsed().as_secs_f64();
        busy.store(((t - t_active) % 15.0) >= 10.0, Ordering::Relaxed);
        if t >= next_burst {
            next_burst += 5.0;
            bursts += 1;
            for i in 0..30 {
                let mut c = Twist::default();
                c.linear.x = if i % 2 == 0 { f64::NAN } else { f64::INFINITY };
                cmd_vel.publish(c).unwrap();
                requests
                    .publish(StringMsg {
                        data: format!("hover{i}"),
                    })
                    .unwrap();
                targets
                    .publish(JointTargets {
                        q_target: vec![0.0; 3],
                        ..Default::default()
                    })
                    .unwrap();
            }
        }
        take_all(&mode);
        std::thread::sleep(Duration::from_millis(20));
    }
    busy.store(false, Ordering::Relaxed);
    let rss1 = (rss_kb(&chain), rss_kb(&recorder));
    let signal = |p: &Child, sig: &str| {
        let ok = Command::new("kill")
            .args([sig, &p.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    };
    signal(&estimator, "-STOP");
    let stalled = Instant::now();
    let t_stalled = t_start.elapsed().as_secs_f64();
    let mut seen: Vec<(String, f64)> = vec![];
    while stalled.elapsed() < Duration::from_secs(2) {
        for m in take_all(&mode).0 {
            seen.push((m.data, stalled.elapsed().as_secs_f64()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // The estimator resumes, the planner is killed and comes back; the bridge stays damped
    // (latched until the remote asks).
    signal(&estimator, "-CONT");
    std::thread::sleep(Duration::from_millis(500));
    planner.kill().unwrap();
    planner.wait().unwrap();
    let mut planner = start_planner();
    std::thread::sleep(Duration::from_millis(2500));
    for m in take_all(&mode).0 {
        seen.push((m.data, stalled.elapsed().as_secs_f64()));
    }
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    let status = chain.wait().unwrap();
    recorder.wait().unwrap();
    planner.kill().ok();
    planner.wait().ok();
    estimator.kill().ok();
    estimator.wait().ok();
    let log = log_reader.join().unwrap();
    assert!(status.success(), "{log}");
    eprintln!(
        "soak {total_s} s: {bursts} garbage bursts; RSS chain {} → {} kB, recorder {} → {} kB; after the stall: {seen:?}",
        rss0.0, rss1.0, rss0.1, rss1.1
    );
    // Every check is made and reported (a long run should say all it found), then the test
    // fails if any did.
    let mut failed: Vec<String> = vec![];
    let mut check = |ok: bool, what: String| {
        if !ok {
            failed.push(what);
        }
    };
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    // The fall time is on the simulator's clock, which falls behind the wall clock while the
    // CPU is loaded (≈ 11 s over 30 minutes): the stall's time on that clock is the bridge's
    // last `→ hold` (0.2 s after it).
    let transitions: Vec<String> = s["nodes"]["/g1_bridge"]["transitions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let stall_sim_s = transitions
        .iter()
        .rev()
        .find(|t| t.contains("→ hold"))
        .and_then(|t| t.split(' ').next()?.parse::<f64>().ok())
        .map(|t| t - 0.25);
    if let Some(t) = s["fall_time_s"].as_f64() {
        check(
            stall_sim_s.is_some_and(|st| t > st),
            format!(
                "the G1 fell at {t:.1} s (simulator clock), before the estimator stalled at \
                 {stall_sim_s:?} s (wall clock {t_stalled:.1} s)"
            ),
        );
    }
    let names: Vec<&str> = seen.iter().map(|(m, _)| m.as_str()).collect();
    check(
        names == ["hold", "damping"] && seen[0].1 <= 0.45 && seen[1].1 <= 1.3,
        format!("bridge modes after the stall: {seen:?} (expected hold ≤ 0.45 s, damping ≤ 1.3 s)"),
    );
    for (name, r) in s["nodes"].as_object().unwrap() {
        check(r.get("failed").is_none(), format!("{name} failed: {r}"));
    }
    let c = &s["nodes"]["/g1_bridge"]["counters"];
    for k in ["rejected_targets", "unreadable_requests"] {
        check(
            c[k].as_u64().unwrap() >= 30 * bursts as u64 - 5,
            format!("{k} {} for {bursts} bursts of 30", c[k]),
        );
    }
    // Memory flat: a few MB of slack, not growth with the run.
    check(
        rss1.0 < rss0.0 + 30_000,
        format!("chain RSS {} → {} kB", rss0.0, rss1.0),
    );
    check(
        rss1.1 < rss0.1 + 30_000,
        format!("recorder RSS {} → {} kB", rss0.1, rss1.1),
    );
    // The bag: closed cleanly, the 500 Hz joint states to the end.
    let info = g1_bag::info(&bag).unwrap();
    check(
        info.report.complete,
        format!("bag not closed cleanly: {:?}", info.report.truncation),
    );
    let js = info.report.topics["/joint_states"].count as f64;
    check(
        js > 400.0 * (total_s - 6.0),
        format!("{js} joint states in {total_s} s"),
    );
    assert!(failed.is_empty(), "{failed:#?}\n{log}");
    std::fs::remove_dir_all(&dir).ok();
}
