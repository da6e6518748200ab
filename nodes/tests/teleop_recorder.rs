//! Goal publishers and the recorder: the joystick mappings (Joy, the G1 remote, keys) in REP-103
//! axes; the keyboard executable driven through its standard input publishes `cmd_vel` over
//! DDS; the recorder node's bag of a Joy-driven teleop session is read back by the independent
//! Python readers (`rosbags`, `mcap`) with the same counts and contents.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use g1_hg::{Buttons, Remote};
use g1_msgs::geometry_msgs::Twist;
use g1_msgs::sensor_msgs::Joy;
use g1_msgs::std_msgs::Header;
use g1_nodes::recorder_node::{parse_topic, RecorderNode};
use g1_nodes::runtime::Node;
use g1_nodes::teleop_node::{TeleopConfig, TeleopNode};
use g1_ros::dds::{take_all, QosPreset};

fn close(a: [f64; 3], b: [f64; 3]) -> bool {
    a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6)
}

fn joy(axes: &[f32], buttons: &[i32]) -> Joy {
    Joy {
        header: Header::default(),
        axes: axes.to_vec(),
        buttons: buttons.to_vec(),
    }
}

#[test]
fn joystick_mappings_follow_rep103_and_limits() {
    let c = TeleopConfig::default();
    // Gamepad: left stick up (axis 1 = +1) is forward, left stick left (axis 0 = +1) is +y,
    // right stick left (axis 3 = +1) turns counter-clockwise (+z).
    let cmd = c.joy_command(&joy(&[-0.5, 1.0, 0.0, 0.5], &[])).unwrap();
    assert!(close(cmd, [0.6, -0.2, 0.5]), "{cmd:?}");
    // Dead zone, missing axes, NaN.
    let cmd = c.joy_command(&joy(&[0.03, f32::NAN], &[])).unwrap();
    assert!(close(cmd, [0.0; 3]), "{cmd:?}");
    // Enable button: nothing unless held.
    let held = TeleopConfig {
        enable_button: 4,
        ..c.clone()
    };
    assert_eq!(held.joy_command(&joy(&[0.0, 1.0], &[0, 0, 0, 0, 0])), None);
    assert_eq!(held.joy_command(&joy(&[0.0, 1.0], &[])), None);
    assert!(held
        .joy_command(&joy(&[0.0, 1.0], &[0, 0, 0, 0, 1]))
        .is_some());
    // Limits clamp large scales.
    let fast = TeleopConfig {
        scale_linear_x: 3.0,
        ..c.clone()
    };
    let cmd = fast.joy_command(&joy(&[0.0, -1.0], &[])).unwrap();
    assert!(close(cmd, [-1.0, 0.0, 0.0]), "{cmd:?}");

    // The G1 remote: left stick up → forward, left stick right → −y, right stick right → −z.
    let r = Remote {
        buttons: Buttons(0),
        lx: 1.0,
        ly: 0.5,
        rx: -1.0,
        ry: 0.0,
        l2: 0.0,
    };
    let cmd = c.remote_command(&Remote::decode(&r.encode()));
    assert!(close(cmd, [0.3, -0.4, 1.0]), "{cmd:?}");

    // Keys accumulate, clamp, stop.
    let mut k = [0.0; 3];
    for ch in "wwwaq".chars() {
        k = c.key_command(k, ch).unwrap();
    }
    assert!(close(k, [0.3, 0.1, 0.2]), "{k:?}");
    for _ in 0..30 {
        k = c.key_command(k, 'W').unwrap();
    }
    assert!(close(k, [1.0, 0.1, 0.2]), "{k:?}");
    assert_eq!(c.key_command(k, 'z'), None);
    assert!(close(c.key_command(k, ' ').unwrap(), [0.0; 3]));
}

#[test]
fn recorder_topics_are_checked() {
    assert_eq!(
        parse_topic("/joint_states").unwrap().1,
        "sensor_msgs/msg/JointState"
    );
    assert_eq!(
        parse_topic("/my_twist:geometry_msgs/msg/Twist").unwrap(),
        ("/my_twist".into(), "geometry_msgs/msg/Twist".into())
    );
    let e = parse_topic("/unknown").unwrap_err();
    assert!(e.contains("/unknown:pkg/msg/Type"), "{e}");
    let e = parse_topic("/x:std_msgs/msg/Float64").unwrap_err();
    assert!(e.contains("not a message type"), "{e}");
    assert!(parse_topic("relative:geometry_msgs/msg/Twist").is_err());
}

