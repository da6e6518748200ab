//! Contact-aided Kalman filter for the pelvis position and velocity (world frame), in the
//! spirit of the linear filters legged robots run on their IMU and encoders.
//!
//! Orientation comes from the IMU's own attitude estimate (the G1's `imu_state.quaternion`).
//! State: pelvis position p and velocity v, and the centre of each sole, f_L and f_R (12
//! numbers, world frame).
//!
//! * **Predict** (every IMU sample): v += (R·a_imu − g)·dt, p += v·dt (+ ½ a dt²); a foot in
//!   contact stays put (tiny process noise), a swinging foot is free (large process noise).
//! * **Kinematics** (every sample, both feet): f − p = R·FK(q) — the sole's centre relative to
//!   the pelvis from the joint encoders through the project's forward kinematics.
//! * **Contact** (feet in contact): the sole is still, so v = −(ω × r + J q̇) (its velocity
//!   relative to the pelvis, from the same FK); and it is on the floor (`sole_height_m` on
//!   flat ground), which keeps z from drifting.
//!
//! The point is the centre of the G1's four sole contact points ([`SOLE_CENTRE`], the
//! collision spheres of the ankle-roll link), not the ankle-roll frame: a foot in stance rolls
//! (heel strike, toe off), and the ankle, 3.5 cm above the sole and 3.5 cm behind its centre,
//! moves more while it does. `g1d bench estimator` (docs/BENCHMARKS.md): the sole's centre
//! gives 1.0 % drift per metre and 0.025 m/s planar velocity error where the ankle frame gave
//! 2.7 % and 0.036 m/s.
//!
//! A foot counts as in contact when it is within `contact_height_m` of the lower foot (in
//! pelvis-relative world height). Two such feet both stand when they move slower than
//! `contact_speed_mps` relative to each other; else the lower one stands, or, with
//! `contact_tiebreak: load`, the one whose leg carries the load.
//! Scalar sequential updates; no matrix inversion.

#![warn(clippy::unwrap_used, clippy::expect_used)]

use g1::nalgebra::{SMatrix, SVector, UnitQuaternion, Vector3};
use g1::{forward_kinematics, Body, Joint, RootState, NUM_JOINTS};
use serde::{Deserialize, Serialize};

const N: usize = 12;
type Vec12 = SVector<f64, N>;
type Mat12 = SMatrix<f64, N, N>;

/// Filter settings (the estimator node's `kalman.*` parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KfConfig {
    /// Accelerometer noise as a process noise on v (m/s²).
    pub accel_noise: f64,
    /// Random walk of a foot in contact (m/√s) and of a swinging foot.
    pub stance_foot_noise: f64,
    pub swing_foot_noise: f64,
    /// Std of the kinematic foot-position measurement (m).
    pub kinematics_noise_m: f64,
    /// Std of the stance-velocity measurement (m/s).
    pub stance_velocity_noise: f64,
    /// Pushes: when the stance feet's velocity innovation, averaged over `impulse_window_s`,
    /// exceeds this (m/s, per axis), the velocity's variance is raised by its square — an
    /// unmodelled jump of that size (a push that the accelerometer saw too briefly, a foot
    /// landing hard) is taken up within a few samples instead of the filter's ~50 ms. 0: off.
    pub impulse_mps: f64,
    pub impulse_window_s: f64,
    /// Std of the stance-foot height measurement (m).
    pub foot_height_noise_m: f64,
    /// Height of the sole's centre ([`SOLE_CENTRE`]) above flat ground when the foot stands
    /// on it (m).
    pub sole_height_m: f64,
    pub contact_height_m: f64,
    pub contact_speed_mps: f64,
    /// Of two feet at about the same height moving apart, which one stands.
    pub contact_tiebreak: ContactTieBreak,
    pub gravity: f64,
}

impl Default for KfConfig {
    fn default() -> Self {
        Self {
            accel_noise: 1.0,
            stance_foot_noise: 0.002,
            swing_foot_noise: 2.0,
            kinematics_noise_m: 0.005,
            stance_velocity_noise: 0.05,
            impulse_mps: 0.15,
            impulse_window_s: 0.01,
            foot_height_noise_m: 0.01,
            sole_height_m: 0.003,
            contact_height_m: 0.02,
            contact_speed_mps: 0.3,
            contact_tiebreak: ContactTieBreak::Lower,
            gravity: 9.81,
        }
    }
}

