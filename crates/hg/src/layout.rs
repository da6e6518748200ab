//! The C-struct images of `LowCmd` and `LowState` (natural alignment, zero padding, little
//! endian) that the robot's CRC is computed over. Offsets (G1_FACTS.md):
//!
//! | struct | size | layout |
//! |---|---|---|
//! | `MotorCmd` | 28 | mode u8 @0, q @4, dq @8, tau @12, kp @16, kd @20, reserve @24 |
//! | `LowCmd` | 1004 | mode_pr @0, mode_machine @1, motor_cmd @4 (35 × 28), reserve @984, crc @1000 |
//! | `IMUState` | 56 | quaternion @0, gyroscope @16, accelerometer @28, rpy @40, temperature i16 @52 |
//! | `MotorState` | 56 | mode @0, q @4, dq @8, ddq @12, tau_est @16, temperature i16×2 @20, vol @24, sensor @28, motorstate @36, reserve @40 |
//! | `LowState` | 2092 | version @0, mode_pr @8, mode_machine @9, tick @12, imu_state @16, motor_state @72 (35 × 56), wireless_remote @2032, reserve @2072, crc @2088 |

use g1_msgs::unitree::{IMUState, LowCmd, LowState, MotorCmd, MotorState, NUM_MOTOR_SLOTS};

pub const MOTOR_CMD_SIZE: usize = 28;
pub const LOW_CMD_SIZE: usize = 1004;
pub const IMU_STATE_SIZE: usize = 56;
pub const MOTOR_STATE_SIZE: usize = 56;
pub const LOW_STATE_SIZE: usize = 2092;

/// Little-endian writer at explicit offsets into a zeroed buffer.
struct Image<'a>(&'a mut [u8]);

impl Image<'_> {
    fn u8(&mut self, at: usize, v: u8) {
        self.0[at] = v;
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn i16(&mut self, at: usize, v: i16) {
        self.0[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, at: usize, v: f32) {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn f32s(&mut self, at: usize, v: &[f32]) {
        for (i, x) in v.iter().enumerate() {
            self.f32(at + 4 * i, *x);
        }
    }
    fn u32s(&mut self, at: usize, v: &[u32]) {
        for (i, x) in v.iter().enumerate() {
            self.u32(at + 4 * i, *x);
        }
    }
}

fn motor_cmd(img: &mut Image, at: usize, m: &MotorCmd) {
    img.u8(at, m.mode);
    img.f32s(at + 4, &[m.q, m.dq, m.tau, m.kp, m.kd]);
    img.u32(at + 24, m.reserve);
}

fn imu_state(img: &mut Image, at: usize, s: &IMUState) {
    img.f32s(at, &s.quaternion);
    img.f32s(at + 16, &s.gyroscope);
    img.f32s(at + 28, &s.accelerometer);
    img.f32s(at + 40, &s.rpy);
    img.i16(at + 52, s.temperature);
}

fn motor_state(img: &mut Image, at: usize, m: &MotorState) {
    img.u8(at, m.mode);
    img.f32s(at + 4, &[m.q, m.dq, m.ddq, m.tau_est]);
    img.i16(at + 20, m.temperature[0]);
    img.i16(at + 22, m.temperature[1]);
    img.f32(at + 24, m.vol);
    img.u32s(at + 28, &m.sensor);
    img.u32(at + 36, m.motorstate);
    img.u32s(at + 40, &m.reserve);
}

/// The 1004-byte C image of a `LowCmd` (its `crc` field included, at byte 1000).
pub fn low_cmd_bytes(c: &LowCmd) -> [u8; LOW_CMD_SIZE] {
    let mut buf = [0u8; LOW_CMD_SIZE];
    let mut img = Image(&mut buf);
    img.u8(0, c.mode_pr);
    img.u8(1, c.mode_machine);
    for i in 0..NUM_MOTOR_SLOTS {
        motor_cmd(&mut img, 4 + i * MOTOR_CMD_SIZE, &c.motor_cmd[i]);
    }
    img.u32s(984, &c.reserve);
    img.u32(1000, c.crc);
    buf
}

/// The 2092-byte C image of a `LowState` (its `crc` field included, at byte 2088).
pub fn low_state_bytes(s: &LowState) -> [u8; LOW_STATE_SIZE] {
    let mut buf = [0u8; LOW_STATE_SIZE];
    let mut img = Image(&mut buf);
    img.u32s(0, &s.version);
    img.u8(8, s.mode_pr);
    img.u8(9, s.mode_machine);
    img.u32(12, s.tick);
    imu_state(&mut img, 16, &s.imu_state);
    for i in 0..NUM_MOTOR_SLOTS {
        motor_state(&mut img, 72 + i * MOTOR_STATE_SIZE, &s.motor_state[i]);
    }
    img.0[2032..2072].copy_from_slice(&s.wireless_remote);
    img.u32s(2072, &s.reserve);
    img.u32(2088, s.crc);
    buf
}
