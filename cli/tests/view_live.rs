//! `g1d view --live` under Xvfb on the running node suite (`g1d up
//! launch/sim_diffusion.launch.xml goal:=1.5,0 lockstep:=true`), checked by its screenshot.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Background pixels, goal-disc pixels, and pixels of the robot in the middle of the picture
/// (grey, unlike the floor sampled at the bottom corner).
fn colour_counts(png: &Path) -> (u64, u64, u64) {
    let img = image::open(png).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    let floor = img.get_pixel(3, h - 3).0.map(|v| v as f32 / 255.0);
    let (mut sky, mut goal, mut robot) = (0, 0, 0);
    for (x, y, p) in img.enumerate_pixels() {
        let f = p.0.map(|v| v as f32 / 255.0);
        // The pale blue above the horizon (shading and tone mapping change its exact value).
        if f.iter().all(|v| *v > 0.75) && f[2] - f[0] > 0.04 {
            sky += 1;
        }
        if f[1] > 0.5 && f[1] > 1.4 * f[0] && f[1] > 1.4 * f[2] {
            goal += 1;
        }
        let centre = x.abs_diff(w / 2) < 40 && y + 120 > h / 2 && y < h / 2 + 60;
        let grey = (f[0] - f[1]).abs() < 0.08 && (f[1] - f[2]).abs() < 0.08;
        if centre && grey && f.iter().zip(floor).any(|(v, c)| (v - c).abs() > 0.12) {
            robot += 1;
        }
    }
    (sky, goal, robot)
}

/// The window on the live chain, under Xvfb: after a few seconds of the chain walking to a
/// goal, the screenshot agrees with the chain's own summary (stopped right after it): standing
/// with the bridge active if the chain had not fallen, fallen with the bridge damping if it had
/// fallen well before; in either case a plan and the goal arrived, and a standing robot fills the
/// picture's centre.
#[test]
fn the_live_window_shows_the_chain_under_xvfb() {
    if Command::new("xvfb-run").arg("--help").output().is_err() {
        panic!("xvfb-run is missing: scripts/setup.sh installs it (apt xvfb)");
    }
    let dir = std::env::temp_dir().join(format!("g1d_view_live_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let domain = g1_testkit::test_domain(150 + std::process::id() % 10).to_string();
    // In lockstep: the simulator waits for the controller, so the software renderer's load on a
    // 2-core machine cannot tip the G1 — what is checked is the view, not the chain's real-time
    // margin (`realtime_chain.rs` checks that, alone).
    let mut chain = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args([
            "up",
            "launch/sim_diffusion.launch.xml",
            "goal:=1.5,0",
            "lockstep:=true",
            "--seconds",
            "40",
            "--summary",
        ])
        .arg(dir.join("chain.json"))
        .current_dir(root())
        .env("ROS_DOMAIN_ID", &domain)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let shot = dir.join("live.png");
    let out = Command::new("xvfb-run")
        .args([
            "-a",
            "-s",
            "-screen 0 1280x1024x24",
            env!("CARGO_BIN_EXE_g1d"),
        ])
        .args([
            "view",
            "--live",
            "--width",
            "800",
            "--height",
            "600",
            "--max-fps",
            "4",
            "--screenshot",
        ])
        .arg(&shot)
        .args(["--after", "12"])
        .current_dir(root())
        .env("ROS_DOMAIN_ID", &domain)
        .output()
        .unwrap();
    // Ctrl-C: the chain stops and writes its summary.
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(chain.id() as i32, libc::SIGINT);
    }
    chain.wait().ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_string();
    let s: serde_json::Value = serde_json::from_str(&line).unwrap();
    eprintln!("{s}");
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("chain.json")).unwrap()).unwrap();
    eprintln!(
        "chain: fell {} at {} (simulated {} s)",
        c["fell"], c["fall_time_s"], c["nodes"]["/g1_sim"]["time_s"]
    );
    assert!(s["plan_bodies"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["goal"], serde_json::json!([1.5, 0.0]), "{s}");
    let img = image::open(&shot).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 600));
    let (sky, goal, robot) = colour_counts(&shot);
    assert!(
        sky > 1000 && goal > 200,
        "background {sky}, goal {goal} pixels"
    );
    let end = c["nodes"]["/g1_sim"]["time_s"].as_f64().unwrap();
    match c["fall_time_s"].as_f64() {
        None => {
            assert_eq!(s["fell"], false, "{s} / {c}");
            assert!(s["pelvis"][2].as_f64().unwrap() > 0.5, "{s}");
            assert_eq!(s["mode"], "active", "{s}");
            assert!(robot > 800, "{robot} robot pixels at the centre");
        }
        // Fallen well before the screenshot (the chain stopped within a second of it).
        Some(f) if end - f > 3.0 => {
            assert_eq!(s["fell"], true, "{s} / {c}");
            assert!(s["pelvis"][2].as_f64().unwrap() < 0.5, "{s}");
            assert_eq!(s["mode"], "damping", "{s}");
        }
        Some(_) => eprintln!("the chain fell about when the screenshot was taken: not compared"),
    }
    std::fs::remove_dir_all(&dir).ok();
}
