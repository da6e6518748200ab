//! `g1d collect` killed with SIGKILL mid-recording: its bags stay readable up to their last
//! complete chunk, `g1d bag info` says so, `g1d bag repair` makes them whole, and the Python
//! `rosbags` reader then reads every message.

use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{python_bag_report, repo};

fn mcap_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "mcap"))
                .map(|e| e.metadata().map_or(0, |m| m.len()))
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn kill_9_during_collect_leaves_readable_bags_and_repair_fixes_them() {
    let out = std::env::temp_dir().join(format!("g1d_kill9_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut child = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(["collect", "--policy"])
        .arg(repo().join("assets/policies/velocity_mjlab"))
        .args(["--sim-hours", "1", "--workers", "1", "--seed", "3", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let bag = out.join("shard000of001_w00");
    let t0 = Instant::now();
    // Wait for a few chunks (768 KiB uncompressed each) to reach the disk.
    while mcap_size(&bag) < 600_000 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "collect wrote nothing"
        );
        assert!(child.try_wait().unwrap().is_none(), "collect ended early");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let b = g1_bag::Bag::open(&bag).unwrap();
    let mut n = 0u64;
    let report = b
        .read(|m| -> Result<(), g1_bag::BagError> {
            if m.topic == "/g1d/state" {
                m.decode::<g1_msgs::g1d::BodyPosState>()?;
            }
            n += 1;
            Ok(())
        })
        .unwrap()
        .unwrap();
    assert!(!report.complete);
    assert!(n > 500, "only {n} messages survived");

    let info = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(["bag", "info"])
        .arg(&bag)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success() && text.contains("Closed cleanly:    NO"),
        "{text}"
    );

    let rep = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(["bag", "repair"])
        .arg(&bag)
        .output()
        .unwrap();
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    let after = g1_bag::info(&bag).unwrap();
    assert!(after.report.complete && after.metadata_mismatch.is_empty());
    assert_eq!(after.report.messages, n);

    let v = python_bag_report(&bag);
    let total: u64 = v["rosbags"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, n);
    std::fs::remove_dir_all(&out).ok();
}
