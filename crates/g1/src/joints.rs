//! The G1 joint table: one row per actuated joint, keyed by [`Joint`].
//!
//! Order = MJCF joint order = Unitree SDK motor index = LAFAN1 CSV column order.
//! Values are checked against the MJCF when the simulator loads the model
//! (`g1_sim::Sim::new`), so a drifting model file is a start-up error, not a silent bug.

// Limits are the MJCF literals (e.g. 0.5236), not approximations of π fractions.
#![allow(clippy::approx_constant)]

use std::f64::consts::PI;
use std::fmt;

/// Number of actuated joints of the 29-DoF G1.
pub const NUM_JOINTS: usize = 29;

/// Actuated joints in SDK / MJCF order (`Joint as usize` is the SDK motor index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Joint {
    LeftHipPitch = 0,
    LeftHipRoll,
    LeftHipYaw,
    LeftKnee,
    LeftAnklePitch,
    LeftAnkleRoll,
    RightHipPitch,
    RightHipRoll,
    RightHipYaw,
    RightKnee,
    RightAnklePitch,
    RightAnkleRoll,
    WaistYaw,
    WaistRoll,
    WaistPitch,
    LeftShoulderPitch,
    LeftShoulderRoll,
    LeftShoulderYaw,
    LeftElbow,
    LeftWristRoll,
    LeftWristPitch,
    LeftWristYaw,
    RightShoulderPitch,
    RightShoulderRoll,
    RightShoulderYaw,
    RightElbow,
    RightWristRoll,
    RightWristPitch,
    RightWristYaw,
}

/// Motor class of a joint: determines reflected inertia (armature) and the default gains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MotorClass {
    /// 7520-14: hip pitch, hip yaw, waist yaw.
    M7520_14,
    /// 7520-22: hip roll, knee.
    M7520_22,
    /// 5020: shoulders, elbow, wrist roll.
    M5020,
    /// 4010: wrist pitch, wrist yaw.
    M4010,
    /// Two 5020 through a linkage: waist roll/pitch, ankles.
    Dual5020,
}

/// Natural frequency of the default joint PD (mjlab / BeyondMimic convention): 10 Hz.
pub const PD_NATURAL_FREQ_HZ: f64 = 10.0;
/// Damping ratio of the default joint PD.
pub const PD_DAMPING_RATIO: f64 = 2.0;

impl MotorClass {
    /// Reflected rotor inertia (kg·m²), as in the Menagerie / mjlab G1 model.
    pub const fn armature(self) -> f64 {
        match self {
            MotorClass::M7520_14 => 0.010_177_520_04,
            MotorClass::M7520_22 => 0.025_101_925,
            MotorClass::M5020 => 0.003_609_725,
            MotorClass::M4010 => 0.004_25,
            MotorClass::Dual5020 => 0.007_219_45,
        }
    }
    /// Peak effort (N·m).
    pub const fn effort_limit_nm(self) -> f64 {
        match self {
            MotorClass::M7520_14 => 88.0,
            MotorClass::M7520_22 => 139.0,
            MotorClass::M5020 => 25.0,
            MotorClass::M4010 => 5.0,
            MotorClass::Dual5020 => 50.0,
        }
    }
    /// Default stiffness kp = armature · ω² (N·m/rad), ω = 2π·10 Hz.
    pub fn kp(self) -> f64 {
        let w = 2.0 * PI * PD_NATURAL_FREQ_HZ;
        self.armature() * w * w
    }
    /// Default damping kd = 2ζ · armature · ω (N·m·s/rad).
    pub fn kd(self) -> f64 {
        let w = 2.0 * PI * PD_NATURAL_FREQ_HZ;
        2.0 * PD_DAMPING_RATIO * self.armature() * w
    }
}

/// Rotation axis of a hinge joint in its body frame (all G1 axes are principal axes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    X,
    Y,
    Z,
}

impl Axis {
    pub const fn unit(self) -> [f64; 3] {
        match self {
            Axis::X => [1.0, 0.0, 0.0],
            Axis::Y => [0.0, 1.0, 0.0],
            Axis::Z => [0.0, 0.0, 1.0],
        }
    }
}

/// One row of the joint table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointInfo {
    pub joint: Joint,
    /// Name without the `_joint` suffix used in model files.
    pub name: &'static str,
    pub motor: MotorClass,
    pub axis: Axis,
    /// Position limits (rad), from the MJCF.
    pub pos_limits_rad: [f64; 2],
    /// Default standing pose (rad): the `default_joint_pos` of the shipped mjlab policies.
    pub default_pos_rad: f64,
}

