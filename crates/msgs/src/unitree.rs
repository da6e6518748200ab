//! `unitree_hg` messages (G1 low-level protocol), field order = wire order. The DDS type names
//! are `unitree_hg::msg::dds_::LowCmd_` etc., the ROS 2 mapping of `unitree_hg/msg/LowCmd`.

use crate::ros_message;

/// Motor slots in LowCmd/LowState (the G1 uses the first 29).
pub const NUM_MOTOR_SLOTS: usize = 35;

ros_message! {
    #[derive(Default, Copy)]
    pub struct MotorCmd = "unitree_hg/msg/MotorCmd" uses [] {
        pub mode: u8,
        pub q: f32,
        pub dq: f32,
        pub tau: f32,
        pub kp: f32,
        pub kd: f32,
        pub reserve: u32,
    }
    definition = "uint8 mode\nfloat32 q\nfloat32 dq\nfloat32 tau\nfloat32 kp\nfloat32 kd\nuint32 reserve\n";
}

ros_message! {
    pub struct LowCmd = "unitree_hg/msg/LowCmd" uses [MotorCmd] {
        pub mode_pr: u8,
        pub mode_machine: u8,
        #[serde(with = "serde_big_array::BigArray")]
        pub motor_cmd: [MotorCmd; NUM_MOTOR_SLOTS],
        pub reserve: [u32; 4],
        pub crc: u32,
    }
    definition = "uint8 mode_pr\nuint8 mode_machine\nMotorCmd[35] motor_cmd\nuint32[4] reserve\nuint32 crc\n";
}

impl Default for LowCmd {
    fn default() -> Self {
        Self {
            mode_pr: 0,
            mode_machine: 0,
            motor_cmd: [MotorCmd::default(); NUM_MOTOR_SLOTS],
            reserve: [0; 4],
            crc: 0,
        }
    }
}

ros_message! {
    #[derive(Default, Copy)]
    pub struct IMUState = "unitree_hg/msg/IMUState" uses [] {
        pub quaternion: [f32; 4],
        pub gyroscope: [f32; 3],
        pub accelerometer: [f32; 3],
        pub rpy: [f32; 3],
        pub temperature: i16,
    }
    definition = "float32[4] quaternion\nfloat32[3] gyroscope\nfloat32[3] accelerometer\nfloat32[3] rpy\nint16 temperature\n";
}

ros_message! {
    #[derive(Default, Copy)]
    pub struct MotorState = "unitree_hg/msg/MotorState" uses [] {
        pub mode: u8,
        pub q: f32,
        pub dq: f32,
        pub ddq: f32,
        pub tau_est: f32,
        pub temperature: [i16; 2],
        pub vol: f32,
        pub sensor: [u32; 2],
        pub motorstate: u32,
        pub reserve: [u32; 4],
    }
    definition = "uint8 mode\nfloat32 q\nfloat32 dq\nfloat32 ddq\nfloat32 tau_est\nint16[2] temperature\nfloat32 vol\nuint32[2] sensor\nuint32 motorstate\nuint32[4] reserve\n";
}

ros_message! {
    pub struct LowState = "unitree_hg/msg/LowState" uses [IMUState, MotorState] {
        pub version: [u32; 2],
        pub mode_pr: u8,
        pub mode_machine: u8,
        pub tick: u32,
        pub imu_state: IMUState,
        #[serde(with = "serde_big_array::BigArray")]
        pub motor_state: [MotorState; NUM_MOTOR_SLOTS],
        #[serde(with = "serde_big_array::BigArray")]
        pub wireless_remote: [u8; 40],
        pub reserve: [u32; 4],
        pub crc: u32,
    }
    definition = "uint32[2] version\nuint8 mode_pr\nuint8 mode_machine\nuint32 tick\nIMUState imu_state\nMotorState[35] motor_state\nuint8[40] wireless_remote\nuint32[4] reserve\nuint32 crc\n";
}

impl Default for LowState {
    fn default() -> Self {
        Self {
            version: [0; 2],
            mode_pr: 0,
            mode_machine: 0,
            tick: 0,
            imu_state: IMUState::default(),
            motor_state: [MotorState::default(); NUM_MOTOR_SLOTS],
            wireless_remote: [0; 40],
            reserve: [0; 4],
            crc: 0,
        }
    }
}
