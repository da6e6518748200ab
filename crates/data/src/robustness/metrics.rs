//! Tracking metrics of one episode, computed from plain kinematic frames so that each can be
//! checked on synthetic cases with a known answer.
//!
//! - **Body position error**: per step, the mean distance between robot and reference bodies
//!   (every body but the anchor) expressed relative to their own anchor (the torso) in the
//!   anchor's heading frame: posture, free of the drift of the whole body.
//! - **Anchor position error**: distance between the anchors in the world (the reference aligned
//!   to the robot's start): drift.
//! - **Anchor orientation error**: rotation angle between the anchors (deg).
//! - **Joint RMSE** over all joints and steps (rad).
//! - **Velocity correlation**: Pearson correlation of the anchor's horizontal velocity (x and y
//!   together) and of its yaw rate, robot against reference, from finite differences.
//! - **Contact agreement**: fraction of steps × feet where the robot's contact state equals the
//!   reference's; **touchdown offset**: mean time from each reference touchdown to the nearest
//!   robot touchdown of the same foot (within 0.5 s). Reference contacts are detected from the
//!   sole's height and speed; the same detector run on the robot's own motion, against its
//!   simulated contacts, gives the detector's agreement, the ceiling of the contact agreement.

use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::{Body, BodyKinematics, NUM_BODIES, NUM_JOINTS};
use serde::Serialize;

/// The anchor body of the tracking metrics and termination rules (BeyondMimic's choice).
pub const ANCHOR: Body = Body::Torso;
/// The feet (contact timing) and end effectors (termination rule).
pub const FEET: [Body; 2] = [Body::LeftAnkleRoll, Body::RightAnkleRoll];
pub const END_EFFECTORS: [Body; 4] = [
    Body::LeftAnkleRoll,
    Body::RightAnkleRoll,
    Body::LeftWristYaw,
    Body::RightWristYaw,
];

/// A reference foot is in contact while the lowest corner of its sole is within this height of
/// the lowest any corner of that foot reaches in the episode, and that corner moves slower than
/// [`CONTACT_SPEED_MPS`] horizontally.
pub const CONTACT_HEIGHT_M: f64 = 0.02;
pub const CONTACT_SPEED_MPS: f64 = 0.7;
/// Sole points in the ankle-roll link's frame (m): the bottom corners of the G1 model's foot
/// sole box.
const SOLE_POINTS: [[f64; 3]; 4] = [
    [-0.05, 0.03, -0.037],
    [-0.05, -0.03, -0.037],
    [0.13, 0.03, -0.037],
    [0.13, -0.03, -0.037],
];
/// A lift-off shorter than this many steps is not a step (contact flicker).
const MIN_SWING_STEPS: usize = 3;
/// Touchdowns further apart than this are not matched.
const TOUCHDOWN_WINDOW_S: f64 = 0.5;

/// One step of a body's motion: every body's position and the anchor's pose, and the joints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub bodies: [Vector3<f64>; NUM_BODIES],
    pub anchor_quat: UnitQuaternion<f64>,
    /// Orientations of the feet ([`FEET`]).
    pub feet_quat: [UnitQuaternion<f64>; 2],
    pub q: [f64; NUM_JOINTS],
}

impl Frame {
    pub fn from_kinematics(kin: &BodyKinematics, q: &[f64; NUM_JOINTS]) -> Self {
        Self {
            bodies: kin.pos_w,
            anchor_quat: kin.quat_w[ANCHOR.index()],
            feet_quat: FEET.map(|b| kin.quat_w[b.index()]),
            q: *q,
        }
    }

    /// The frame of joint angles `q` whose anchor sits at `anchor_pos` with `anchor_quat` (a
    /// reference sample: the policy's reference gives joints and the anchor's pose).
    pub fn anchored(
        q: &[f64; NUM_JOINTS],
        anchor_pos: &Vector3<f64>,
        anchor_quat: &UnitQuaternion<f64>,
    ) -> Self {
        let kin = g1::forward_kinematics(
            &g1::RootState::at_rest(Vector3::zeros(), UnitQuaternion::identity()),
            q,
            &[0.0; NUM_JOINTS],
        );
        let (p0, r0) = (kin.pos_w[ANCHOR.index()], kin.quat_w[ANCHOR.index()]);
        let rot = anchor_quat * r0.inverse();
        Self {
            bodies: std::array::from_fn(|b| anchor_pos + rot * (kin.pos_w[b] - p0)),
            anchor_quat: *anchor_quat,
            feet_quat: FEET.map(|b| rot * kin.quat_w[b.index()]),
            q: *q,
        }
    }

    pub fn anchor(&self) -> Vector3<f64> {
        self.bodies[ANCHOR.index()]
    }

    /// Sole point `i` of foot `f` in the world.
    fn sole_point(&self, f: usize, i: usize) -> Vector3<f64> {
        self.bodies[FEET[f].index()] + self.feet_quat[f] * Vector3::from(SOLE_POINTS[i])
    }