/// How the filter tells the stance foot from the swinging one when both are at about the same
/// height and move apart (a side step: the swinging foot passes lower than the stance foot,
/// which rolls onto its edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactTieBreak {
    /// The lower foot stands (the default: the deployed evaluation's joystick square did
    /// better with it, 94 % against 84 %; docs/EXPERIMENTS.md, 2026-11-30).
    Lower,
    /// The foot whose leg carries the load: the larger knee plus ankle-pitch torque
    /// ([`Sample::tau`]; without torques, the lower foot). It no longer swaps the feet at
    /// side steps, yet the controller did worse with it.
    Load,
}

/// One IMU + encoder sample.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub dt: f64,
    pub quat_wxyz: [f64; 4],
    pub gyro_b: [f64; 3],
    pub accel_b: [f64; 3],
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
    /// The motors' torque estimates (N·m), when the robot reports them (`LowState`'s
    /// `tau_est`; `JointState.effort`): the stance leg's knee and ankle carry the body.
    pub tau: Option<[f64; NUM_JOINTS]>,
}

/// The filter's output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub root: RootState,
    pub contacts: [bool; 2],
}

pub struct ContactKf {
    pub cfg: KfConfig,
    x: Vec12,
    p: Mat12,
    contacts: [bool; 2],
    /// The stance velocity innovation, averaged over `impulse_window_s` (per axis).
    innovation: Vector3<f64>,
    initialised: bool,
}

const FEET: [Body; 2] = [Body::LeftAnkleRoll, Body::RightAnkleRoll];

/// The joints whose torques tell a loaded leg (left, right).
const LEG_LOAD_JOINTS: [[Joint; 2]; 2] = [
    [Joint::LeftKnee, Joint::LeftAnklePitch],
    [Joint::RightKnee, Joint::RightAnklePitch],
];

/// The centre of the sole in the ankle-roll frame: the mean of the bottoms of the G1's four
/// foot collision spheres (radius 5 mm at x = −0.05 and 0.12, y = ±0.025–0.03, z = −0.03: the
/// MJCF's `foot` geoms, the same on both feet).
pub const SOLE_CENTRE: [f64; 3] = [0.035, 0.0, -0.035];

/// The soles' centres relative to the pelvis and their velocities, world axes.
fn feet_relative(
    quat: &UnitQuaternion<f64>,
    omega_w: &Vector3<f64>,
    q: &[f64; NUM_JOINTS],
    dq: &[f64; NUM_JOINTS],
) -> [(Vector3<f64>, Vector3<f64>); 2] {
    let root = RootState {
        pos_w: Vector3::zeros(),
        quat_w: *quat,
        lin_vel_w: Vector3::zeros(),
        ang_vel_w: *omega_w,
    };
    let k = forward_kinematics(&root, q, dq);
    FEET.map(|b| {
        let i = b.index();
        let arm = k.quat_w[i] * Vector3::from(SOLE_CENTRE);
        (
            k.pos_w[i] + arm,
            k.lin_vel_w[i] + k.ang_vel_w[i].cross(&arm),
        )
    })
}

impl ContactKf {
    pub fn new(cfg: KfConfig) -> Self {
        Self {
            cfg,
            x: Vec12::zeros(),
            p: Mat12::identity(),
            contacts: [true, true],
            innovation: Vector3::zeros(),
            initialised: false,
        }
    }

    /// Starts the filter at a known pelvis position (e.g. the origin of `odom`) and velocity.
    pub fn reset(&mut self, pos_w: Vector3<f64>, vel_w: Vector3<f64>, s: &Sample) {
        let quat = quat_of(s);
        let omega = quat * Vector3::from(s.gyro_b);
        let feet = feet_relative(&quat, &omega, &s.q, &s.dq);
        self.x.fixed_rows_mut::<3>(0).copy_from(&pos_w);
        self.x.fixed_rows_mut::<3>(3).copy_from(&vel_w);
        for (i, (r, _)) in feet.iter().enumerate() {
            self.x
                .fixed_rows_mut::<3>(6 + 3 * i)
                .copy_from(&(pos_w + r));
        }
        self.p = Mat12::identity() * 1e-4;
        self.initialised = true;
    }

