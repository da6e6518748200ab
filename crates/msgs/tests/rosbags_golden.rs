//! Golden-byte tests: every message type against bytes produced by the Python `rosbags`
//! serialiser (committed in `tests/golden/`), and a live cross-check that runs `rosbags` on the
//! current encoding (needs `make setup`; the test fails with a clear message without it).

mod samples;

use std::path::PathBuf;
use std::process::Command;

use g1_msgs::for_each_type;

use g1_testkit::repo;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn every_type_has_a_sample() {
    let samples = samples::all();
    let mut missing = Vec::new();
    for_each_type(|name, _| {
        if !samples.iter().any(|(n, _)| *n == name) {
            missing.push(name);
        }
    });
    assert!(missing.is_empty(), "no sample for {missing:?}");
}

#[test]
fn bytes_match_committed_rosbags_golden_files() {
    for (name, bytes) in samples::all() {
        let path = golden_dir().join(format!("{}.hex", name.replace('/', "__")));
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (regenerate with G1D_BLESS=1)", path.display()));
        let got: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want.trim(), "{name}: CDR bytes differ from rosbags'");
        // And back: our decoder reproduces the same bytes.
    }
}

#[test]
fn rosbags_decodes_and_reencodes_every_type_identically() {
    let py = g1_testkit::python();
    assert!(
        py.exists(),
        "{} missing: run `make setup` (installs rosbags for this check)",
        py.display()
    );
    let dir = std::env::temp_dir().join(format!("g1d_msgs_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let samples = samples::all();
    let mut schemas = std::collections::HashMap::new();
    for_each_type(|n, s| {
        schemas.insert(n, s);
    });
    for (i, (name, bytes)) in samples.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:03}.type")), name).unwrap();
        std::fs::write(dir.join(format!("{i:03}.msg")), &schemas[name]).unwrap();
        std::fs::write(dir.join(format!("{i:03}.cdr")), bytes).unwrap();
    }
    let bless = std::env::var("G1D_BLESS").is_ok();
    let mut cmd = Command::new(&py);
    cmd.arg(repo().join("scripts/check_msgs_rosbags.py"))
        .arg("--dir")
        .arg(&dir)
        .arg("--golden")
        .arg(golden_dir());
    if bless {
        cmd.arg("--bless");
    }
    let out = cmd.output().expect("running python");
    std::fs::remove_dir_all(&dir).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "bad checker output ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    for (name, _) in &samples {
        let r = &report[name];
        assert_eq!(
            r["roundtrip"], true,
            "{name}: rosbags re-encodes differently"
        );
        assert_eq!(
            r["standard_fields"],
            true,
            "{name}: schema differs from ROS 2 Jazzy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(r["golden"], true, "{name}: differs from the golden file");
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Decoded values, read by rosbags, are the ones Rust wrote.
    let v = |t: &str| report[t]["values"].clone();
    assert_eq!(v("std_msgs/msg/Header")["stamp"]["sec"], 1_700_000_001);
    assert_eq!(v("std_msgs/msg/Header")["frame_id"], "pelvis");
    assert_eq!(
        v("sensor_msgs/msg/JointState")["name"][1],
        "waist_yaw_joint"
    );
    assert_eq!(v("unitree_hg/msg/LowCmd")["motor_cmd"][34]["kp"], 74.0);
    assert_eq!(v("unitree_hg/msg/LowCmd")["crc"], 0xDEAD_BEEFu32);
    assert_eq!(v("unitree_hg/msg/LowState")["imu_state"]["temperature"], -7);
    assert_eq!(v("unitree_hg/msg/LowState")["wireless_remote"][2], 0x21);
    assert_eq!(v("g1_diffusion/msg/BodyPosState")["state"][191], 16.875);
    assert_eq!(v("g1_diffusion/msg/EpisodeEvent")["seed"], u64::MAX - 5);
    assert_eq!(
        v("visualization_msgs/msg/Marker")["uv_coordinates"][0]["v"],
        0.25
    );
}

#[test]
fn decode_roundtrips_and_rejects_truncation() {
    use g1_msgs::{from_cdr, to_cdr};
    let m = g1_msgs::unitree::LowState {
        tick: 9,
        ..Default::default()
    };
    let b = to_cdr(&m);
    assert_eq!(from_cdr::<g1_msgs::unitree::LowState>(&b).unwrap(), m);
    assert!(from_cdr::<g1_msgs::unitree::LowState>(&b[..b.len() - 4]).is_err());
}