impl JointInfo {
    /// The MJCF / URDF joint name (`<name>_joint`).
    pub fn model_name(&self) -> String {
        format!("{}_joint", self.name)
    }
    pub fn kp(&self) -> f64 {
        self.motor.kp()
    }
    pub fn kd(&self) -> f64 {
        self.motor.kd()
    }
    pub fn armature(&self) -> f64 {
        self.motor.armature()
    }
    pub fn effort_limit_nm(&self) -> f64 {
        self.motor.effort_limit_nm()
    }
    /// Normalised-action scale of the project's action convention (the mjlab one, shared by
    /// the shipped mjlab policies): `q_target = default_pos_rad + action_scale * a`, with
    /// `action_scale = 0.25 * effort_limit / kp`.
    pub fn action_scale(&self) -> f64 {
        0.25 * self.effort_limit_nm() / self.kp()
    }
}

macro_rules! row {
    ($j:ident, $name:literal, $motor:ident, $axis:ident, $lo:expr, $hi:expr, $def:expr) => {
        JointInfo {
            joint: Joint::$j,
            name: $name,
            motor: MotorClass::$motor,
            axis: Axis::$axis,
            pos_limits_rad: [$lo, $hi],
            default_pos_rad: $def,
        }
    };
}

/// The joint table, indexed by SDK motor index.
pub const JOINTS: [JointInfo; NUM_JOINTS] = [
    row!(
        LeftHipPitch,
        "left_hip_pitch",
        M7520_14,
        Y,
        -2.5307,
        2.8798,
        -0.1
    ),
    row!(
        LeftHipRoll,
        "left_hip_roll",
        M7520_22,
        X,
        -0.5236,
        2.9671,
        0.0
    ),
    row!(
        LeftHipYaw,
        "left_hip_yaw",
        M7520_14,
        Z,
        -2.7576,
        2.7576,
        0.0
    ),
    row!(LeftKnee, "left_knee", M7520_22, Y, -0.087267, 2.8798, 0.3),
    row!(
        LeftAnklePitch,
        "left_ankle_pitch",
        Dual5020,
        Y,
        -0.87267,
        0.5236,
        -0.2
    ),
    row!(
        LeftAnkleRoll,
        "left_ankle_roll",
        Dual5020,
        X,
        -0.2618,
        0.2618,
        0.0
    ),
    row!(
        RightHipPitch,
        "right_hip_pitch",
        M7520_14,
        Y,
        -2.5307,
        2.8798,
        -0.1
    ),
    row!(
        RightHipRoll,
        "right_hip_roll",
        M7520_22,
        X,
        -2.9671,
        0.5236,
        0.0
    ),
    row!(
        RightHipYaw,
        "right_hip_yaw",
        M7520_14,
        Z,
        -2.7576,
        2.7576,
        0.0
    ),
    row!(RightKnee, "right_knee", M7520_22, Y, -0.087267, 2.8798, 0.3),
    row!(
        RightAnklePitch,
        "right_ankle_pitch",
        Dual5020,
        Y,
        -0.87267,
        0.5236,
        -0.2
    ),
    row!(
        RightAnkleRoll,
        "right_ankle_roll",
        Dual5020,
        X,
        -0.2618,
        0.2618,
        0.0
    ),
    row!(WaistYaw, "waist_yaw", M7520_14, Z, -2.618, 2.618, 0.0),
    row!(WaistRoll, "waist_roll", Dual5020, X, -0.52, 0.52, 0.0),
    row!(WaistPitch, "waist_pitch", Dual5020, Y, -0.52, 0.52, 0.0),
    row!(
        LeftShoulderPitch,
        "left_shoulder_pitch",
        M5020,
        Y,
        -3.0892,
        2.6704,
        0.35
    ),
    row!(
        LeftShoulderRoll,
        "left_shoulder_roll",
        M5020,
        X,
        -1.5882,
        2.2515,
        0.18
    ),
    row!(
        LeftShoulderYaw,
        "left_shoulder_yaw",
        M5020,
        Z,
        -2.618,
        2.618,
        0.0
    ),
    row!(LeftElbow, "left_elbow", M5020, Y, -1.0472, 2.0944, 0.87),
    row!(
        LeftWristRoll,
        "left_wrist_roll",
        M5020,
        X,
        -1.97222,
        1.97222,
        0.0
    ),
    row!(
        LeftWristPitch,
        "left_wrist_pitch",
        M4010,
        Y,
        -1.61443,
        1.61443,
        0.0
    ),
    row!(
        LeftWristYaw,
        "left_wrist_yaw",
        M4010,
        Z,
        -1.61443,
        1.61443,
        0.0
    ),
    row!(
        RightShoulderPitch,
        "right_shoulder_pitch",
        M5020,
        Y,
        -3.0892,
        2.6704,
        0.35
    ),
    row!(
        RightShoulderRoll,
        "right_shoulder_roll",
        M5020,
        X,
        -2.2515,
        1.5882,
        -0.18
    ),
    row!(
        RightShoulderYaw,
        "right_shoulder_yaw",
        M5020,
        Z,
        -2.618,
        2.618,
        0.0
    ),
    row!(RightElbow, "right_elbow", M5020, Y, -1.0472, 2.0944, 0.87),
    row!(
        RightWristRoll,
        "right_wrist_roll",
        M5020,
        X,
        -1.97222,
        1.97222,
        0.0
    ),
    row!(
        RightWristPitch,
        "right_wrist_pitch",
        M4010,
        Y,
        -1.61443,
        1.61443,
        0.0
    ),
    row!(
        RightWristYaw,
        "right_wrist_yaw",
        M4010,
        Z,
        -1.61443,
        1.61443,
        0.0
    ),
];