    fn scalar_update(&mut self, h: &Vec12, y: f64, r: f64) {
        let ph = self.p * h;
        let s = h.dot(&ph) + r;
        if s <= 0.0 || !s.is_finite() {
            return;
        }
        let k = ph / s;
        let innov = y - h.dot(&self.x);
        self.x += k * innov;
        self.p -= k * ph.transpose();
        // Keep P symmetric against round-off.
        self.p = 0.5 * (self.p + self.p.transpose());
    }

    /// Which feet stand: a foot well above the lower one swings; of two feet at about the
    /// same height, both stand when they move together (double support), else one, chosen by
    /// `contact_tiebreak`. (A swinging foot can pass lower than a stance foot that rolls onto
    /// its edge, at side steps: taken for the stance foot, it swaps the pelvis velocity for
    /// the swing's for a sample or two.)
    fn classify_contacts(
        &self,
        feet: &[(Vector3<f64>, Vector3<f64>); 2],
        tau: Option<&[f64; NUM_JOINTS]>,
    ) -> [bool; 2] {
        let c = &self.cfg;
        let lower = feet[0].0.z.min(feet[1].0.z);
        let near = feet.map(|(r, _)| r.z - lower < c.contact_height_m);
        if !(near[0] && near[1]) {
            return near;
        }
        if (feet[0].1 - feet[1].1).norm() < c.contact_speed_mps {
            return [true, true];
        }
        let lower_stands = feet.map(|(r, _)| r.z <= lower);
        let (ContactTieBreak::Load, Some(tau)) = (c.contact_tiebreak, tau) else {
            return lower_stands;
        };
        let load = LEG_LOAD_JOINTS.map(|js| js.iter().map(|j| tau[j.index()].abs()).sum::<f64>());
        let first = load[0] >= load[1];
        [first, !first]
    }

