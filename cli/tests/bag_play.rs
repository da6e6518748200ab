//! `g1d bag play`: a recording of the simulated chain (`sim.launch.xml` with
//! `record.launch.xml`) played back into a fresh state estimator, whose output is compared with
//! the estimator's output in the recording. The same filter on the same samples gives the same
//! trajectory: the played-back estimate follows the recorded one, and playback keeps the
//! recording's timing.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use g1_msgs::g1d::BodyPosState;
use g1_ros::dds::{take_all, QosPreset};

mod common;

/// (stamp s, root x, root y) of every Body-Pos state, by stamp.
fn track(states: &[BodyPosState]) -> Vec<(f64, f64, f64)> {
    let mut v: Vec<(f64, f64, f64)> = states
        .iter()
        .map(|s| {
            let p = &s.root_pose.position;
            (s.header.stamp.as_secs_f64(), p.x, p.y)
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// The recorded position at `t`, linearly between the recorded states around it.
fn at(rec: &[(f64, f64, f64)], t: f64) -> Option<(f64, f64)> {
    let i = rec.partition_point(|r| r.0 < t);
    if i == 0 || i >= rec.len() {
        return None;
    }
    let (a, b) = (rec[i - 1], rec[i]);
    let w = if b.0 > a.0 {
        (t - a.0) / (b.0 - a.0)
    } else {
        0.0
    };
    Some((a.1 + w * (b.1 - a.1), a.2 + w * (b.2 - a.2)))
}

#[test]
fn a_played_recording_drives_a_fresh_estimator_along_the_recorded_estimate() {
    let dir = std::env::temp_dir().join(format!("g1d_bag_play_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let bag = dir.join("chain");
    // 1. Record the chain: the recorder first (so it hears the estimator from its start).
    let rec_domain = g1_testkit::test_domain(100 + std::process::id() % 20);
    let recorder = common::up(
        "launch/record.launch.xml",
        &[&format!("bag:={}", bag.display())],
        rec_domain,
        12,
    );
    std::thread::sleep(Duration::from_secs(2));
    let chain = common::up("launch/sim.launch.xml", &[], rec_domain, 9);
    let out = chain.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = recorder.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded: Vec<BodyPosState> = {
        let b = g1_bag::Bag::open(&bag).unwrap();
        let mut v = vec![];
        b.read(|m| -> Result<(), g1_bag::BagError> {
            if m.topic == "/g1d/state" {
                v.push(m.decode()?);
            }
            Ok(())
        })
        .unwrap()
        .unwrap();
        v
    };
    let rec = track(&recorded);
    assert!(rec.len() > 200, "{} states recorded", rec.len());
    let walked = (rec[rec.len() - 1].1 - rec[0].1).hypot(rec[rec.len() - 1].2 - rec[0].2);
    assert!(walked > 1.0, "the recorded robot walked {walked:.2} m");

    // 2. A fresh estimator on a domain of its own, fed by `g1d bag play`.
    let play_domain = g1_testkit::test_domain(120 + std::process::id() % 20);
    let estimator = common::up("launch/estimator.launch.xml", &[], play_domain, 40);
    let mut peer = common::peer(play_domain, "listener");
    let states = peer
        .subscription::<BodyPosState>("/g1d/state", QosPreset::Record)
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let collector = std::thread::spawn(move || {
        let mut got = vec![];
        while !d2.load(Ordering::Relaxed) {
            got.extend(take_all(&states).0);
            std::thread::sleep(Duration::from_millis(10));
        }
        got.extend(take_all(&states).0);
        got
    });
    let t0 = Instant::now();
    let play = Command::new(env!("CARGO_BIN_EXE_g1d"))
        .args(["bag", "play"])
        .arg(&bag)
        .args([
            "--topics",
            "/joint_states,/imu",
            "--wait-for-subscribers",
            "20",
        ])
        .env("ROS_DOMAIN_ID", play_domain.to_string())
        .output()
        .unwrap();
    let played_s = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::Relaxed);
    let replayed = collector.join().unwrap();
    let mut estimator = estimator;
    estimator.kill().ok();
    let est_log =
        String::from_utf8_lossy(&estimator.wait_with_output().unwrap().stderr).into_owned();
    let log = String::from_utf8_lossy(&play.stderr);
    assert!(play.status.success(), "{log}\n{est_log}");
    assert!(
        String::from_utf8_lossy(&play.stdout).starts_with("played "),
        "{}",
        String::from_utf8_lossy(&play.stdout)
    );
    // The recording's timing: the span of the played states is the span of the recorded ones
    // (the input stamps are the recording's), and playback took about as long as recorded.
    let new = track(&replayed);
    assert!(
        new.len() as f64 > 0.8 * rec.len() as f64,
        "{} states from the played bag, {} recorded\n{est_log}",
        new.len(),
        rec.len()
    );
    let span = |v: &[(f64, f64, f64)]| v[v.len() - 1].0 - v[0].0;
    assert!(
        played_s >= 0.9 * span(&rec),
        "played in {played_s:.1} s a recording of {:.1} s",
        span(&rec)
    );
    // The same estimate: the played-back trajectory on the recorded one.
    let mut errs: Vec<f64> = new
        .iter()
        .filter_map(|&(t, x, y)| at(&rec, t).map(|(rx, ry)| (x - rx).hypot(y - ry)))
        .collect();
    assert!(
        errs.len() > 100,
        "{} states overlap the recording",
        errs.len()
    );
    errs.sort_by(f64::total_cmp);
    let p95 = errs[errs.len() * 95 / 100];
    let max = errs[errs.len() - 1];
    eprintln!(
        "{} played states vs {} recorded: position difference p95 {:.2} cm, max {:.2} cm, \
         robot walked {walked:.2} m",
        new.len(),
        rec.len(),
        p95 * 100.0,
        max * 100.0
    );
    assert!(p95 < 0.01, "p95 {p95:.3} m");
    std::fs::remove_dir_all(&dir).ok();
}
