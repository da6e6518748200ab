//! Forward kinematics of all 30 bodies: poses and linear/angular velocities from the root
//! pose/twist and the joint positions/velocities.
//!
//! Conventions: world frame `w` is z-up (REP-103), quaternions `w, x, y, z`. Body velocities
//! are those of the body frame origin, in world coordinates (what MuJoCo's
//! `mj_objectVelocity(mjOBJ_XBODY, flg_local = 0)` returns, angular first there).

use nalgebra::{Quaternion, UnitQuaternion, Vector3};

use crate::bodies::{BODIES, NUM_BODIES};
use crate::joints::{JOINTS, NUM_JOINTS};

/// Pose and twist of the floating base (pelvis frame origin), all in world coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RootState {
    pub pos_w: Vector3<f64>,
    pub quat_w: UnitQuaternion<f64>,
    pub lin_vel_w: Vector3<f64>,
    pub ang_vel_w: Vector3<f64>,
}

impl RootState {
    /// At rest at `pos_w` with orientation `quat_w`.
    pub fn at_rest(pos_w: Vector3<f64>, quat_w: UnitQuaternion<f64>) -> Self {
        Self {
            pos_w,
            quat_w,
            lin_vel_w: Vector3::zeros(),
            ang_vel_w: Vector3::zeros(),
        }
    }

    /// From MuJoCo free-joint coordinates: `qpos = [x y z qw qx qy qz]`,
    /// `qvel = [vx vy vz (world), wx wy wz (body-local)]`.
    pub fn from_mujoco(qpos: &[f64], qvel: &[f64]) -> Self {
        let quat_w = quat_from_wxyz([qpos[3], qpos[4], qpos[5], qpos[6]]);
        let ang_local = Vector3::new(qvel[3], qvel[4], qvel[5]);
        Self {
            pos_w: Vector3::new(qpos[0], qpos[1], qpos[2]),
            quat_w,
            lin_vel_w: Vector3::new(qvel[0], qvel[1], qvel[2]),
            ang_vel_w: quat_w * ang_local,
        }
    }

    /// Inverse of [`RootState::from_mujoco`].
    pub fn to_mujoco(&self) -> ([f64; 7], [f64; 6]) {
        let q = self.quat_w.quaternion();
        let ang_local = self.quat_w.inverse() * self.ang_vel_w;
        (
            [self.pos_w.x, self.pos_w.y, self.pos_w.z, q.w, q.i, q.j, q.k],
            [
                self.lin_vel_w.x,
                self.lin_vel_w.y,
                self.lin_vel_w.z,
                ang_local.x,
                ang_local.y,
                ang_local.z,
            ],
        )
    }
}

/// A unit quaternion from `[w, x, y, z]` (normalised).
pub fn quat_from_wxyz(q: [f64; 4]) -> UnitQuaternion<f64> {
    UnitQuaternion::from_quaternion(Quaternion::new(q[0], q[1], q[2], q[3]))
}

/// `[w, x, y, z]` of a unit quaternion.
pub fn quat_to_wxyz(q: &UnitQuaternion<f64>) -> [f64; 4] {
    let q = q.quaternion();
    [q.w, q.i, q.j, q.k]
}

/// World poses and velocities of all bodies (index = [`crate::Body`] index).
#[derive(Debug, Clone, PartialEq)]
pub struct BodyKinematics {
    pub pos_w: [Vector3<f64>; NUM_BODIES],
    pub quat_w: [UnitQuaternion<f64>; NUM_BODIES],
    pub lin_vel_w: [Vector3<f64>; NUM_BODIES],
    pub ang_vel_w: [Vector3<f64>; NUM_BODIES],
}

impl BodyKinematics {
    pub fn root(&self) -> RootState {
        RootState {
            pos_w: self.pos_w[0],
            quat_w: self.quat_w[0],
            lin_vel_w: self.lin_vel_w[0],
            ang_vel_w: self.ang_vel_w[0],
        }
    }
}