impl Joint {
    /// All joints in SDK order.
    pub const ALL: [Joint; NUM_JOINTS] = {
        let mut out = [Joint::LeftHipPitch; NUM_JOINTS];
        let mut i = 0;
        while i < NUM_JOINTS {
            out[i] = JOINTS[i].joint;
            i += 1;
        }
        out
    };

    /// SDK motor index = MJCF actuator / joint index (excluding the free joint).
    pub const fn index(self) -> usize {
        self as usize
    }
    pub const fn info(self) -> &'static JointInfo {
        &JOINTS[self as usize]
    }
    pub const fn name(self) -> &'static str {
        JOINTS[self as usize].name
    }
    pub fn from_index(i: usize) -> Option<Joint> {
        JOINTS.get(i).map(|r| r.joint)
    }
    /// Accepts both `left_knee` and `left_knee_joint`.
    pub fn from_name(name: &str) -> Option<Joint> {
        let n = name.strip_suffix("_joint").unwrap_or(name);
        JOINTS.iter().find(|r| r.name == n).map(|r| r.joint)
    }
}

impl fmt::Display for Joint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The default standing pose in SDK order.
pub fn default_pose() -> [f64; NUM_JOINTS] {
    std::array::from_fn(|i| JOINTS[i].default_pos_rad)
}

/// Joint model names (`*_joint`) in SDK order.
pub fn model_names() -> Vec<String> {
    JOINTS.iter().map(|r| r.model_name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_sdk_order() {
        for (i, row) in JOINTS.iter().enumerate() {
            assert_eq!(row.joint as usize, i, "row {i} ({}) out of order", row.name);
            assert_eq!(Joint::from_index(i), Some(row.joint));
            assert_eq!(Joint::from_name(&row.model_name()), Some(row.joint));
        }
        assert_eq!(Joint::from_name("nope"), None);
    }

    #[test]
    fn gains_match_published_values() {
        // G1_FACTS.md table (rounded to 2 decimals there).
        let expect = [
            (MotorClass::M7520_14, 40.18, 2.56),
            (MotorClass::M7520_22, 99.10, 6.31),
            (MotorClass::M5020, 14.25, 0.91),
            (MotorClass::M4010, 16.78, 1.07),
            (MotorClass::Dual5020, 28.50, 1.81),
        ];
        for (m, kp, kd) in expect {
            assert!((m.kp() - kp).abs() < 0.01, "{m:?} kp {} vs {kp}", m.kp());
            assert!((m.kd() - kd).abs() < 0.01, "{m:?} kd {} vs {kd}", m.kd());
        }
    }

    #[test]
    fn default_pose_within_limits() {
        for r in JOINTS {
            assert!(
                r.default_pos_rad >= r.pos_limits_rad[0]
                    && r.default_pos_rad <= r.pos_limits_rad[1]
            );
        }
    }
}
