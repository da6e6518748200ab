//! The Body-Pos state (docs/METHOD.md, "State representation"), layout version [`LAYOUT_VERSION`].
//!
//! A state describes one time step of the robot relative to a **reference character frame**
//! (usually that of the current step `t` of a planning window):
//!
//! | index        | meaning                                                              | frame |
//! |--------------|----------------------------------------------------------------------|-------|
//! | `0..3`       | root (pelvis) position                                               | reference character frame |
//! | `3..6`       | root orientation as a rotation vector (rad)                          | relative to the reference character frame |
//! | `6..9`       | root linear velocity (m/s)                                           | reference character frame axes |
//! | `9..12`      | root angular velocity (rad/s)                                        | reference character frame axes |
//! | `12..102`    | position of body `b` at `12 + 3b` (m), all 30 bodies in [`crate::Body`] order | the step's **own** character frame |
//! | `102..192`   | linear velocity of body `b` at `102 + 3b` (m/s)                      | the step's own character frame axes |
//!
//! The character frame of a root pose: origin at the root's ground projection (`z = 0`: the
//! ground is the plane `z = 0`, so heights stay absolute), rotated about `z` by the root's
//! heading (yaw) only. Translating the whole trajectory horizontally or rotating it about the
//! vertical axis leaves every state unchanged.

use std::ops::Range;

use nalgebra::{UnitQuaternion, Vector3};

use crate::bodies::NUM_BODIES;
use crate::kinematics::BodyKinematics;

/// Bumped whenever the meaning of any index changes. Stored in datasets and model manifests.
pub const LAYOUT_VERSION: u32 = 1;
/// 12 global + 3·30 positions + 3·30 velocities.
pub const STATE_DIM: usize = 12 + 6 * NUM_BODIES;

/// A Body-Pos state vector.
pub type BodyPosState = [f64; STATE_DIM];

/// Index ranges of the layout.
pub mod layout {
    use super::*;
    pub const ROOT_POS: Range<usize> = 0..3;
    pub const ROOT_ROTVEC: Range<usize> = 3..6;
    pub const ROOT_LIN_VEL: Range<usize> = 6..9;
    pub const ROOT_ANG_VEL: Range<usize> = 9..12;
    pub const BODY_POS: Range<usize> = 12..12 + 3 * NUM_BODIES;
    pub const BODY_VEL: Range<usize> = 12 + 3 * NUM_BODIES..STATE_DIM;
    /// Position of body `b` in its step's character frame.
    pub const fn body_pos(b: usize) -> Range<usize> {
        12 + 3 * b..15 + 3 * b
    }
    /// Linear velocity of body `b` in its step's character frame.
    pub const fn body_vel(b: usize) -> Range<usize> {
        BODY_VEL.start + 3 * b..BODY_VEL.start + 3 * b + 3
    }
    /// Human-readable name of each index (e.g. `body_pos.left_knee_link.z`).
    pub fn names() -> Vec<String> {
        let xyz = ["x", "y", "z"];
        let mut out = Vec::with_capacity(STATE_DIM);
        for part in ["root_pos", "root_rotvec", "root_lin_vel", "root_ang_vel"] {
            for a in xyz {
                out.push(format!("{part}.{a}"));
            }
        }
        for part in ["body_pos", "body_vel"] {
            for b in crate::bodies::BODIES {
                for a in xyz {
                    out.push(format!("{part}.{}.{a}", b.name));
                }
            }
        }
        out
    }
}

/// Heading (yaw) of an orientation: angle of its x axis projected on the ground plane.
pub fn heading_yaw(q: &UnitQuaternion<f64>) -> f64 {
    let x = q * Vector3::x();
    x.y.atan2(x.x)
}

/// The root's heading frame: origin at the ground projection, rotated by yaw only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CharacterFrame {
    /// Origin in world coordinates (`z = 0`).
    pub origin_w: Vector3<f64>,
    pub yaw_rad: f64,
}

