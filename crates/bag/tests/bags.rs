//! Bags written by g1-bag: read back by our reader and by the Python `rosbags` and `mcap`
//! readers; cut files (a killed recording) and corrupted chunks; repair.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use g1_bag::{info, repair, Bag, BagError, BagWriter, Qos, WriterOptions};
use g1_msgs::builtin_interfaces::Time;
use g1_msgs::g1d::BodyPosState;
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::Header;
use g1_msgs::unitree::LowCmd;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("g1d_bag_test_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn state(i: u64) -> BodyPosState {
    BodyPosState {
        header: Header::new(Time::from_nanos(i * 20_000_000), "odom"),
        layout_version: 1,
        state: (0..192).map(|k| (k as f32 + i as f32).sin()).collect(),
        ..Default::default()
    }
}

fn joints(i: u64) -> JointState {
    JointState {
        header: Header::new(Time::from_nanos(i * 20_000_000), ""),
        name: vec!["a".into(), "b".into()],
        position: vec![i as f64, -(i as f64)],
        velocity: vec![0.5, 0.25],
        effort: vec![],
    }
}

/// Writes `n` steps of two topics (+ one LowCmd topic outside the allow-list).
fn write_bag(dir: &Path, n: u64, chunk: u64) -> BagWriter {
    let mut run = BTreeMap::new();
    run.insert("git_revision".to_string(), "abc123".to_string());
    let mut w = BagWriter::create(
        dir,
        WriterOptions {
            chunk_size: chunk,
            allow_topics: Some(vec!["/g1d/state".into(), "/joint_states".into()]),
            run_metadata: run,
            ..Default::default()
        },
    )
    .unwrap();
    let ts = w
        .topic::<BodyPosState>("/g1d/state", Qos::Reliable)
        .unwrap();
    let tj = w
        .topic::<JointState>("/joint_states", Qos::SensorData)
        .unwrap();
    let tl = w.topic::<LowCmd>("/lowcmd", Qos::Reliable).unwrap();
    assert!(!tl.is_recorded());
    for i in 0..n {
        let t = i * 20_000_000;
        w.write(&ts, t, &state(i)).unwrap();
        w.write(&tj, t, &joints(i)).unwrap();
        w.write(&tl, t, &LowCmd::default()).unwrap();
    }
    w
}

fn read_all(dir: &Path) -> (Vec<BodyPosState>, Vec<JointState>, g1_bag::ReadReport) {
    let bag = Bag::open(dir).unwrap();
    let (mut s, mut j) = (Vec::new(), Vec::new());
    let report = bag
        .read(|m| -> Result<(), BagError> {
            match m.topic {
                "/g1d/state" => s.push(m.decode::<BodyPosState>()?),
                "/joint_states" => j.push(m.decode::<JointState>()?),
                t => panic!("unexpected topic {t}"),
            }
            Ok(())
        })
        .unwrap()
        .unwrap();
    (s, j, report)
}

#[test]
fn roundtrip_allow_list_and_metadata() {
    let dir = tmp("roundtrip");
    write_bag(&dir, 300, 64 * 1024).finish().unwrap();
    let (s, j, report) = read_all(&dir);
    assert!(report.complete);
    assert_eq!((s.len(), j.len()), (300, 300));
    for i in 0..300u64 {
        assert_eq!(s[i as usize], state(i));
        assert_eq!(j[i as usize], joints(i));
    }
    assert!(report.chunks > 1, "expected several chunks");
    assert_eq!(report.metadata["g1d_run"]["git_revision"], "abc123");
    let yaml = std::fs::read_to_string(dir.join("metadata.yaml")).unwrap();
    assert!(yaml.contains("version: 9"));
    assert!(yaml.contains("message_count: 600"));
    assert!(!yaml.contains("/lowcmd"));
    let i = info(&dir).unwrap();
    assert!(i.metadata_mismatch.is_empty());
    assert!(format!("{i}")
        .contains("Topic: /g1d/state | Type: g1_diffusion/msg/BodyPosState | Count: 300"));
    std::fs::remove_dir_all(&dir).ok();
}

use g1_testkit::python_bag_report as python_counts;

