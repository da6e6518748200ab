//! The state representations a model can be trained on ([`StateLayout`]).
//!
//! Both share the **global part** (indices `0..12`: root position, orientation, linear and
//! angular velocity relative to a reference character frame; see [`crate::bodypos`]), so the
//! root costs of guidance (joystick, yaw rate, waypoint) and re-expressing a window in another
//! step's frame work on either. They differ in the **local part**:
//!
//! - [`StateLayout::BodyPos`] (the method's representation, [`crate::bodypos`]): positions and
//!   linear velocities of the 30 bodies in each step's own character frame (192 numbers);
//! - [`StateLayout::JointSpace`] (the baseline of the method's state-representation ablation):
//!   the 29 joint positions (rad, SDK order) at `12..41` and joint velocities (rad/s) at
//!   `41..70` (70 numbers). Obstacle costs need body positions and refuse it.

use std::ops::Range;

use nalgebra::{UnitQuaternion, Vector3};
use serde::{Deserialize, Serialize};

use crate::bodypos::{layout, CharacterFrame};
use crate::joints::{JOINTS, NUM_JOINTS};
use crate::mirror::JointMirror;

/// The shared global part of every layout.
pub const GLOBAL: Range<usize> = 0..12;
/// Version of the joint-space layout (stored in datasets and manifests beside its name).
pub const JOINT_SPACE_VERSION: u32 = 1;
/// 12 global + 29 joint positions + 29 joint velocities.
pub const JOINT_SPACE_DIM: usize = 12 + 2 * NUM_JOINTS;
/// Joint positions (rad) in the joint-space layout.
pub const JOINT_POS: Range<usize> = 12..12 + NUM_JOINTS;
/// Joint velocities (rad/s) in the joint-space layout.
pub const JOINT_VEL: Range<usize> = 12 + NUM_JOINTS..JOINT_SPACE_DIM;

/// Which state representation a dataset or model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateLayout {
    #[default]
    BodyPos,
    JointSpace,
}

impl std::str::FromStr for StateLayout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "body_pos" | "body-pos" => Ok(Self::BodyPos),
            "joint_space" | "joint-space" => Ok(Self::JointSpace),
            _ => Err(format!(
                "unknown state layout `{s}` (body-pos or joint-space)"
            )),
        }
    }
}

impl std::fmt::Display for StateLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl StateLayout {
    /// `body_pos` or `joint_space` (as datasets and manifests store it).
    pub fn name(self) -> &'static str {
        match self {
            Self::BodyPos => "body_pos",
            Self::JointSpace => "joint_space",
        }
    }

    /// Numbers per state.
    pub fn dim(self) -> usize {
        match self {
            Self::BodyPos => crate::STATE_DIM,
            Self::JointSpace => JOINT_SPACE_DIM,
        }
    }

    /// The layout's version (bumped when the meaning of an index changes).
    pub fn version(self) -> u32 {
        match self {
            Self::BodyPos => crate::LAYOUT_VERSION,
            Self::JointSpace => JOINT_SPACE_VERSION,
        }
    }

    /// Human-readable name of each index.
    pub fn names(self) -> Vec<String> {
        let mut n = layout::names();
        match self {
            Self::BodyPos => n,
            Self::JointSpace => {
                n.truncate(GLOBAL.end);
                for part in ["joint_pos", "joint_vel"] {
                    n.extend(JOINTS.iter().map(|j| format!("{part}.{}", j.name)));
                }
                n
            }
        }
    }

    /// The state in this layout from a Body-Pos state (any reference frame) and the joint
    /// positions and velocities of the same step.
    pub fn from_body_pos(
        self,
        body_pos: &[f64],
        q: &[f64; NUM_JOINTS],
        dq: &[f64; NUM_JOINTS],
    ) -> Vec<f64> {
        match self {
            Self::BodyPos => body_pos.to_vec(),
            Self::JointSpace => {
                let mut s = Vec::with_capacity(JOINT_SPACE_DIM);
                s.extend_from_slice(&body_pos[GLOBAL]);
                s.extend_from_slice(q);
                s.extend_from_slice(dq);
                s
            }
        }
    }

    /// The left/right mirror image of a state of this layout.
    pub fn mirror(self, s: &[f64]) -> Vec<f64> {
        match self {
            Self::BodyPos => {
                let a: crate::BodyPosState = std::array::from_fn(|i| s[i]);
                crate::mirror::mirror_state(&a).to_vec()
            }
            Self::JointSpace => {
                let mut g = [0.0; crate::STATE_DIM];
                g[GLOBAL].copy_from_slice(&s[GLOBAL]);
                let gm = crate::mirror::mirror_state(&g);
                let jm = JointMirror::new();
                let part = |r: Range<usize>| -> [f64; NUM_JOINTS] {
                    jm.apply(&std::array::from_fn(|j| s[r.start + j]))
                };
                let mut out = gm[GLOBAL].to_vec();
                out.extend_from_slice(&part(JOINT_POS));
                out.extend_from_slice(&part(JOINT_VEL));
                out
            }
        }
    }
}