impl CharacterFrame {
    pub fn from_root(pos_w: &Vector3<f64>, quat_w: &UnitQuaternion<f64>) -> Self {
        Self {
            origin_w: Vector3::new(pos_w.x, pos_w.y, 0.0),
            yaw_rad: heading_yaw(quat_w),
        }
    }
    /// World-from-frame rotation.
    pub fn rotation(&self) -> UnitQuaternion<f64> {
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), self.yaw_rad)
    }
    /// A world point in this frame.
    pub fn point_from_world(&self, p_w: &Vector3<f64>) -> Vector3<f64> {
        self.rotation().inverse() * (p_w - self.origin_w)
    }
    /// A world vector (velocity, direction) in this frame's axes.
    pub fn vector_from_world(&self, v_w: &Vector3<f64>) -> Vector3<f64> {
        self.rotation().inverse() * v_w
    }
    /// A point of this frame in world coordinates.
    pub fn point_to_world(&self, p: &Vector3<f64>) -> Vector3<f64> {
        self.rotation() * p + self.origin_w
    }
    /// A vector of this frame's axes in world coordinates.
    pub fn vector_to_world(&self, v: &Vector3<f64>) -> Vector3<f64> {
        self.rotation() * v
    }
}

fn put(s: &mut BodyPosState, r: Range<usize>, v: &Vector3<f64>) {
    s[r].copy_from_slice(v.as_slice());
}

/// Builds the Body-Pos state of one step, with its global part relative to `reference`.
pub fn build_state(kin: &BodyKinematics, reference: &CharacterFrame) -> BodyPosState {
    let mut s = [0.0; STATE_DIM];
    let root = kin.root();
    put(
        &mut s,
        layout::ROOT_POS,
        &reference.point_from_world(&root.pos_w),
    );
    let rel = reference.rotation().inverse() * root.quat_w;
    put(&mut s, layout::ROOT_ROTVEC, &rel.scaled_axis());
    put(
        &mut s,
        layout::ROOT_LIN_VEL,
        &reference.vector_from_world(&root.lin_vel_w),
    );
    put(
        &mut s,
        layout::ROOT_ANG_VEL,
        &reference.vector_from_world(&root.ang_vel_w),
    );
    let own = CharacterFrame::from_root(&root.pos_w, &root.quat_w);
    for b in 0..NUM_BODIES {
        put(
            &mut s,
            layout::body_pos(b),
            &own.point_from_world(&kin.pos_w[b]),
        );
        put(
            &mut s,
            layout::body_vel(b),
            &own.vector_from_world(&kin.lin_vel_w[b]),
        );
    }
    s
}

/// Builds the state of one step relative to its own character frame.
pub fn build_state_self(kin: &BodyKinematics) -> BodyPosState {
    let root = kin.root();
    build_state(kin, &CharacterFrame::from_root(&root.pos_w, &root.quat_w))
}

/// Builds the states of a window, all relative to the character frame of step `reference_step`.
pub fn build_window(kins: &[BodyKinematics], reference_step: usize) -> Vec<BodyPosState> {
    let r = kins[reference_step].root();
    let frame = CharacterFrame::from_root(&r.pos_w, &r.quat_w);
    kins.iter().map(|k| build_state(k, &frame)).collect()
}

