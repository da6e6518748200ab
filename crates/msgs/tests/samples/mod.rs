//! One sample value of every message type, with distinct, awkward values (odd string lengths,
//! empty sequences, negative numbers) so that alignment mistakes change the bytes.

use g1_msgs::builtin_interfaces::{Duration, Time};
use g1_msgs::diagnostic_msgs::*;
use g1_msgs::g1d::*;
use g1_msgs::geometry_msgs::*;
use g1_msgs::nav_msgs::*;
use g1_msgs::rosgraph_msgs::Clock;
use g1_msgs::sensor_msgs::*;
use g1_msgs::std_msgs::*;
use g1_msgs::tf2_msgs::TFMessage;
use g1_msgs::unitree::*;
use g1_msgs::visualization_msgs::*;
use g1_msgs::{to_cdr, Message};

fn header(k: i32) -> Header {
    Header::new(
        Time {
            sec: 1_700_000_000 + k,
            nanosec: 123_456_789,
        },
        if k % 2 == 0 { "odom" } else { "pelvis" },
    )
}
fn pose(k: f64) -> Pose {
    Pose {
        position: Point {
            x: 1.5 + k,
            y: -2.25,
            z: 0.793,
        },
        orientation: Quaternion {
            x: 0.1,
            y: -0.2,
            z: 0.3,
            w: 0.927,
        },
    }
}
fn twist() -> Twist {
    Twist {
        linear: Vector3 {
            x: 0.5,
            y: -0.1,
            z: 0.01,
        },
        angular: Vector3 {
            x: -0.02,
            y: 0.03,
            z: 0.8,
        },
    }
}