/// Re-expresses the global part of a state (any layout) built relative to frame `from` so that
/// it is relative to frame `to`; the local part does not depend on the reference.
pub fn rebase_global(s: &mut [f64], from: &CharacterFrame, to: &CharacterFrame) {
    let v3 = |s: &[f64], r: Range<usize>| Vector3::new(s[r.start], s[r.start + 1], s[r.start + 2]);
    let pos_w = from.point_to_world(&v3(s, layout::ROOT_POS));
    let rot = (to.rotation().inverse()
        * from.rotation()
        * UnitQuaternion::from_scaled_axis(v3(s, layout::ROOT_ROTVEC)))
    .scaled_axis();
    let lin = to.vector_from_world(&from.vector_to_world(&v3(s, layout::ROOT_LIN_VEL)));
    let ang = to.vector_from_world(&from.vector_to_world(&v3(s, layout::ROOT_ANG_VEL)));
    let pos = to.point_from_world(&pos_w);
    for (r, v) in [
        (layout::ROOT_POS, pos),
        (layout::ROOT_ROTVEC, rot),
        (layout::ROOT_LIN_VEL, lin),
        (layout::ROOT_ANG_VEL, ang),
    ] {
        s[r].copy_from_slice(v.as_slice());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bodypos::{build_state, rebase_state};
    use crate::kinematics::{forward_kinematics, RootState};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_kin(rng: &mut ChaCha8Rng) -> (crate::BodyKinematics, [f64; 29], [f64; 29]) {
        let root = RootState {
            pos_w: Vector3::new(rng.gen_range(-2.0..2.0), rng.gen_range(-2.0..2.0), 0.75),
            quat_w: UnitQuaternion::from_euler_angles(0.1, -0.2, rng.gen_range(-3.0..3.0)),
            lin_vel_w: Vector3::new(0.4, -0.2, 0.05),
            ang_vel_w: Vector3::new(0.3, 0.1, -0.6),
        };
        let q = std::array::from_fn(|_| rng.gen_range(-0.5..0.5));
        let dq = std::array::from_fn(|_| rng.gen_range(-2.0..2.0));
        (forward_kinematics(&root, &q, &dq), q, dq)
    }

    #[test]
    fn joint_space_state_is_the_global_part_then_joints() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (kin, q, dq) = random_kin(&mut rng);
        let f = CharacterFrame::from_root(&kin.root().pos_w, &kin.root().quat_w);
        let bp = build_state(&kin, &f);
        let js = StateLayout::JointSpace.from_body_pos(&bp, &q, &dq);
        assert_eq!(js.len(), JOINT_SPACE_DIM);
        assert_eq!(js[GLOBAL], bp[GLOBAL]);
        assert_eq!(js[JOINT_POS], q[..]);
        assert_eq!(js[JOINT_VEL], dq[..]);
        let names = StateLayout::JointSpace.names();
        assert_eq!(names.len(), 70);
        assert_eq!(names[12], "joint_pos.left_hip_pitch");
        assert_eq!(names[69], "joint_vel.right_wrist_yaw");
        assert_eq!(StateLayout::BodyPos.names(), layout::names());
    }

    #[test]
    fn rebase_global_matches_the_body_pos_rebase() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (k1, _, _) = random_kin(&mut rng);
        let (k2, q, dq) = random_kin(&mut rng);
        let f1 = CharacterFrame::from_root(&k1.root().pos_w, &k1.root().quat_w);
        let f2 = CharacterFrame::from_root(&k2.root().pos_w, &k2.root().quat_w);
        let s = build_state(&k2, &f2);
        let want = rebase_state(&s, &f2, &f1);
        let mut js = StateLayout::JointSpace.from_body_pos(&s, &q, &dq);
        rebase_global(&mut js, &f2, &f1);
        for i in GLOBAL {
            assert!((js[i] - want[i]).abs() < 1e-12, "index {i}");
        }
        assert_eq!(js[JOINT_POS], q[..], "the local part does not move");
    }

    /// The mirror of a joint-space state is the joint-space state of the mirrored robot
    /// (built from the mirrored root and joints through forward kinematics).
    #[test]
    fn joint_space_mirror_matches_the_mirrored_robot() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let root = RootState {
            pos_w: Vector3::new(0.3, -0.4, 0.76),
            quat_w: UnitQuaternion::from_euler_angles(0.05, -0.1, 0.7),
            lin_vel_w: Vector3::new(0.5, 0.2, -0.1),
            ang_vel_w: Vector3::new(0.2, -0.3, 0.4),
        };
        let q: [f64; 29] = std::array::from_fn(|_| rng.gen_range(-0.4..0.4));
        let dq: [f64; 29] = std::array::from_fn(|_| rng.gen_range(-1.0..1.0));
        let jm = JointMirror::new();
        let (mq, mdq) = (jm.apply(&q), jm.apply(&dq));
        let mroot = crate::mirror::mirror_root(&root);
        let bp = crate::build_state_self(&forward_kinematics(&root, &q, &dq));
        let mbp = crate::build_state_self(&forward_kinematics(&mroot, &mq, &mdq));
        let js = StateLayout::JointSpace.from_body_pos(&bp, &q, &dq);
        let want = StateLayout::JointSpace.from_body_pos(&mbp, &mq, &mdq);
        let got = StateLayout::JointSpace.mirror(&js);
        for i in 0..JOINT_SPACE_DIM {
            assert!(
                (got[i] - want[i]).abs() < 1e-9,
                "index {i}: {} vs {}",
                got[i],
                want[i]
            );
        }
        assert_eq!(StateLayout::JointSpace.mirror(&got), js);
    }

    #[test]
    fn layouts_parse_and_print() {
        assert_eq!("joint-space".parse(), Ok(StateLayout::JointSpace));
        assert_eq!("body_pos".parse(), Ok(StateLayout::BodyPos));
        assert!("joints".parse::<StateLayout>().is_err());
        assert_eq!(StateLayout::JointSpace.to_string(), "joint_space");
        assert_eq!(StateLayout::default(), StateLayout::BodyPos);
    }
}
