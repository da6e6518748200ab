//! The 30 rigid bodies of the G1 (pelvis + one per actuated joint) and their kinematic tree.
//!
//! Offsets are those MuJoCo compiles from `assets/g1/mjcf/g1_mjx.xml` (quaternions normalised,
//! `w, x, y, z`). Body `i >= 1` carries joint `i - 1`; the pelvis carries the free joint.
//! `g1_sim` compares this table with the compiled model at start-up (tolerance 1e-9).

use crate::joints::Joint;

/// Number of bodies in the Body-Pos state.
pub const NUM_BODIES: usize = 30;

/// Bodies in MJCF order (`Body as usize` is the MuJoCo body id minus one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Body {
    Pelvis,
    LeftHipPitch,
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
    Torso,
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

/// One row of the body table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyInfo {
    pub body: Body,
    /// MJCF / URDF link name.
    pub name: &'static str,
    pub parent: Option<Body>,
    /// The hinge joint between `parent` and this body (`None` for the floating pelvis).
    pub joint: Option<Joint>,
    /// Body frame origin in the parent frame (m), at zero joint angle.
    pub pos_in_parent: [f64; 3],
    /// Body frame orientation in the parent frame (`w, x, y, z`), at zero joint angle.
    pub quat_in_parent: [f64; 4],
}