/// Forward kinematics of positions, orientations and velocities.
pub fn forward_kinematics(
    root: &RootState,
    q: &[f64; NUM_JOINTS],
    qd: &[f64; NUM_JOINTS],
) -> BodyKinematics {
    let mut pos_w = [Vector3::zeros(); NUM_BODIES];
    let mut quat_w = [UnitQuaternion::identity(); NUM_BODIES];
    let mut lin_vel_w = [Vector3::zeros(); NUM_BODIES];
    let mut ang_vel_w = [Vector3::zeros(); NUM_BODIES];
    pos_w[0] = root.pos_w;
    quat_w[0] = root.quat_w;
    lin_vel_w[0] = root.lin_vel_w;
    ang_vel_w[0] = root.ang_vel_w;
    for (b, row) in BODIES.iter().enumerate().skip(1) {
        let p = row.parent.map_or(0, |p| p.index());
        let j = row.joint.map_or(0, |j| j.index());
        let axis = Vector3::from(JOINTS[j].axis.unit());
        let offset_q = quat_from_wxyz(row.quat_in_parent);
        let joint_q = UnitQuaternion::from_scaled_axis(axis * q[j]);
        let r = quat_w[p] * offset_q * joint_q;
        let x = pos_w[p] + quat_w[p] * Vector3::from(row.pos_in_parent);
        quat_w[b] = r;
        pos_w[b] = x;
        ang_vel_w[b] = ang_vel_w[p] + r * (axis * qd[j]);
        lin_vel_w[b] = lin_vel_w[p] + ang_vel_w[p].cross(&(x - pos_w[p]));
    }
    BodyKinematics {
        pos_w,
        quat_w,
        lin_vel_w,
        ang_vel_w,
    }
}

/// Orientation of one body from the root orientation and joint angles (no velocities).
/// Used e.g. for the torso anchor of motion-tracking policies.
pub fn body_orientation(
    root_quat_w: &UnitQuaternion<f64>,
    q: &[f64; NUM_JOINTS],
    body: crate::Body,
) -> UnitQuaternion<f64> {
    // Walk the chain from the body to the root, then compose root → body.
    let mut chain = Vec::with_capacity(8);
    let mut cur = Some(body);
    while let Some(b) = cur {
        if b.index() == 0 {
            break;
        }
        chain.push(b);
        cur = b.info().parent;
    }
    let mut r = *root_quat_w;
    for b in chain.iter().rev() {
        let row = b.info();
        let j = row.joint.map_or(0, |j| j.index());
        let axis = Vector3::from(JOINTS[j].axis.unit());
        r = r * quat_from_wxyz(row.quat_in_parent) * UnitQuaternion::from_scaled_axis(axis * q[j]);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;

    #[test]
    fn mujoco_root_roundtrip() {
        let qpos = [0.1, -0.2, 0.8, 0.9, 0.1, -0.2, 0.3];
        let n = (qpos[3..].iter().map(|x| x * x).sum::<f64>()).sqrt();
        let qpos_n = [
            qpos[0],
            qpos[1],
            qpos[2],
            qpos[3] / n,
            qpos[4] / n,
            qpos[5] / n,
            qpos[6] / n,
        ];
        let qvel = [0.3, 0.2, -0.1, 1.0, -2.0, 0.5];
        let r = RootState::from_mujoco(&qpos_n, &qvel);
        let (p2, v2) = r.to_mujoco();
        for i in 0..7 {
            assert!((p2[i] - qpos_n[i]).abs() < 1e-12);
        }
        for i in 0..6 {
            assert!((v2[i] - qvel[i]).abs() < 1e-12);
        }
    }

    #[test]
    fn velocities_match_finite_differences_of_poses() {
        let root = RootState {
            pos_w: Vector3::new(0.3, -0.1, 0.75),
            quat_w: UnitQuaternion::from_euler_angles(0.1, -0.2, 0.7),
            lin_vel_w: Vector3::new(0.4, -0.3, 0.1),
            ang_vel_w: Vector3::new(0.5, -0.8, 1.2),
        };
        let q: [f64; NUM_JOINTS] = std::array::from_fn(|i| 0.3 * ((i as f64) * 0.7).sin());
        let qd: [f64; NUM_JOINTS] = std::array::from_fn(|i| 1.5 * ((i as f64) * 1.3).cos());
        let h = 1e-6;
        let advance = |s: f64| {
            let root_s = RootState {
                pos_w: root.pos_w + root.lin_vel_w * s,
                quat_w: UnitQuaternion::from_scaled_axis(root.ang_vel_w * s) * root.quat_w,
                ..root
            };
            let q_s: [f64; NUM_JOINTS] = std::array::from_fn(|i| q[i] + qd[i] * s);
            forward_kinematics(&root_s, &q_s, &qd)
        };
        let (kp, km) = (advance(h), advance(-h));
        let k = forward_kinematics(&root, &q, &qd);
        for b in 0..NUM_BODIES {
            let v_fd = (kp.pos_w[b] - km.pos_w[b]) / (2.0 * h);
            assert!((v_fd - k.lin_vel_w[b]).norm() < 1e-6, "lin vel body {b}");
            let dq = kp.quat_w[b] * km.quat_w[b].inverse();
            let w_fd = dq.scaled_axis() / (2.0 * h);
            assert!((w_fd - k.ang_vel_w[b]).norm() < 1e-6, "ang vel body {b}");
        }
        let torso = body_orientation(&root.quat_w, &q, Body::Torso);
        assert!(torso.angle_to(&k.quat_w[Body::Torso.index()]) < 1e-12);
    }
}