    /// One sample: predict with the IMU, correct with kinematics and contacts.
    pub fn step(&mut self, s: &Sample) -> Estimate {
        let quat = quat_of(s);
        if !self.initialised {
            // `odom` starts under the robot: x = y = 0, z from the lower foot standing on the
            // floor.
            let omega = quat * Vector3::from(s.gyro_b);
            let feet = feet_relative(&quat, &omega, &s.q, &s.dq);
            let z = self.cfg.sole_height_m - feet[0].0.z.min(feet[1].0.z);
            self.reset(Vector3::new(0.0, 0.0, z), Vector3::zeros(), s);
        }
        let c = self.cfg.clone();
        let dt = s.dt;
        let omega = quat * Vector3::from(s.gyro_b);
        let feet = feet_relative(&quat, &omega, &s.q, &s.dq);
        self.contacts = self.classify_contacts(&feet, s.tau.as_ref());
        // Predict.
        let a_w = quat * Vector3::from(s.accel_b) - Vector3::new(0.0, 0.0, c.gravity);
        let mut f = Mat12::identity();
        for k in 0..3 {
            f[(k, 3 + k)] = dt;
        }
        let mut u = Vec12::zeros();
        for k in 0..3 {
            u[k] = 0.5 * a_w[k] * dt * dt;
            u[3 + k] = a_w[k] * dt;
        }
        self.x = f * self.x + u;
        let mut q = Mat12::zeros();
        let qa = (c.accel_noise * dt).powi(2);
        for k in 0..3 {
            q[(k, k)] = qa * dt * dt;
            q[(3 + k, 3 + k)] = qa;
            for (i, &contact) in self.contacts.iter().enumerate() {
                let sigma = if contact {
                    c.stance_foot_noise
                } else {
                    c.swing_foot_noise
                };
                q[(6 + 3 * i + k, 6 + 3 * i + k)] = sigma * sigma * dt;
            }
        }
        self.p = f * self.p * f.transpose() + q;
        // A push: the stance feet say the pelvis moves differently from the prediction, for
        // longer than their noise would (the averaged innovation is over `impulse_mps`).
        let stance: Vec<_> = (0..2).filter(|&i| self.contacts[i]).collect();
        if c.impulse_mps > 0.0 && !stance.is_empty() {
            let v = Vector3::new(self.x[3], self.x[4], self.x[5]);
            let innov =
                stance.iter().map(|&i| -feet[i].1 - v).sum::<Vector3<f64>>() / stance.len() as f64;
            let alpha = (dt / c.impulse_window_s.max(dt)).min(1.0);
            self.innovation += alpha * (innov - self.innovation);
            for k in 0..3 {
                if self.innovation[k].abs() > c.impulse_mps {
                    self.p[(3 + k, 3 + k)] += self.innovation[k].powi(2);
                    self.innovation[k] = 0.0;
                }
            }
        }
        // Kinematics: f_i − p = r_i.
        for (i, (r, v_rel)) in feet.iter().enumerate() {
            for k in 0..3 {
                let mut h = Vec12::zeros();
                h[6 + 3 * i + k] = 1.0;
                h[k] = -1.0;
                self.scalar_update(&h, r[k], c.kinematics_noise_m.powi(2));
            }
            if self.contacts[i] {
                // A still foot: v + v_rel = 0.
                for k in 0..3 {
                    let mut h = Vec12::zeros();
                    h[3 + k] = 1.0;
                    self.scalar_update(&h, -v_rel[k], c.stance_velocity_noise.powi(2));
                }
                let mut h = Vec12::zeros();
                h[6 + 3 * i + 2] = 1.0;
                self.scalar_update(&h, c.sole_height_m, c.foot_height_noise_m.powi(2));
            }
        }
        Estimate {
            root: RootState {
                pos_w: Vector3::new(self.x[0], self.x[1], self.x[2]),
                quat_w: quat,
                lin_vel_w: Vector3::new(self.x[3], self.x[4], self.x[5]),
                ang_vel_w: omega,
            },
            contacts: self.contacts,
        }
    }
}

fn quat_of(s: &Sample) -> UnitQuaternion<f64> {
    g1::quat_from_wxyz(s.quat_wxyz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn foot(z: f64, vx: f64) -> (Vector3<f64>, Vector3<f64>) {
        (Vector3::new(0.0, 0.1, z), Vector3::new(vx, 0.0, 0.0))
    }

    /// A side step: the swinging right foot passes 4 mm below the left one, which stands and
    /// carries the body (its knee and ankle torques).
    #[test]
    fn contacts_by_height_speed_and_load() {
        let mut tau = [0.0; NUM_JOINTS];
        tau[Joint::LeftKnee.index()] = 40.0;
        tau[Joint::LeftAnklePitch.index()] = -15.0;
        tau[Joint::RightKnee.index()] = 6.0;
        let side_step = [foot(-0.700, 0.0), foot(-0.704, 1.0)];
        let lower = ContactKf::new(KfConfig::default());
        let load = ContactKf::new(KfConfig {
            contact_tiebreak: ContactTieBreak::Load,
            ..KfConfig::default()
        });
        assert_eq!(
            lower.classify_contacts(&side_step, Some(&tau)),
            [false, true]
        );
        assert_eq!(
            load.classify_contacts(&side_step, Some(&tau)),
            [true, false]
        );
        // Without torques the load rule falls back on the lower foot.
        assert_eq!(load.classify_contacts(&side_step, None), [false, true]);
        // Moving together (double support): both; a foot 5 cm up swings, whatever its load.
        let double = [foot(-0.700, 0.0), foot(-0.704, 0.1)];
        assert_eq!(load.classify_contacts(&double, Some(&tau)), [true, true]);
        let lifted = [foot(-0.650, 0.0), foot(-0.700, 1.0)];
        assert_eq!(load.classify_contacts(&lifted, Some(&tau)), [false, true]);
        assert_eq!(lower.classify_contacts(&lifted, Some(&tau)), [false, true]);
    }
}