/// The body table in MJCF order; parents always come before children.
pub const BODIES: [BodyInfo; NUM_BODIES] = [
    BodyInfo {
        body: Body::Pelvis,
        name: "pelvis",
        parent: None,
        joint: None,
        pos_in_parent: [0.0, 0.0, 0.793],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftHipPitch,
        name: "left_hip_pitch_link",
        parent: Some(Body::Pelvis),
        joint: Some(Joint::LeftHipPitch),
        pos_in_parent: [0.0, 0.064452, -0.1027],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftHipRoll,
        name: "left_hip_roll_link",
        parent: Some(Body::LeftHipPitch),
        joint: Some(Joint::LeftHipRoll),
        pos_in_parent: [0.0, 0.052, -0.030465],
        quat_in_parent: [0.996178685660368, 0.0, -0.08733857244071258, 0.0],
    },
    BodyInfo {
        body: Body::LeftHipYaw,
        name: "left_hip_yaw_link",
        parent: Some(Body::LeftHipRoll),
        joint: Some(Joint::LeftHipYaw),
        pos_in_parent: [0.025001, 0.0, -0.12412],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftKnee,
        name: "left_knee_link",
        parent: Some(Body::LeftHipYaw),
        joint: Some(Joint::LeftKnee),
        pos_in_parent: [-0.078273, 0.0021489, -0.17734],
        quat_in_parent: [0.996178685660368, 0.0, 0.08733857244071258, 0.0],
    },
    BodyInfo {
        body: Body::LeftAnklePitch,
        name: "left_ankle_pitch_link",
        parent: Some(Body::LeftKnee),
        joint: Some(Joint::LeftAnklePitch),
        pos_in_parent: [0.0, -9.4445e-05, -0.30001],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftAnkleRoll,
        name: "left_ankle_roll_link",
        parent: Some(Body::LeftAnklePitch),
        joint: Some(Joint::LeftAnkleRoll),
        pos_in_parent: [0.0, 0.0, -0.017558],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightHipPitch,
        name: "right_hip_pitch_link",
        parent: Some(Body::Pelvis),
        joint: Some(Joint::RightHipPitch),
        pos_in_parent: [0.0, -0.064452, -0.1027],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightHipRoll,
        name: "right_hip_roll_link",
        parent: Some(Body::RightHipPitch),
        joint: Some(Joint::RightHipRoll),
        pos_in_parent: [0.0, -0.052, -0.030465],
        quat_in_parent: [0.996178685660368, 0.0, -0.08733857244071258, 0.0],
    },
    BodyInfo {
        body: Body::RightHipYaw,
        name: "right_hip_yaw_link",
        parent: Some(Body::RightHipRoll),
        joint: Some(Joint::RightHipYaw),
        pos_in_parent: [0.025001, 0.0, -0.12412],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightKnee,
        name: "right_knee_link",
        parent: Some(Body::RightHipYaw),
        joint: Some(Joint::RightKnee),
        pos_in_parent: [-0.078273, -0.0021489, -0.17734],
        quat_in_parent: [0.996178685660368, 0.0, 0.08733857244071258, 0.0],
    },
    BodyInfo {
        body: Body::RightAnklePitch,
        name: "right_ankle_pitch_link",
        parent: Some(Body::RightKnee),
        joint: Some(Joint::RightAnklePitch),
        pos_in_parent: [0.0, 9.4445e-05, -0.30001],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightAnkleRoll,
        name: "right_ankle_roll_link",
        parent: Some(Body::RightAnklePitch),
        joint: Some(Joint::RightAnkleRoll),
        pos_in_parent: [0.0, 0.0, -0.017558],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::WaistYaw,
        name: "waist_yaw_link",
        parent: Some(Body::Pelvis),
        joint: Some(Joint::WaistYaw),
        pos_in_parent: [0.0, 0.0, 0.0],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::WaistRoll,
        name: "waist_roll_link",
        parent: Some(Body::WaistYaw),
        joint: Some(Joint::WaistRoll),
        pos_in_parent: [-0.0039635, 0.0, 0.044],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::Torso,
        name: "torso_link",
        parent: Some(Body::WaistRoll),
        joint: Some(Joint::WaistPitch),
        pos_in_parent: [0.0, 0.0, 0.0],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftShoulderPitch,
        name: "left_shoulder_pitch_link",
        parent: Some(Body::Torso),
        joint: Some(Joint::LeftShoulderPitch),
        pos_in_parent: [0.0039563, 0.10022, 0.24778],
        quat_in_parent: [
            0.9902641396131312,
            0.13920101962535997,
            1.387220195578278e-05,
            -9.868681391343435e-05,
        ],
    },
    BodyInfo {
        body: Body::LeftShoulderRoll,
        name: "left_shoulder_roll_link",
        parent: Some(Body::LeftShoulderPitch),
        joint: Some(Joint::LeftShoulderRoll),
        pos_in_parent: [0.0, 0.038, -0.013831],
        quat_in_parent: [0.9902682191424201, -0.13917203079821713, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftShoulderYaw,
        name: "left_shoulder_yaw_link",
        parent: Some(Body::LeftShoulderRoll),
        joint: Some(Joint::LeftShoulderYaw),
        pos_in_parent: [0.0, 0.00624, -0.1032],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftElbow,
        name: "left_elbow_link",
        parent: Some(Body::LeftShoulderYaw),
        joint: Some(Joint::LeftElbow),
        pos_in_parent: [0.015783, 0.0, -0.080518],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftWristRoll,
        name: "left_wrist_roll_link",
        parent: Some(Body::LeftElbow),
        joint: Some(Joint::LeftWristRoll),
        pos_in_parent: [0.1, 0.00188791, -0.01],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftWristPitch,
        name: "left_wrist_pitch_link",
        parent: Some(Body::LeftWristRoll),
        joint: Some(Joint::LeftWristPitch),
        pos_in_parent: [0.038, 0.0, 0.0],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::LeftWristYaw,
        name: "left_wrist_yaw_link",
        parent: Some(Body::LeftWristPitch),
        joint: Some(Joint::LeftWristYaw),
        pos_in_parent: [0.046, 0.0, 0.0],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightShoulderPitch,
        name: "right_shoulder_pitch_link",
        parent: Some(Body::Torso),
        joint: Some(Joint::RightShoulderPitch),
        pos_in_parent: [0.0039563, -0.10021, 0.24778],
        quat_in_parent: [
            0.9902641396131312,
            -0.13920101962535997,
            1.387220195578278e-05,
            9.868681391343435e-05,
        ],
    },
    BodyInfo {
        body: Body::RightShoulderRoll,
        name: "right_shoulder_roll_link",
        parent: Some(Body::RightShoulderPitch),
        joint: Some(Joint::RightShoulderRoll),
        pos_in_parent: [0.0, -0.038, -0.013831],
        quat_in_parent: [0.9902682191424201, 0.13917203079821713, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightShoulderYaw,
        name: "right_shoulder_yaw_link",
        parent: Some(Body::RightShoulderRoll),
        joint: Some(Joint::RightShoulderYaw),
        pos_in_parent: [0.0, -0.00624, -0.1032],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightElbow,
        name: "right_elbow_link",
        parent: Some(Body::RightShoulderYaw),
        joint: Some(Joint::RightElbow),
        pos_in_parent: [0.015783, 0.0, -0.080518],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightWristRoll,
        name: "right_wrist_roll_link",
        parent: Some(Body::RightElbow),
        joint: Some(Joint::RightWristRoll),
        pos_in_parent: [0.1, -0.00188791, -0.01],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightWristPitch,
        name: "right_wrist_pitch_link",
        parent: Some(Body::RightWristRoll),
        joint: Some(Joint::RightWristPitch),
        pos_in_parent: [0.038, 0.0, 0.0],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
    BodyInfo {
        body: Body::RightWristYaw,
        name: "right_wrist_yaw_link",
        parent: Some(Body::RightWristPitch),
        joint: Some(Joint::RightWristYaw),
        pos_in_parent: [0.046, 0.0, 0.0],
        quat_in_parent: [1.0, 0.0, 0.0, 0.0],
    },
];

impl Body {
    pub const fn index(self) -> usize {
        self as usize
    }
    pub const fn info(self) -> &'static BodyInfo {
        &BODIES[self as usize]
    }
    pub const fn name(self) -> &'static str {
        BODIES[self as usize].name
    }
    pub fn from_index(i: usize) -> Option<Body> {
        BODIES.get(i).map(|r| r.body)
    }
    pub fn from_name(name: &str) -> Option<Body> {
        BODIES.iter().find(|r| r.name == name).map(|r| r.body)
    }
    /// The body moved by `joint`.
    pub fn of_joint(joint: Joint) -> Body {
        BODIES[joint.index() + 1].body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_is_topologically_ordered_and_joint_aligned() {
        for (i, row) in BODIES.iter().enumerate() {
            assert_eq!(row.body as usize, i);
            if let Some(p) = row.parent {
                assert!((p as usize) < i, "{} before its parent", row.name);
            }
            match row.joint {
                None => assert_eq!(i, 0),
                Some(j) => assert_eq!(j.index() + 1, i, "{}", row.name),
            }
            let q = row.quat_in_parent;
            let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
            assert!((n - 1.0).abs() < 1e-9);
        }
        assert_eq!(Body::from_name("torso_link"), Some(Body::Torso));
    }
}
