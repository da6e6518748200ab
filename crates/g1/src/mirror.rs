//! Left/right mirror map (reflection through the sagittal `x–z` plane, `y → −y`), used for
//! data augmentation.
//!
//! Under the reflection a point or linear velocity maps `(x, y, z) → (x, −y, z)`; an angular
//! quantity (a pseudo-vector: angular velocity, rotation vector, hinge angle) maps
//! `(x, y, z) → (−x, y, −z)`. So a joint about the `y` axis (pitch) keeps its sign, and joints
//! about `x` (roll) or `z` (yaw) change sign; left and right joints and bodies swap.

use nalgebra::{Quaternion, UnitQuaternion, Vector3};

use crate::bodies::{Body, BODIES, NUM_BODIES};
use crate::bodypos::{layout, BodyPosState};
use crate::joints::{Axis, Joint, JOINTS, NUM_JOINTS};
use crate::kinematics::RootState;

fn swap_side(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("left_") {
        format!("right_{rest}")
    } else if let Some(rest) = name.strip_prefix("right_") {
        format!("left_{rest}")
    } else {
        name.to_string()
    }
}

/// The joint on the other side (itself for waist joints).
pub fn mirror_joint(j: Joint) -> Joint {
    // The joint table names every sided joint in left/right pairs (checked by a test).
    Joint::from_name(&swap_side(j.name())).unwrap_or(j)
}

/// Sign applied to a joint angle (and velocity, and normalised action) when mirrored.
pub fn joint_mirror_sign(j: Joint) -> f64 {
    match j.info().axis {
        Axis::Y => 1.0,
        Axis::X | Axis::Z => -1.0,
    }
}

/// The body on the other side (itself for pelvis, waist and torso).
pub fn mirror_body(b: Body) -> Body {
    // The body table names every sided body in left/right pairs (checked by a test).
    Body::from_name(&swap_side(b.name())).unwrap_or(b)
}

/// Mirror map of joint-indexed vectors: `out[mirror(j)] = sign(j) · v[j]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointMirror {
    pub index: [usize; NUM_JOINTS],
    pub sign: [f64; NUM_JOINTS],
}

impl JointMirror {
    pub fn new() -> Self {
        Self {
            index: std::array::from_fn(|i| mirror_joint(JOINTS[i].joint).index()),
            sign: std::array::from_fn(|i| joint_mirror_sign(JOINTS[i].joint)),
        }
    }
    /// Mirrors joint positions, velocities, or torques.
    pub fn apply(&self, v: &[f64; NUM_JOINTS]) -> [f64; NUM_JOINTS] {
        let mut out = [0.0; NUM_JOINTS];
        for i in 0..NUM_JOINTS {
            out[self.index[i]] = self.sign[i] * v[i];
        }
        out
    }
}

impl Default for JointMirror {
    fn default() -> Self {
        Self::new()
    }
}

/// Mirrors normalised actions `a = (q_target − offset) / scale`. Valid when the offset is
/// itself mirror-symmetric and mirrored joints share a scale (true for every shipped policy;
/// checked by [`action_mirror_is_valid`]).
pub fn mirror_action(a: &[f64; NUM_JOINTS]) -> [f64; NUM_JOINTS] {
    JointMirror::new().apply(a)
}

/// Whether `offset`/`scale` (SDK order) allow [`mirror_action`].
pub fn action_mirror_is_valid(
    offset: &[f64; NUM_JOINTS],
    scale: &[f64; NUM_JOINTS],
    tol: f64,
) -> bool {
    let m = JointMirror::new();
    let off_m = m.apply(offset);
    (0..NUM_JOINTS)
        .all(|i| (off_m[i] - offset[i]).abs() <= tol && (scale[m.index[i]] - scale[i]).abs() <= tol)
}

fn reflect_point(v: &Vector3<f64>) -> Vector3<f64> {
    Vector3::new(v.x, -v.y, v.z)
}

fn reflect_axial(v: &Vector3<f64>) -> Vector3<f64> {
    Vector3::new(-v.x, v.y, -v.z)
}

/// Mirrors a root state.
pub fn mirror_root(r: &RootState) -> RootState {
    let q = r.quat_w.quaternion();
    RootState {
        pos_w: reflect_point(&r.pos_w),
        quat_w: UnitQuaternion::from_quaternion(Quaternion::new(q.w, -q.i, q.j, -q.k)),
        lin_vel_w: reflect_point(&r.lin_vel_w),
        ang_vel_w: reflect_axial(&r.ang_vel_w),
    }
}

/// Mirrors a Body-Pos state (any reference frame: character frames mirror onto character frames).
pub fn mirror_state(s: &BodyPosState) -> BodyPosState {
    let mut out = [0.0; crate::STATE_DIM];
    let v3 = |start: usize| Vector3::new(s[start], s[start + 1], s[start + 2]);
    let put = |out: &mut BodyPosState, start: usize, v: Vector3<f64>| {
        out[start..start + 3].copy_from_slice(v.as_slice());
    };
    put(
        &mut out,
        layout::ROOT_POS.start,
        reflect_point(&v3(layout::ROOT_POS.start)),
    );
    put(
        &mut out,
        layout::ROOT_ROTVEC.start,
        reflect_axial(&v3(layout::ROOT_ROTVEC.start)),
    );
    put(
        &mut out,
        layout::ROOT_LIN_VEL.start,
        reflect_point(&v3(layout::ROOT_LIN_VEL.start)),
    );
    put(
        &mut out,
        layout::ROOT_ANG_VEL.start,
        reflect_axial(&v3(layout::ROOT_ANG_VEL.start)),
    );
    for b in BODIES.iter().take(NUM_BODIES) {
        let m = mirror_body(b.body).index();
        let i = b.body.index();
        put(
            &mut out,
            layout::body_pos(m).start,
            reflect_point(&v3(layout::body_pos(i).start)),
        );
        put(
            &mut out,
            layout::body_vel(m).start,
            reflect_point(&v3(layout::body_vel(i).start)),
        );
    }
    out
}

