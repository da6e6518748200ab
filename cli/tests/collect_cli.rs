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
    // Wait for a few chunks (768 KiB uncompressed each, a few hundred KB compressed) to reach
    // the disk: the damage below needs two complete ones (at 600 KB the kill could land with one
    // complete chunk and the second half written, which repair rightly drops).
    while mcap_size(&bag) < 1_500_000 {
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

    // A bag that was not closed cleanly is not built into a dataset unnoticed.
    let g1d = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_g1d"))
            .args(args)
            .output()
            .unwrap()
    };
    let ds = out.join("ds.safetensors");
    let build = g1d(&[
        "dataset".as_ref(),
        "build".as_ref(),
        bag.as_os_str(),
        "--out".as_ref(),
        ds.as_os_str(),
    ]);
    let err = String::from_utf8_lossy(&build.stderr);
    assert!(
        !build.status.success() && err.contains("not closed cleanly"),
        "{err}"
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

    // One flipped bit inside a chunk: `bag repair` drops that whole chunk and says so; a
    // dataset is not built from the damaged bag unless --skip-bad, which names it.
    let damaged = out.join("damaged");
    let repaired = out.join("repaired");
    for d in [&damaged, &repaired] {
        std::fs::create_dir_all(d).unwrap();
        for e in std::fs::read_dir(&bag).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, d.join(p.file_name().unwrap())).unwrap();
        }
        let mcap = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "mcap"))
            .unwrap();
        let mut bytes = std::fs::read(&mcap).unwrap();
        // The second top-level chunk record (opcode 0x06): flip a bit in its middle.
        let (mut pos, mut seen) = (8usize, 0);
        loop {
            assert!(
                pos + 9 <= bytes.len(),
                "fewer than two chunks in {}",
                mcap.display()
            );
            let len = u64::from_le_bytes(bytes[pos + 1..pos + 9].try_into().unwrap()) as usize;
            if bytes[pos] == 0x06 {
                seen += 1;
                if seen == 2 {
                    bytes[pos + 9 + len / 2] ^= 0x10;
                    break;
                }
            }
            pos += 9 + len;
        }
        std::fs::write(&mcap, bytes).unwrap();
    }
    let rep = g1d(&["bag".as_ref(), "repair".as_ref(), repaired.as_os_str()]);
    let text = String::from_utf8_lossy(&rep.stdout);
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    assert!(text.contains("dropped damaged chunk 2"), "{text}");
    let kept = g1_bag::info(&repaired).unwrap().report.messages;
    assert!(kept < n && kept > 0, "kept {kept} of {n}");
    let build = g1d(&[
        "dataset".as_ref(),
        "build".as_ref(),
        damaged.as_os_str(),
        "--out".as_ref(),
        ds.as_os_str(),
    ]);
    let err = String::from_utf8_lossy(&build.stderr);
    assert!(
        !build.status.success() && err.contains("chunk 2") && err.contains("--skip-bad"),
        "{err}"
    );
    let build = g1d(&[
        "dataset".as_ref(),
        "build".as_ref(),
        damaged.as_os_str(),
        bag.as_os_str(),
        "--skip-bad".as_ref(),
        "--out".as_ref(),
        ds.as_os_str(),
    ]);
    // (The killed recording holds no finished episode, so the build then has nothing to
    // build from; it names the bag it skipped and why.)
    let text = String::from_utf8_lossy(&build.stderr);
    assert!(
        text.contains("no episode") && text.contains("skipped") && text.contains("damaged"),
        "{text}"
    );
    std::fs::remove_dir_all(&out).ok();
}