#[test]
fn keyboard_teleop_executable_publishes_cmd_vel() {
    let dds = common::dds(120, 9);
    let mut ros = common::ros(&dds, "listener", "--ros-args");
    let sub = ros
        .subscription::<Twist>("/cmd_vel", QosPreset::Command)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_g1_teleop_key"))
        .args(["--ros-args", "-p", "rate_hz:=50.0"])
        .env("ROS_DOMAIN_ID", dds.env.domain_id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"wwd\n").unwrap();
    stdin.flush().unwrap();
    let want = [0.2, -0.1, 0.0];
    let t0 = Instant::now();
    let mut last = None;
    while t0.elapsed() < Duration::from_secs(30) {
        if let Some(t) = take_all(&sub).0.pop() {
            last = Some([t.linear.x, t.linear.y, t.angular.z]);
            if close(last.unwrap(), want) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Space stops.
    stdin.write_all(b" ").unwrap();
    stdin.flush().unwrap();
    let mut stopped = false;
    let t1 = Instant::now();
    while t1.elapsed() < Duration::from_secs(10) && close(last.unwrap_or(want), want) {
        if let Some(t) = take_all(&sub).0.pop() {
            stopped = close([t.linear.x, t.linear.y, t.angular.z], [0.0; 3]);
            if stopped {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().ok();
    child.wait().ok();
    assert!(
        last.is_some_and(|l| close(l, want)),
        "cmd_vel from the keys `wwd`: {last:?}, want {want:?}"
    );
    assert!(stopped, "space did not stop the command");
}

#[test]
fn recorder_bag_of_a_joy_session_reads_back_in_python() {
    let dir = std::env::temp_dir().join(format!("g1d_recorder_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let dds = common::dds(130, 9);
    let mut pad = common::ros(&dds, "joy_node", "--ros-args");
    let joy_pub = pad.publisher::<Joy>("/joy", QosPreset::Sensor).unwrap();
    let mut teleop = TeleopNode::new(
        common::ros(
            &dds,
            "g1_teleop",
            "--ros-args -p source:=joy -p enable_button:=4",
        ),
        "g1_teleop",
    )
    .unwrap();
    let mut rec = RecorderNode::new(common::ros(
        &dds,
        "g1_recorder",
        &format!(
            "--ros-args -p output:={} -p topics:=[/cmd_vel,/joy]",
            dir.display()
        ),
    ))
    .unwrap();
    // Let discovery settle before the session starts.
    std::thread::sleep(Duration::from_millis(1500));
    let (mut t, mut published) = (0.0, 0u64);
    while t < 2.0 {
        // Button 4 held for the first second with the left stick up; then released.
        let held = i32::from(t < 1.0);
        joy_pub
            .publish(joy(&[0.0, 1.0, 0.0, 0.0], &[0, 0, 0, 0, held]))
            .unwrap();
        published += 1;
        std::thread::sleep(Duration::from_millis(20));
        teleop.step(t).unwrap();
        rec.step(t).unwrap();
        t += 0.02;
    }
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(20));
        rec.step(t).unwrap();
    }
    assert_eq!(teleop.command(), None, "released: no command");
    let recorded = rec.messages;
    rec.finish().unwrap();
    assert!(
        recorded > published / 2,
        "{recorded} messages recorded of {published} Joy + teleop"
    );
    let v = g1_testkit::python_bag_report(&dir);
    let count = |reader: &str, topic: &str| v[reader][topic].as_u64().unwrap_or(0);
    for reader in ["rosbags", "mcap"] {
        assert_eq!(
            count(reader, "/cmd_vel") + count(reader, "/joy"),
            recorded,
            "{reader}: {v}"
        );
        assert!(
            count(reader, "/joy") > 0 && count(reader, "/cmd_vel") > 0,
            "{v}"
        );
    }
    // The first teleop command: full forward (0.6 m/s), and the last one after release: zero.
    let first = &v["samples"]["/cmd_vel"];
    assert!(
        (first["linear"]["x"].as_f64().unwrap() - 0.6).abs() < 1e-9,
        "{first}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
