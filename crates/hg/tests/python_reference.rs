//! The C images and CRCs against an independent Python implementation (struct formats from
//! Unitree's headers, bit-serial CRC): scripts/hg_reference.py.

use std::io::Write;
use std::process::{Command, Stdio};

use g1_hg::*;
use g1_msgs::unitree::{LowCmd, LowState};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use g1_testkit::repo;

fn random_cmd(rng: &mut ChaCha8Rng) -> LowCmd {
    let mut c = LowCmd {
        mode_pr: rng.gen_range(0..2),
        mode_machine: rng.gen(),
        ..Default::default()
    };
    for m in c.motor_cmd.iter_mut() {
        m.mode = rng.gen_range(0..2);
        m.q = rng.gen_range(-3.0..3.0);
        m.dq = rng.gen_range(-10.0..10.0);
        m.tau = rng.gen_range(-50.0..50.0);
        m.kp = rng.gen_range(0.0..200.0);
        m.kd = rng.gen_range(0.0..10.0);
        m.reserve = rng.gen();
    }
    c.reserve = rng.gen();
    c.crc = rng.gen();
    c
}

fn random_state(rng: &mut ChaCha8Rng) -> LowState {
    let mut s = LowState {
        version: rng.gen(),
        mode_pr: rng.gen(),
        mode_machine: rng.gen(),
        tick: rng.gen(),
        ..Default::default()
    };
    s.imu_state.quaternion = rng.gen();
    s.imu_state.gyroscope = rng.gen();
    s.imu_state.accelerometer = rng.gen();
    s.imu_state.rpy = rng.gen();
    s.imu_state.temperature = rng.gen();
    for m in s.motor_state.iter_mut() {
        m.mode = rng.gen();
        m.q = rng.gen_range(-3.0..3.0);
        m.dq = rng.gen();
        m.ddq = rng.gen();
        m.tau_est = rng.gen();
        m.temperature = rng.gen();
        m.vol = rng.gen();
        m.sensor = rng.gen();
        m.motorstate = rng.gen();
        m.reserve = rng.gen();
    }
    rng.fill(&mut s.wireless_remote[..]);
    s.reserve = rng.gen();
    s.crc = rng.gen();
    s
}

fn cmd_json(c: &LowCmd) -> Value {
    json!({
        "kind": "LowCmd", "mode_pr": c.mode_pr, "mode_machine": c.mode_machine,
        "motor_cmd": c.motor_cmd.iter().map(|m| json!({"mode": m.mode, "q": m.q, "dq": m.dq,
            "tau": m.tau, "kp": m.kp, "kd": m.kd, "reserve": m.reserve})).collect::<Vec<_>>(),
        "reserve": c.reserve, "crc": c.crc,
    })
}

fn state_json(s: &LowState) -> Value {
    let i = &s.imu_state;
    json!({
        "kind": "LowState", "version": s.version, "mode_pr": s.mode_pr,
        "mode_machine": s.mode_machine, "tick": s.tick,
        "imu_state": {"quaternion": i.quaternion, "gyroscope": i.gyroscope,
            "accelerometer": i.accelerometer, "rpy": i.rpy, "temperature": i.temperature},
        "motor_state": s.motor_state.iter().map(|m| json!({"mode": m.mode, "q": m.q, "dq": m.dq,
            "ddq": m.ddq, "tau_est": m.tau_est, "temperature": m.temperature, "vol": m.vol,
            "sensor": m.sensor, "motorstate": m.motorstate, "reserve": m.reserve}))
            .collect::<Vec<_>>(),
        "wireless_remote": s.wireless_remote.to_vec(), "reserve": s.reserve, "crc": s.crc,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn layouts_and_crcs_match_python_reference() {
    let py = g1_testkit::python();
    assert!(
        py.exists(),
        "run `make setup` first ({} missing)",
        py.display()
    );
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cmds: Vec<LowCmd> = (0..20).map(|_| random_cmd(&mut rng)).collect();
    let states: Vec<LowState> = (0..20).map(|_| random_state(&mut rng)).collect();
    let mut input = String::new();
    for c in &cmds {
        input += &format!("{}\n", cmd_json(c));
    }
    for s in &states {
        input += &format!("{}\n", state_json(s));
    }
    let mut child = Command::new(py)
        .arg(repo().join("scripts/hg_reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Feed stdin from a thread: the reference answers line by line, and its replies would
    // fill the pipe while we were still writing.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 40);
    for (c, r) in cmds.iter().zip(&lines[..20]) {
        assert_eq!(hex(&low_cmd_bytes(c)), r["bytes"].as_str().unwrap());
        assert_eq!(low_cmd_crc(c) as u64, r["crc"].as_u64().unwrap());
    }
    for (s, r) in states.iter().zip(&lines[20..]) {
        assert_eq!(hex(&low_state_bytes(s)), r["bytes"].as_str().unwrap());
        assert_eq!(low_state_crc(s) as u64, r["crc"].as_u64().unwrap());
    }
}

#[test]
fn signing_and_checking() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut s = random_state(&mut rng);
    sign_low_state(&mut s);
    assert!(check_low_state(&s).is_ok());
    // Any change of content — one motor's position by one ulp, one remote byte — is caught.
    let mut t = s.clone();
    t.motor_state[28].q = f32::from_bits(t.motor_state[28].q.to_bits() ^ 1);
    let e = check_low_state(&t).unwrap_err();
    assert_eq!(e.carried, s.crc);
    assert!(e.to_string().contains("LowState CRC mismatch"), "{e}");
    let mut t = s.clone();
    t.wireless_remote[3] ^= 0x02;
    assert!(check_low_state(&t).is_err());
    // The CRC word itself is not part of the sum.
    let mut c = random_cmd(&mut rng);
    let before = low_cmd_crc(&c);
    c.crc ^= 0xFFFF;
    assert_eq!(low_cmd_crc(&c), before);
    sign_low_cmd(&mut c);
    assert!(check_low_cmd(&c).is_ok());
    c.mode_machine ^= 1;
    assert!(check_low_cmd(&c).is_err());
}