#[test]
fn python_rosbags_and_mcap_read_every_message() {
    let dir = tmp("python");
    write_bag(&dir, 120, 32 * 1024).finish().unwrap();
    let v = python_counts(&dir);
    for reader in ["rosbags", "mcap"] {
        assert_eq!(v[reader]["/g1d/state"], 120, "{reader}: {v}");
        assert_eq!(v[reader]["/joint_states"], 120, "{reader}: {v}");
    }
    assert_eq!(v["samples"]["/joint_states"]["name"][1], "b");
    assert_eq!(v["samples"]["/g1d/state"]["layout_version"], 1);
    assert_eq!(v["custom_data"]["git_revision"], "abc123");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cut_file_reads_up_to_last_chunk_and_repairs() {
    let dir = tmp("cut");
    // Simulate a killed recording: chunks are on disk, the summary and footer are not.
    let w = write_bag(&dir, 400, 32 * 1024);
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "mcap"))
        .unwrap();
    std::mem::forget(w); // no finish(), no Drop: like kill -9
    let bytes = std::fs::read(&file).unwrap();
    // Cut in the middle of the file as well (a chunk half written).
    std::fs::write(&file, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (s, j, report) = read_all(&dir);
    assert!(!report.complete);
    assert!(report.truncation.is_some());
    assert!(s.len() > 50 && s.len() < 400, "{} states", s.len());
    // Every message that was read is intact.
    for (i, m) in s.iter().enumerate() {
        assert_eq!(*m, state(i as u64));
    }
    assert!(j.len().abs_diff(s.len()) <= 1);
    let r = repair(&dir).unwrap();
    assert!(r.rewritten && !r.was_complete);
    assert_eq!(r.messages_kept as usize, s.len() + j.len());
    let (s2, _, report2) = read_all(&dir);
    assert!(report2.complete);
    assert_eq!(s2, s);
    let v = python_counts(&dir);
    assert_eq!(v["rosbags"]["/g1d/state"], s.len());
    assert_eq!(v["mcap"]["/g1d/state"], s.len());
    assert!(info(&dir).unwrap().metadata_mismatch.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupted_chunk_is_an_error_naming_the_file() {
    let dir = tmp("corrupt");
    write_bag(&dir, 300, 32 * 1024).finish().unwrap();
    let bag = Bag::open(&dir).unwrap();
    let file = bag.mcap_path.clone();
    drop(bag);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&file, &bytes).unwrap();
    let bag = Bag::open(&dir).unwrap();
    let err = bag
        .read(|_| Ok::<(), ()>(()))
        .err()
        .unwrap_or_else(|| panic!("corruption must be reported"));
    let msg = err.to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tmp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let e = Bag::open(&dir).err().unwrap().to_string();
    assert!(e.contains("not a bag"), "{e}");
    std::fs::write(dir.join("metadata.yaml"), "rosbag2_bagfile_information: [").unwrap();
    let e = Bag::open(&dir).err().unwrap().to_string();
    assert!(e.contains("metadata.yaml"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
    let d2 = tmp("exists");
    std::fs::create_dir_all(&d2).unwrap();
    let e = BagWriter::create(&d2, WriterOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("already exists"), "{e}");
    std::fs::remove_dir_all(&d2).ok();
}

/// Damaged chunks, as a disk or a hostile file makes them: the reader checks a chunk (its size,
/// decompression, CRC, record framing) before handing out any of its messages, fails naming
/// the chunk, never allocates what a header claims, and `repair` drops the chunk whole.
#[test]
fn damaged_chunks_are_refused_whole_and_never_exhaust_memory() {
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../nodes/tests/fixtures/replay_estimator");
    let total = g1_bag::info(&src).unwrap().report.messages;
    let dir = std::env::temp_dir().join(format!("g1d_chunks_{}", std::process::id()));
    // First chunk record: its header's uncompressed size, then a bit in its data.
    for (case, edit) in [("size", 0usize), ("bit", 1)] {
        let d = dir.join(case);
        std::fs::create_dir_all(&d).unwrap();
        let mut mcap = None;
        for e in std::fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            let to = d.join(p.file_name().unwrap());
            std::fs::copy(&p, &to).unwrap();
            if to.extension().is_some_and(|x| x == "mcap") {
                mcap = Some(to);
            }
        }
        let mcap = mcap.unwrap();
        let mut b = std::fs::read(&mcap).unwrap();
        let mut pos = 8usize;
        while b[pos] != 0x06 {
            pos += 9 + u64::from_le_bytes(b[pos + 1..pos + 9].try_into().unwrap()) as usize;
        }
        let len = u64::from_le_bytes(b[pos + 1..pos + 9].try_into().unwrap()) as usize;
        if edit == 0 {
            // message_start_time, message_end_time, then uncompressed_size.
            b[pos + 9 + 16..pos + 9 + 24].copy_from_slice(&(u64::MAX / 3).to_le_bytes());
        } else {
            b[pos + 9 + len / 2] ^= 0x10;
        }
        std::fs::write(&mcap, b).unwrap();
        let bag = g1_bag::Bag::open(&d).unwrap();
        let mut seen = 0u64;
        let err = bag
            .read(|_| -> Result<(), ()> {
                seen += 1;
                Ok(())
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains("chunk 1"), "{case}: {err}");
        assert_eq!(
            seen, 0,
            "{case}: messages of the damaged chunk were handed out"
        );
        let r = g1_bag::repair(&d).unwrap();
        assert_eq!(r.dropped_chunks.len(), 1, "{case}: {r:?}");
        assert!(
            r.messages_kept < total && r.messages_kept > 0,
            "{case}: {r:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