/// Re-expresses the global part of a state built relative to frame `from` so that it is
/// relative to frame `to` (the local part does not depend on the reference).
pub fn rebase_state(s: &BodyPosState, from: &CharacterFrame, to: &CharacterFrame) -> BodyPosState {
    let mut out = *s;
    let v3 = |r: Range<usize>| Vector3::new(s[r.start], s[r.start + 1], s[r.start + 2]);
    let pos_w = from.point_to_world(&v3(layout::ROOT_POS));
    put(&mut out, layout::ROOT_POS, &to.point_from_world(&pos_w));
    let q_w = from.rotation() * UnitQuaternion::from_scaled_axis(v3(layout::ROOT_ROTVEC));
    put(
        &mut out,
        layout::ROOT_ROTVEC,
        &(to.rotation().inverse() * q_w).scaled_axis(),
    );
    for r in [layout::ROOT_LIN_VEL, layout::ROOT_ANG_VEL] {
        let v_w = from.vector_to_world(&v3(r.clone()));
        put(&mut out, r, &to.vector_from_world(&v_w));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinematics::{forward_kinematics, RootState};
    use crate::NUM_JOINTS;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_step(rng: &mut ChaCha8Rng) -> (RootState, [f64; NUM_JOINTS], [f64; NUM_JOINTS]) {
        let root = RootState {
            pos_w: Vector3::new(
                rng.gen_range(-3.0..3.0),
                rng.gen_range(-3.0..3.0),
                rng.gen_range(0.5..0.9),
            ),
            quat_w: UnitQuaternion::from_euler_angles(
                rng.gen_range(-0.3..0.3),
                rng.gen_range(-0.3..0.3),
                rng.gen_range(-3.1..3.1),
            ),
            lin_vel_w: Vector3::new(
                rng.gen_range(-1.0..1.0),
                rng.gen_range(-1.0..1.0),
                rng.gen_range(-0.3..0.3),
            ),
            ang_vel_w: Vector3::new(
                rng.gen_range(-1.0..1.0),
                rng.gen_range(-1.0..1.0),
                rng.gen_range(-1.0..1.0),
            ),
        };
        let q = std::array::from_fn(|_| rng.gen_range(-0.5..0.5));
        let qd = std::array::from_fn(|_| rng.gen_range(-2.0..2.0));
        (root, q, qd)
    }

    /// Applies a horizontal translation and a yaw rotation about the world origin.
    fn transform(root: &RootState, yaw: f64, t: Vector3<f64>) -> RootState {
        let r = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw);
        RootState {
            pos_w: r * root.pos_w + t,
            quat_w: r * root.quat_w,
            lin_vel_w: r * root.lin_vel_w,
            ang_vel_w: r * root.ang_vel_w,
        }
    }

    #[test]
    fn states_are_invariant_to_horizontal_translation_and_yaw() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20 {
            let traj: Vec<_> = (0..21).map(|_| random_step(&mut rng)).collect();
            let yaw = rng.gen_range(-3.1..3.1);
            let t = Vector3::new(rng.gen_range(-10.0..10.0), rng.gen_range(-10.0..10.0), 0.0);
            let kins: Vec<_> = traj
                .iter()
                .map(|(r, q, qd)| forward_kinematics(r, q, qd))
                .collect();
            let kins_t: Vec<_> = traj
                .iter()
                .map(|(r, q, qd)| forward_kinematics(&transform(r, yaw, t), q, qd))
                .collect();
            let a = build_window(&kins, 4);
            let b = build_window(&kins_t, 4);
            for (sa, sb) in a.iter().zip(&b) {
                for i in 0..STATE_DIM {
                    assert!(
                        (sa[i] - sb[i]).abs() < 1e-9,
                        "index {i}: {} vs {}",
                        sa[i],
                        sb[i]
                    );
                }
            }
        }
    }

    #[test]
    fn current_step_has_zero_planar_position_and_no_yaw() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (r, q, qd) = random_step(&mut rng);
        let s = build_state_self(&forward_kinematics(&r, &q, &qd));
        assert!(s[0].abs() < 1e-12 && s[1].abs() < 1e-12);
        assert!((s[2] - r.pos_w.z).abs() < 1e-12);
        let rel = UnitQuaternion::from_scaled_axis(Vector3::new(s[3], s[4], s[5]));
        assert!(heading_yaw(&rel).abs() < 1e-9);
        // The pelvis is the root: its local position equals the global one for the own frame.
        assert!((s[layout::body_pos(0)][2] - r.pos_w.z).abs() < 1e-12);
    }

    #[test]
    fn rebase_matches_direct_build() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (r1, _, _) = random_step(&mut rng);
        let (r2, q2, qd2) = random_step(&mut rng);
        let k2 = forward_kinematics(&r2, &q2, &qd2);
        let f1 = CharacterFrame::from_root(&r1.pos_w, &r1.quat_w);
        let f2 = CharacterFrame::from_root(&r2.pos_w, &r2.quat_w);
        let direct = build_state(&k2, &f1);
        let rebased = rebase_state(&build_state(&k2, &f2), &f2, &f1);
        for i in 0..STATE_DIM {
            assert!((direct[i] - rebased[i]).abs() < 1e-9, "index {i}");
        }
    }

    #[test]
    fn layout_names_cover_every_index() {
        let n = layout::names();
        assert_eq!(n.len(), STATE_DIM);
        assert_eq!(n[layout::body_pos(0).start], "body_pos.pelvis.x");
        assert_eq!(
            n[layout::body_vel(29).end - 1],
            "body_vel.right_wrist_yaw_link.z"
        );
        assert_eq!(STATE_DIM, 192);
    }
}