/// Index permutation and signs of [`mirror_state`] (`out[index[i]] = sign[i] · s[i]`), for
/// vectorised augmentation.
pub fn state_mirror_map() -> (Vec<usize>, Vec<f64>) {
    let mut index = vec![0; crate::STATE_DIM];
    let mut sign = vec![1.0; crate::STATE_DIM];
    let point = [1.0, -1.0, 1.0];
    let axial = [-1.0, 1.0, -1.0];
    for (r, sg) in [
        (layout::ROOT_POS, point),
        (layout::ROOT_ROTVEC, axial),
        (layout::ROOT_LIN_VEL, point),
        (layout::ROOT_ANG_VEL, axial),
    ] {
        for k in 0..3 {
            index[r.start + k] = r.start + k;
            sign[r.start + k] = sg[k];
        }
    }
    for b in BODIES.iter() {
        let m = mirror_body(b.body).index();
        let i = b.body.index();
        for k in 0..3 {
            index[layout::body_pos(i).start + k] = layout::body_pos(m).start + k;
            sign[layout::body_pos(i).start + k] = point[k];
            index[layout::body_vel(i).start + k] = layout::body_vel(m).start + k;
            sign[layout::body_vel(i).start + k] = point[k];
        }
    }
    (index, sign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bodypos::build_state_self;
    use crate::joints::default_pose;
    use crate::kinematics::forward_kinematics;

    #[test]
    fn maps_are_involutions() {
        let m = JointMirror::new();
        let v: [f64; NUM_JOINTS] = std::array::from_fn(|i| i as f64 * 0.1 - 1.0);
        assert_eq!(m.apply(&m.apply(&v)), v);
        for b in BODIES {
            assert_eq!(mirror_body(mirror_body(b.body)), b.body);
        }
        assert_eq!(mirror_joint(Joint::LeftKnee), Joint::RightKnee);
        assert_eq!(mirror_joint(Joint::WaistYaw), Joint::WaistYaw);
        assert_eq!(joint_mirror_sign(Joint::WaistYaw), -1.0);
        assert_eq!(joint_mirror_sign(Joint::LeftHipPitch), 1.0);
        assert_eq!(mirror_body(Body::LeftAnkleRoll), Body::RightAnkleRoll);
        // Every sided joint and body has its partner in the tables (the fallback to itself is
        // for the middle ones only).
        for j in Joint::ALL {
            let sided = j.name().starts_with("left_") || j.name().starts_with("right_");
            assert_eq!(mirror_joint(j) != j, sided, "{}", j.name());
        }
        for b in BODIES {
            let n = b.body.name();
            let sided = n.starts_with("left_") || n.starts_with("right_");
            assert_eq!(mirror_body(b.body) != b.body, sided, "{n}");
        }
    }

    #[test]
    fn default_pose_and_shipped_actions_are_mirror_symmetric() {
        let d = default_pose();
        assert!(action_mirror_is_valid(&d, &[1.0; NUM_JOINTS], 1e-12));
    }

    /// Kinematic check of the whole map: the state of a mirrored configuration equals the
    /// mirrored state of the original (up to the model's 1e-5 m left/right asymmetry).
    #[test]
    fn mirrored_configuration_gives_mirrored_state() {
        let m = JointMirror::new();
        let root = RootState {
            pos_w: Vector3::new(0.2, 0.4, 0.78),
            quat_w: UnitQuaternion::from_euler_angles(0.1, -0.15, 0.6),
            lin_vel_w: Vector3::new(0.5, -0.2, 0.05),
            ang_vel_w: Vector3::new(0.3, -0.4, 0.9),
        };
        let q: [f64; NUM_JOINTS] = std::array::from_fn(|i| 0.4 * ((i as f64) * 0.9).sin());
        let qd: [f64; NUM_JOINTS] = std::array::from_fn(|i| ((i as f64) * 1.7).cos());
        let s = build_state_self(&forward_kinematics(&root, &q, &qd));
        let s_m = build_state_self(&forward_kinematics(
            &mirror_root(&root),
            &m.apply(&q),
            &m.apply(&qd),
        ));
        let expect = mirror_state(&s);
        for i in 0..crate::STATE_DIM {
            assert!(
                (s_m[i] - expect[i]).abs() < 1e-3,
                "index {i}: {} vs {}",
                s_m[i],
                expect[i]
            );
        }
        let (idx, sign) = state_mirror_map();
        for i in 0..crate::STATE_DIM {
            assert!((expect[idx[i]] - sign[i] * s[i]).abs() < 1e-15);
        }
    }
}
