//! The bridge in a secured suite, on the real robot's terms: the G1's firmware speaks plain
//! DDS, so with `robot_link_security: false` the `g1_bridge` executable (secured through
//! `ROS_SECURITY_*`) keeps rt/lowstate and rt/lowcmd on an unsecured participant of their own
//! while everything it publishes for the suite stays secured. A plain "robot" gets its LowCmds;
//! a credentialed monitor reads /joint_states; a plain snooper reads nothing of them.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use g1_hg::{check_low_cmd, sign_low_state};
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Dds, QosPreset};
use g1_ros::security::{create_enclave, create_keystore, Permissions};
use g1_ros::{DdsEnv, DiscoveryRange, SecurityEnv};

#[test]
fn secured_bridge_talks_to_a_plain_robot_and_keeps_the_suite_secured() {
    let ks = std::env::temp_dir().join(format!("g1-secbridge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ks);
    create_keystore(&ks).unwrap();
    create_enclave(&ks, "/g1_diffusion", &Permissions::default()).unwrap();
    create_enclave(&ks, "/monitor", &Permissions::default()).unwrap();
    let domain = g1_testkit::test_domain(70 + std::process::id() % 30);
    let mut bridge = Command::new(env!("CARGO_BIN_EXE_g1_bridge"))
        .args(["--ros-args", "-p", "robot_link_security:=false"])
        .env("ROS_DOMAIN_ID", domain.to_string())
        .env("ROS_SECURITY_ENABLE", "true")
        .env("ROS_SECURITY_STRATEGY", "Enforce")
        .env("ROS_SECURITY_KEYSTORE", &ks)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let monitor_security = SecurityEnv::enforce(&ks, "/monitor").unwrap();
    let env = DdsEnv {
        domain_id: domain,
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
        ..Default::default()
    };
    let mut robot = common::ros(&Dds::open(&env, None).unwrap(), "robot", "--ros-args");
    let state_pub = robot
        .publisher::<LowState>("/lowstate", QosPreset::Sensor)
        .unwrap();
    let cmd_sub = robot
        .subscription::<LowCmd>("/lowcmd", QosPreset::Command)
        .unwrap();
    let mut monitor = common::ros(
        &Dds::open(&env, Some(&monitor_security)).unwrap(),
        "monitor",
        "--ros-args",
    );
    let monitor_joints = monitor
        .subscription::<JointState>("/joint_states", QosPreset::Sensor)
        .unwrap();
    let mut snoop = common::ros(&Dds::open(&env, None).unwrap(), "snoop", "--ros-args");
    let snoop_joints = snoop
        .subscription::<JointState>("/joint_states", QosPreset::Sensor)
        .unwrap();
    let (mut cmds, mut monitored, mut snooped) = (Vec::new(), 0, 0);
    let t0 = Instant::now();
    let mut tick = 0u32;
    while t0.elapsed() < Duration::from_secs(12) {
        tick += 1;
        let mut s = LowState {
            tick,
            mode_machine: 3,
            ..Default::default()
        };
        s.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0];
        sign_low_state(&mut s);
        state_pub.publish(s).unwrap();
        cmds.extend(take_all(&cmd_sub).0);
        monitored += take_all(&monitor_joints).0.len();
        snooped += take_all(&snoop_joints).0.len();
        std::thread::sleep(Duration::from_millis(4));
    }
    bridge.kill().unwrap();
    let out = bridge.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("robot link (rt/lowstate, rt/lowcmd) on plain DDS"),
        "{log}"
    );
    assert!(
        cmds.len() > 100,
        "the plain robot got {} LowCmds\n{log}",
        cmds.len()
    );
    for c in &cmds {
        check_low_cmd(c).expect("signed");
    }
    assert!(
        monitored > 100,
        "the secured monitor read {monitored} joint states\n{log}"
    );
    assert_eq!(
        snooped, 0,
        "a plain participant read the suite's /joint_states"
    );
    std::fs::remove_dir_all(&ks).ok();
}