/// (type name, CDR bytes) of every sample.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    fn push<T>(out: &mut Vec<(&'static str, Vec<u8>)>, v: T)
    where
        T: Message + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let ours = to_cdr(&v);
        // The serde derive (what DDS publishers use, through `cdr-encoding` as in rustdds)
        // must give the same payload as our encoder, and decode it back to the same value.
        let serde_bytes = cdr_encoding::to_vec::<T, byteorder::LittleEndian>(&v).unwrap();
        assert_eq!(
            serde_bytes,
            ours[4..],
            "{}: serde CDR differs",
            T::TYPE_NAME
        );
        let (back, _) = cdr_encoding::from_bytes::<T, byteorder::LittleEndian>(&ours[4..]).unwrap();
        assert_eq!(back, v, "{}: serde CDR decode", T::TYPE_NAME);
        out.push((T::TYPE_NAME, ours));
    }
    push(
        &mut out,
        Time {
            sec: -3,
            nanosec: 999_999_999,
        },
    );
    push(&mut out, Duration::from_secs_f64(0.0235));
    push(&mut out, header(1));
    push(
        &mut out,
        ColorRGBA {
            r: 0.1,
            g: 0.2,
            b: 0.3,
            a: 1.0,
        },
    );
    push(
        &mut out,
        StringMsg {
            data: "active".into(),
        },
    );
    push(&mut out, Float64 { data: -12.5 });
    push(&mut out, pose(0.0).position);
    push(&mut out, twist().linear);
    push(&mut out, pose(0.0).orientation);
    push(&mut out, pose(1.0));
    push(&mut out, twist());
    push(
        &mut out,
        PoseStamped {
            header: header(2),
            pose: pose(2.0),
        },
    );
    push(
        &mut out,
        TwistStamped {
            header: header(3),
            twist: twist(),
        },
    );
    let tf = Transform {
        translation: twist().angular,
        rotation: pose(0.0).orientation,
    };
    push(&mut out, tf);
    let tfs = TransformStamped {
        header: header(4),
        child_frame_id: "left_ankle_roll_link".into(),
        transform: tf,
    };
    push(&mut out, tfs.clone());
    let mut cov = Vec36::default();
    for i in 0..36 {
        cov.0[i] = i as f64 * 0.5 - 3.0;
    }
    push(
        &mut out,
        PoseWithCovariance {
            pose: pose(3.0),
            covariance: cov,
        },
    );
    push(
        &mut out,
        TwistWithCovariance {
            twist: twist(),
            covariance: cov,
        },
    );
    push(
        &mut out,
        JointState {
            header: header(5),
            name: vec![
                "left_hip_pitch_joint".into(),
                "waist_yaw_joint".into(),
                "".into(),
            ],
            position: vec![0.1, -0.2, 0.3],
            velocity: vec![1.0, 2.0, -3.0],
            effort: vec![],
        },
    );
    push(
        &mut out,
        Imu {
            header: header(6),
            orientation: pose(0.0).orientation,
            orientation_covariance: [0.01; 9],
            angular_velocity: twist().angular,
            angular_velocity_covariance: [-1.0; 9],
            linear_acceleration: Vector3 {
                x: 0.1,
                y: 0.2,
                z: 9.81,
            },
            linear_acceleration_covariance: [0.5; 9],
        },
    );
    push(
        &mut out,
        Joy {
            header: header(7),
            axes: vec![0.5, -1.0, 0.25],
            buttons: vec![0, 1, 0, 0, 1],
        },
    );
    push(
        &mut out,
        CompressedImage {
            header: header(8),
            format: "png".into(),
            data: vec![137, 80, 78, 71, 13],
        },
    );
    push(
        &mut out,
        Odometry {
            header: header(9),
            child_frame_id: "pelvis".into(),
            pose: PoseWithCovariance {
                pose: pose(4.0),
                covariance: cov,
            },
            twist: TwistWithCovariance {
                twist: twist(),
                covariance: Vec36::default(),
            },
        },
    );
    push(
        &mut out,
        Path {
            header: header(10),
            poses: vec![
                PoseStamped {
                    header: header(11),
                    pose: pose(5.0),
                },
                PoseStamped {
                    header: header(12),
                    pose: pose(6.0),
                },
            ],
        },
    );
    let marker = Marker {
        header: header(13),
        ns: "obstacles".into(),
        id: 7,
        r#type: Marker::CYLINDER,
        action: Marker::ADD,
        pose: pose(7.0),
        scale: Vector3 {
            x: 0.6,
            y: 0.6,
            z: 1.5,
        },
        color: ColorRGBA {
            r: 0.9,
            g: 0.2,
            b: 0.1,
            a: 0.8,
        },
        lifetime: Duration::from_secs_f64(1.5),
        frame_locked: true,
        points: vec![pose(0.0).position],
        colors: vec![],
        texture_resource: "".into(),
        texture: CompressedImage::default(),
        uv_coordinates: vec![UVCoordinate { u: 0.5, v: 0.25 }],
        text: "cyl".into(),
        mesh_resource: "package://g1_diffusion/assets/g1/meshes/pelvis.STL".into(),
        mesh_file: MeshFile {
            filename: "x.stl".into(),
            data: vec![1, 2, 3],
        },
        mesh_use_embedded_materials: false,
    };
    push(&mut out, marker.clone());
    push(
        &mut out,
        MarkerArray {
            markers: vec![marker.clone(), marker],
        },
    );
    push(
        &mut out,
        TFMessage {
            transforms: vec![tfs.clone(), tfs],
        },
    );
    push(
        &mut out,
        g1_msgs::rcl_interfaces::Log {
            stamp: Time { sec: 7, nanosec: 9 },
            level: 30,
            name: "g1_bridge".into(),
            msg: "damping → standby".into(),
            file: "nodes/src/bridge_node.rs".into(),
            function: String::new(),
            line: 176,
        },
    );
    push(
        &mut out,
        Clock {
            clock: Time {
                sec: 42,
                nanosec: 5_000_000,
            },
        },
    );
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: v.into(),
    };
    push(&mut out, kv("plan_latency_ms_p50", "6.1"));
    let status = DiagnosticStatus {
        level: DiagnosticStatus::WARN,
        name: "g1_planner: planning".into(),
        message: "disturbed".into(),
        hardware_id: "g1".into(),
        values: vec![kv("gate", "0.25"), kv("surprise_mps", "0.41")],
    };
    push(&mut out, status.clone());
    push(
        &mut out,
        DiagnosticArray {
            header: header(12),
            status: vec![status, DiagnosticStatus::default()],
        },
    );
    let mut cmd = LowCmd {
        mode_pr: 0,
        mode_machine: 5,
        ..Default::default()
    };
    for (i, m) in cmd.motor_cmd.iter_mut().enumerate() {
        *m = MotorCmd {
            mode: (i < 29) as u8,
            q: i as f32 * 0.01,
            dq: -0.5,
            tau: 0.25,
            kp: 40.0 + i as f32,
            kd: 1.5,
            reserve: 0,
        };
    }
    cmd.crc = 0xDEAD_BEEF;
    push(&mut out, cmd.motor_cmd[3]);
    push(&mut out, cmd);
    let imu = IMUState {
        quaternion: [0.99, 0.01, -0.02, 0.03],
        gyroscope: [0.1, 0.2, 0.3],
        accelerometer: [0.0, 0.1, 9.8],
        rpy: [0.01, -0.02, 1.57],
        temperature: -7,
    };
    push(&mut out, imu);
    let mut st = LowState {
        version: [1, 2],
        mode_pr: 0,
        mode_machine: 5,
        tick: 123_456,
        imu_state: imu,
        ..Default::default()
    };
    for (i, m) in st.motor_state.iter_mut().enumerate() {
        m.mode = 1;
        m.q = -(i as f32) * 0.02;
        m.dq = 0.3;
        m.ddq = -0.1;
        m.tau_est = 2.5;
        m.temperature = [30 + i as i16, 31];
        m.vol = 24.5;
        m.sensor = [7, 8];
        m.motorstate = i as u32;
    }
    st.wireless_remote[2] = 0x21;
    st.crc = 0x0102_0304;
    push(&mut out, st.motor_state[28]);
    push(&mut out, st);
    push(
        &mut out,
        BodyPosState {
            header: header(14),
            layout_version: 1,
            state: (0..192).map(|i| i as f32 * 0.125 - 7.0).collect(),
            root_pose: pose(8.0),
            root_twist: twist(),
        },
    );
    push(
        &mut out,
        JointTargets {
            header: header(15),
            policy_id: "velocity_mjlab".into(),
            action: (0..29).map(|i| i as f32 * 0.1 - 1.0).collect(),
            q_target: (0..29).map(|i| i as f64 * 0.05).collect(),
            kp: vec![40.2; 29],
            kd: vec![2.6; 29],
        },
    );
    push(
        &mut out,
        PlannedTrajectory {
            header: header(16),
            layout_version: 1,
            state_dim: 2,
            action_dim: 3,
            state_times: vec![0.02, 0.04],
            states: vec![1.0, 2.0, 3.0, 4.0],
            action_times: vec![0.0, 0.02],
            actions: vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            compute_time: Duration::from_secs_f64(0.0187),
        },
    );
    push(
        &mut out,
        TaskGoal {
            header: header(17),
            task: TaskGoal::TASK_WAYPOINT,
            velocity: twist(),
            waypoint: Point {
                x: 4.0,
                y: 0.5,
                z: 0.0,
            },
            weight: 0.1,
            avoid_obstacles: true,
        },
    );
    let obstacle = Obstacle {
        shape: Obstacle::BOX,
        pose: pose(9.0),
        dimensions: Vector3 {
            x: 0.2,
            y: 0.3,
            z: 0.5,
        },
    };
    push(&mut out, obstacle.clone());
    push(
        &mut out,
        ObstacleArray {
            header: header(18),
            obstacles: vec![obstacle],
        },
    );
    push(
        &mut out,
        EpisodeEvent {
            header: header(19),
            event: EpisodeEvent::END,
            episode: 12,
            policy_id: "mimic_dance1_subject2_mjlab".into(),
            seed: u64::MAX - 5,
            fell: true,
            steps: 777,
            parameters: "friction_scale: 0.8\n".into(),
        },
    );
    out
}