    /// Which sole corner of foot `f` is lowest.
    fn lowest_sole_point(&self, f: usize) -> usize {
        (1..SOLE_POINTS.len()).fold(0, |best, i| {
            if self.sole_point(f, i).z < self.sole_point(f, best).z {
                i
            } else {
                best
            }
        })
    }

    /// Body `b` relative to the anchor, in the anchor's heading frame.
    fn local(&self, b: usize) -> Vector3<f64> {
        let yaw = g1::bodypos::heading_yaw(&self.anchor_quat);
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), -yaw) * (self.bodies[b] - self.anchor())
    }
}

/// When a tracking episode ends early: the anchor's height, or a foot's or hand's height,
/// further than a bound from the reference's, or the anchor's gravity direction off (the z
/// component of the gravity vector in the anchor's frame). The defaults are the rules
/// BeyondMimic (and mjlab's tracking task) train with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminationRule {
    pub anchor_height_m: f64,
    pub anchor_gravity_z: f64,
    pub end_effector_height_m: f64,
}

impl Default for TerminationRule {
    fn default() -> Self {
        Self {
            anchor_height_m: 0.25,
            anchor_gravity_z: 0.8,
            end_effector_height_m: 0.25,
        }
    }
}

impl TerminationRule {
    /// Which part of the rule `robot` breaks against `reference`, if any.
    pub fn check(&self, robot: &Frame, reference: &Frame) -> Option<&'static str> {
        if (robot.anchor().z - reference.anchor().z).abs() > self.anchor_height_m {
            return Some("anchor height");
        }
        let gz = |q: &UnitQuaternion<f64>| (q.inverse() * Vector3::new(0.0, 0.0, -1.0)).z;
        if (gz(&robot.anchor_quat) - gz(&reference.anchor_quat)).abs() > self.anchor_gravity_z {
            return Some("anchor orientation");
        }
        if END_EFFECTORS.iter().any(|b| {
            (robot.bodies[b.index()].z - reference.bodies[b.index()].z).abs()
                > self.end_effector_height_m
        }) {
            return Some("end-effector height");
        }
        None
    }
}

/// Contact phases of a motion from its foot heights and speeds (see [`CONTACT_HEIGHT_M`]).
pub fn kinematic_contacts(frames: &[Frame], dt_s: f64) -> Vec<[bool; 2]> {
    kinematic_contacts_with(frames, dt_s, CONTACT_HEIGHT_M, CONTACT_SPEED_MPS)
}

/// [`kinematic_contacts`] with other thresholds.
pub fn kinematic_contacts_with(
    frames: &[Frame],
    dt_s: f64,
    height: f64,
    max_speed: f64,
) -> Vec<[bool; 2]> {
    let n = frames.len();
    let lowest: Vec<[usize; 2]> = frames
        .iter()
        .map(|f| [f.lowest_sole_point(0), f.lowest_sole_point(1)])
        .collect();
    let floor: [f64; 2] = std::array::from_fn(|f| {
        (0..n)
            .map(|k| frames[k].sole_point(f, lowest[k][f]).z)
            .fold(f64::INFINITY, f64::min)
    });
    (0..n)
        .map(|k| {
            std::array::from_fn(|f| {
                // The speed of the corner that is lowest now (a heel or toe pivot is still).
                let i = lowest[k][f];
                let (a, c) = (k.saturating_sub(1), (k + 1).min(n - 1));
                let d = frames[c].sole_point(f, i) - frames[a].sole_point(f, i);
                let speed = if c > a {
                    d.xy().norm() / ((c - a) as f64 * dt_s)
                } else {
                    0.0
                };
                frames[k].sole_point(f, i).z <= floor[f] + height && speed < max_speed
            })
        })
        .collect()
}

/// Steps at which foot `f` touches down after a swing of at least [`MIN_SWING_STEPS`].
fn touchdowns(contacts: &[[bool; 2]], f: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut swing: Option<usize> = None;
    for (k, c) in contacts.iter().enumerate() {
        if c[f] {
            if swing.is_some_and(|s| s >= MIN_SWING_STEPS) {
                out.push(k);
            }
            swing = None;
        } else {
            swing = Some(swing.map_or(1, |s| s + 1));
        }
    }
    out
}

/// Pearson correlation of two equally long series; `None` when either is constant.
pub fn correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len().min(b.len());
    if n < 2 {
        return None;
    }
    let (ma, mb) = (
        a[..n].iter().sum::<f64>() / n as f64,
        b[..n].iter().sum::<f64>() / n as f64,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (a[i] - ma, b[i] - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    (saa > 1e-12 && sbb > 1e-12).then(|| sab / (saa * sbb).sqrt())
}

/// Horizontal velocity (x then y, concatenated) and yaw rate of the anchor by differences.
fn anchor_velocities(frames: &[Frame], dt_s: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut vx, mut vy, mut wz) = (Vec::new(), Vec::new(), Vec::new());
    for w in frames.windows(2) {
        let d = (w[1].anchor() - w[0].anchor()) / dt_s;
        vx.push(d.x);
        vy.push(d.y);
        let (y0, y1) = (
            g1::bodypos::heading_yaw(&w[0].anchor_quat),
            g1::bodypos::heading_yaw(&w[1].anchor_quat),
        );
        let mut dy = y1 - y0;
        dy -= (dy / std::f64::consts::TAU).round() * std::f64::consts::TAU;
        wz.push(dy / dt_s);
    }
    vx.extend(vy);
    (vx, wz)
}

/// Per-step errors of one episode (the steps until its end, fall or termination).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrackingErrors {
    pub body_pos_m: Vec<f64>,
    pub anchor_pos_m: Vec<f64>,
    pub anchor_ori_deg: Vec<f64>,
    /// Squared joint errors summed over joints, per step.
    pub joint_sq: Vec<f64>,
    pub lin_vel_corr: Option<f64>,
    pub ang_vel_corr: Option<f64>,
    /// Steps × feet compared, and those that agree.
    pub contact_pairs: usize,
    pub contact_agree: usize,
    /// The detector's own agreement: the robot's contacts detected from its kinematics as the
    /// reference's are, against its simulated contacts (the ceiling of `contact_agree`).
    pub detector_agree: usize,
    /// Time from each matched reference touchdown to the robot's (s).
    pub touchdown_offsets_s: Vec<f64>,
}

/// The tracking errors of `robot` against `reference` (same length and rate).
pub fn tracking_errors(
    robot: &[Frame],
    reference: &[Frame],
    robot_contacts: &[[bool; 2]],
    dt_s: f64,
) -> TrackingErrors {
    let n = robot.len().min(reference.len()).min(robot_contacts.len());
    let (robot, reference, robot_contacts) = (&robot[..n], &reference[..n], &robot_contacts[..n]);
    let mut e = TrackingErrors::default();
    let bodies: Vec<usize> = (0..NUM_BODIES).filter(|&b| b != ANCHOR.index()).collect();
    for (r, f) in robot.iter().zip(reference) {
        let body = bodies
            .iter()
            .map(|&b| (r.local(b) - f.local(b)).norm())
            .sum::<f64>()
            / bodies.len() as f64;
        e.body_pos_m.push(body);
        e.anchor_pos_m.push((r.anchor() - f.anchor()).norm());
        e.anchor_ori_deg
            .push(r.anchor_quat.angle_to(&f.anchor_quat).to_degrees());
        e.joint_sq
            .push((0..NUM_JOINTS).map(|j| (r.q[j] - f.q[j]).powi(2)).sum());
    }
    let (rv, rw) = anchor_velocities(robot, dt_s);
    let (fv, fw) = anchor_velocities(reference, dt_s);
    e.lin_vel_corr = correlation(&rv, &fv);
    e.ang_vel_corr = correlation(&rw, &fw);
    let ref_contacts = kinematic_contacts(reference, dt_s);
    let own = kinematic_contacts(robot, dt_s);
    for ((a, b), c) in robot_contacts.iter().zip(&ref_contacts).zip(&own) {
        for f in 0..2 {
            e.contact_pairs += 1;
            e.contact_agree += (a[f] == b[f]) as usize;
            e.detector_agree += (a[f] == c[f]) as usize;
        }
    }
    let window = (TOUCHDOWN_WINDOW_S / dt_s).round() as i64;
    for f in 0..2 {
        let ours = touchdowns(robot_contacts, f);
        for t in touchdowns(&ref_contacts, f) {
            if let Some(d) = ours
                .iter()
                .map(|&o| o as i64 - t as i64)
                .filter(|d| d.abs() <= window)
                .min_by_key(|d| d.abs())
            {
                e.touchdown_offsets_s.push(d as f64 * dt_s);
            }
        }
    }
    e
}

/// Velocity-command tracking of one episode: per step the realised heading-frame velocity
/// `[vx, vy, wz]` and the command; steps within `settle_steps` of a command change are skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CommandErrors {
    /// Squared planar velocity error (m²/s²) and squared yaw-rate error, per counted step.
    pub lin_sq: Vec<f64>,
    pub ang_sq: Vec<f64>,
    pub lin_vel_corr: Option<f64>,
    pub ang_vel_corr: Option<f64>,
}

pub fn command_errors(
    actual: &[[f64; 3]],
    command: &[[f64; 3]],
    settle_steps: usize,
) -> CommandErrors {
    let n = actual.len().min(command.len());
    let mut e = CommandErrors::default();
    let mut since_change = 0usize;
    let (mut a_lin, mut c_lin, mut a_ang, mut c_ang) = (vec![], vec![], vec![], vec![]);
    for k in 0..n {
        if k > 0 && command[k] != command[k - 1] {
            since_change = 0;
        }
        since_change += 1;
        let (a, c) = (actual[k], command[k]);
        a_lin.extend([a[0], a[1]]);
        c_lin.extend([c[0], c[1]]);
        a_ang.push(a[2]);
        c_ang.push(c[2]);
        if since_change > settle_steps {
            e.lin_sq.push((a[0] - c[0]).powi(2) + (a[1] - c[1]).powi(2));
            e.ang_sq.push((a[2] - c[2]).powi(2));
        }
    }
    e.lin_vel_corr = correlation(&a_lin, &c_lin);
    e.ang_vel_corr = correlation(&a_ang, &c_ang);
    e
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
