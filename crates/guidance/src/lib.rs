//! Task costs on a planned trajectory and their analytic gradients (no libtorch).
//!
//! Costs are written on the predicted states in physical units, in the character frame of the
//! current step t (the frame every window is expressed in): joystick (planar root velocity;
//! its yaw rate in a separate [`YawRate`] cost),
//! waypoint (root position, slowing to a stop), obstacles (signed distance of every body sphere
//! to unions of sphere/box/cylinder primitives under a relaxed log barrier). [`Guidance`] sums
//! weighted costs and returns the gradient with respect to the *normalised* states the
//! denoiser sees, through de-normalisation and the Body-Pos layout (body positions live in
//! each step's own character frame, placed by that step's root position and heading).

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod route;
pub mod sdf;

use g1::bodypos::layout;
use g1::{NUM_BODIES, STATE_DIM};
use serde::{Deserialize, Serialize};

pub use route::{planar_clearance, Route, RouteParams};
pub use sdf::Shape;

/// Steps of a window (t−4 … t+16) and the index of step t.
pub const STEPS: usize = g1_diffusion::STEPS;
pub const NOW: usize = g1_diffusion::HISTORY;

/// A cost on the physical states `x` ([STEPS × state width], frame of step t). `eval` returns
/// the cost and adds its gradient to `grad`. The root costs read only the global part that every
/// state layout shares (`g1::state`), so they work with Body-Pos and joint-space models alike;
/// [`Obstacles`] reads body positions and needs Body-Pos states.
pub trait Cost {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64;
}

fn planned() -> std::ops::Range<usize> {
    NOW + 1..STEPS
}

/// Numbers per state of a trajectory `x` of STEPS states.
fn width(x: &[f64]) -> usize {
    x.len() / STEPS
}

/// Joystick: G = ½ Σ_t' ‖v_xy,t' − g_v,t'‖² over the planned steps. With `approach` off the goal
/// is the same at every step, as docs/METHOD.md writes it; with it, the goal of step t + i starts at
/// the measured velocity and moves toward the command by at most `max_change` per step (a
/// reachable reference: after a push the plan is not asked to cancel it within one step).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Joystick {
    /// Goal planar velocity (m/s) in the frame of step t.
    pub velocity: [f64; 2],
    /// Where the goal starts at step t (the measured planar velocity; with the controller's
    /// disturbance gate partly open, a blend of it and the command) and the largest change of
    /// the goal per planned step (m/s); None: the constant goal.
    #[serde(default)]
    pub approach: Option<([f64; 2], f64)>,
}

impl Joystick {
    /// The constant goal of docs/METHOD.md.
    pub fn constant(velocity: [f64; 2]) -> Self {
        Self {
            velocity,
            approach: None,
        }
    }

    /// The goal velocity of step t + `i` (i ≥ 1).
    pub fn goal(&self, i: usize) -> [f64; 2] {
        let Some((from, max_change)) = self.approach else {
            return self.velocity;
        };
        toward(from, self.velocity, max_change * i as f64)
    }
}

/// `to`, or the point `max` away from `from` on the straight line to it when `to` is farther
/// (planar velocities, m/s).
pub fn toward(from: [f64; 2], to: [f64; 2], max: f64) -> [f64; 2] {
    let d = [to[0] - from[0], to[1] - from[1]];
    let n = d[0].hypot(d[1]);
    if n <= max {
        to
    } else {
        [from[0] + d[0] * max / n, from[1] + d[1] * max / n]
    }
}

impl Cost for Joystick {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut g = 0.0;
        let sd = width(x);
        for t in planned() {
            let goal = self.goal(t - NOW);
            let o = t * sd + layout::ROOT_LIN_VEL.start;
            for k in 0..2 {
                let e = x[o + k] - goal[k];
                g += 0.5 * e * e;
                grad[o + k] += e;
            }
        }
        g
    }
}

/// Yaw rate: G = ½ Σ_t' (ω_z,t' − g_ω)² over the planned steps (root angular velocity about
/// the vertical). Not one of the method's costs (docs/METHOD.md): the joystick cost constrains only the planar
/// velocity in the heading frame, so a plan that turns satisfies it as well as one that does
/// not; this cost carries the joystick's angular command (and 0 rad/s = hold the heading).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct YawRate {
    /// Goal yaw rate (rad/s, counter-clockwise positive, REP-103).
    pub rate: f64,
}

impl Cost for YawRate {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut g = 0.0;
        let sd = width(x);
        for t in planned() {
            let o = t * sd + layout::ROOT_ANG_VEL.start + 2;
            let e = x[o] - self.rate;
            g += 0.5 * e * e;
            grad[o] += e;
        }
        g
    }
}

/// Waypoint: G = Σ_t' (1 − e^{−2d}) ‖p_t' − g_p‖² + e^{−2d} ‖v_t'‖², d = ‖p_t' − g_p‖ held
/// constant in the gradient (so the plan slows down and stops at the goal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Waypoint {
    /// Goal root position (m, planar) in the frame of step t.
    pub position: [f64; 2],
}

impl Waypoint {
    fn weights(&self, x: &[f64], t: usize) -> f64 {
        let o = t * width(x);
        let d = ((x[o] - self.position[0]).powi(2) + (x[o + 1] - self.position[1]).powi(2)).sqrt();
        (-2.0 * d).exp()
    }
}

impl Cost for Waypoint {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let mut g = 0.0;
        for t in planned() {
            let w = self.weights(x, t);
            let o = t * width(x);
            let v = o + layout::ROOT_LIN_VEL.start;
            for k in 0..2 {
                let e = x[o + k] - self.position[k];
                g += (1.0 - w) * e * e + w * x[v + k] * x[v + k];
                grad[o + k] += 2.0 * (1.0 - w) * e;
                grad[v + k] += 2.0 * w * x[v + k];
            }
        }
        g
    }
}

/// The relaxed log barrier B(x, δ): −ln x for x ≥ δ, −ln δ + ½[((x − 2δ)/δ)² − 1] below.
/// Returns (B, dB/dx).
pub fn relaxed_log_barrier(x: f64, delta: f64) -> (f64, f64) {
    if x >= delta {
        (-x.ln(), -1.0 / x)
    } else {
        let z = (x - 2.0 * delta) / delta;
        (-delta.ln() + 0.5 * (z * z - 1.0), z / delta)
    }
}

/// Yaw of the rotation exp(ω) (heading of its x axis) and its gradient with respect to ω.
pub fn rotvec_yaw(w: [f64; 3]) -> (f64, [f64; 3]) {
    let th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
    let th = th2.sqrt();
    // a = sinθ/θ, b = (1 − cosθ)/θ², and a'(θ)/θ, b'(θ)/θ (series near 0).
    let (a, b, da, db) = if th < 1e-4 {
        (
            1.0 - th2 / 6.0,
            0.5 - th2 / 24.0,
            -1.0 / 3.0 + th2 / 30.0,
            -1.0 / 12.0 + th2 / 180.0,
        )
    } else {
        let (s, c) = th.sin_cos();
        (
            s / th,
            (1.0 - c) / th2,
            (th * c - s) / (th2 * th),
            (th * s - 2.0 * (1.0 - c)) / (th2 * th2),
        )
    };
    let r00 = 1.0 - b * (w[1] * w[1] + w[2] * w[2]);
    let r10 = a * w[2] + b * w[0] * w[1];
    let mut g = [0.0; 3];
    let n = r00 * r00 + r10 * r10;
    for i in 0..3 {
        let d = |j: usize| if i == j { 1.0 } else { 0.0 };
        let dr00 =
            -db * w[i] * (w[1] * w[1] + w[2] * w[2]) - b * (2.0 * w[1] * d(1) + 2.0 * w[2] * d(2));
        let dr10 =
            da * w[i] * w[2] + a * d(2) + db * w[i] * w[0] * w[1] + b * (d(0) * w[1] + d(1) * w[0]);
        g[i] = (r00 * dr10 - r10 * dr00) / n;
    }
    (r10.atan2(r00), g)
}

/// Default collision-sphere radii of the 30 bodies (m), indexed like `g1::Body`.
pub fn default_body_radii() -> [f64; NUM_BODIES] {
    use g1::Body::*;
    let mut r = [0.05; NUM_BODIES];
    for (b, v) in [
        (Pelvis, 0.14),
        (Torso, 0.16),
        (WaistYaw, 0.10),
        (WaistRoll, 0.10),
        (LeftHipPitch, 0.09),
        (RightHipPitch, 0.09),
        (LeftHipRoll, 0.09),
        (RightHipRoll, 0.09),
        (LeftHipYaw, 0.08),
        (RightHipYaw, 0.08),
        (LeftKnee, 0.07),
        (RightKnee, 0.07),
        (LeftAnklePitch, 0.05),
        (RightAnklePitch, 0.05),
        (LeftAnkleRoll, 0.06),
        (RightAnkleRoll, 0.06),
        (LeftShoulderPitch, 0.06),
        (RightShoulderPitch, 0.06),
        (LeftElbow, 0.05),
        (RightElbow, 0.05),
    ] {
        r[b as usize] = v;
    }
    r
}

/// The barrier cut off at distance m > δ: B(x, δ) + ln m + (x − m)/m below m, 0 beyond. Value
/// and slope are 0 at m (C¹), so bodies farther than m feel nothing; below m it differs from B
/// by an affine term only. Returns (value, slope).
pub fn cut_off_barrier(x: f64, delta: f64, m: f64) -> (f64, f64) {
    if x >= m {
        return (0.0, 0.0);
    }
    let (b, db) = relaxed_log_barrier(x, delta);
    (b + m.ln() + (x - m) / m, db + 1.0 / m)
}

/// Obstacles: G = Σ_t' Σ_b B(SDF(p_b,t') − r_b, δ) with SDF the union (minimum) of the shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Obstacles {
    /// Shapes in the frame of step t.
    pub shapes: Vec<Shape>,
    pub body_radii: [f64; NUM_BODIES],
    /// Barrier relaxation δ (m).
    pub delta: f64,
    /// Influence distance m (m): with m > δ the barrier is [`cut_off_barrier`], so only bodies
    /// nearer than m to an obstacle are pushed; 0 = the method's barrier (docs/METHOD.md) everywhere (its push
    /// falls off only as 1/x: summed over 30 bodies it outweighs a goal metres away).
    #[serde(default)]
    pub influence: f64,
    /// The hands: the state holds the wrist-yaw links' origins, but each hand's collision
    /// shape reaches about 0.1 m beyond along the forearm. With k > 0 each wrist also
    /// contributes a point k · (wrist − elbow) beyond the wrist (0.38 ≈ the hand's centre),
    /// with the wrist's radius; 0 = the bodies' origins alone.
    #[serde(default)]
    pub hand_extension: f64,
}

/// (wrist, elbow) body pairs whose extension [`Obstacles::hand_extension`] adds.
const HANDS: [(g1::Body, g1::Body); 2] = [
    (g1::Body::LeftWristYaw, g1::Body::LeftElbow),
    (g1::Body::RightWristYaw, g1::Body::RightElbow),
];

impl Obstacles {
    fn barrier(&self, x: f64) -> (f64, f64) {
        if self.influence > self.delta {
            cut_off_barrier(x, self.delta, self.influence)
        } else {
            relaxed_log_barrier(x, self.delta)
        }
    }
}

impl Cost for Obstacles {
    fn eval(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        if self.shapes.is_empty() {
            return 0.0;
        }
        // Body positions exist only in Body-Pos states (the controller refuses obstacles for
        // other layouts before building this cost).
        assert_eq!(width(x), STATE_DIM, "obstacle costs need Body-Pos states");
        let mut g = 0.0;
        for t in planned() {
            let o = t * STATE_DIM;
            let rv = layout::ROOT_ROTVEC.start;
            let (yaw, dyaw) = rotvec_yaw([x[o + rv], x[o + rv + 1], x[o + rv + 2]]);
            let (s, c) = yaw.sin_cos();
            let mut g_yaw = 0.0;
            // One point q (root-relative, heading-aligned axes) of radius r against the
            // shapes: its barrier, the gradient on the root position and yaw accumulated here,
            // and the gradient with respect to q returned.
            let mut touch = |q: [f64; 3], r: f64, grad: &mut [f64]| -> [f64; 3] {
                let p = [
                    x[o] + c * q[0] - s * q[1],
                    x[o + 1] + s * q[0] + c * q[1],
                    q[2],
                ];
                let (d, n) = sdf::union(&self.shapes, p);
                let (bv, db) = self.barrier(d - r);
                g += bv;
                let gp = [db * n[0], db * n[1], db * n[2]];
                grad[o] += gp[0];
                grad[o + 1] += gp[1];
                // p = origin + Rz(yaw)·q: ∂/∂q = Rz(yaw)ᵀ·gp, ∂/∂yaw = gp · Rz'(yaw)·q.
                g_yaw += gp[0] * (-s * q[0] - c * q[1]) + gp[1] * (c * q[0] - s * q[1]);
                [c * gp[0] + s * gp[1], -s * gp[0] + c * gp[1], gp[2]]
            };
            for b in 0..NUM_BODIES {
                let q = o + layout::body_pos(b).start;
                let gq = touch([x[q], x[q + 1], x[q + 2]], self.body_radii[b], grad);
                for i in 0..3 {
                    grad[q + i] += gq[i];
                }
            }
            if self.hand_extension > 0.0 {
                let k = self.hand_extension;
                for (wrist, elbow) in HANDS {
                    let (qw, qe) = (
                        o + layout::body_pos(wrist as usize).start,
                        o + layout::body_pos(elbow as usize).start,
                    );
                    // The hand point: w + k (w − e).
                    let h = std::array::from_fn(|i| (1.0 + k) * x[qw + i] - k * x[qe + i]);
                    let gh = touch(h, self.body_radii[wrist as usize], grad);
                    for i in 0..3 {
                        grad[qw + i] += (1.0 + k) * gh[i];
                        grad[qe + i] -= k * gh[i];
                    }
                }
            }
            for i in 0..3 {
                grad[o + rv + i] += g_yaw * dyaw[i];
            }
        }
        g
    }
}

/// Weighted task costs with their gradient in normalised units.
#[derive(Default)]
pub struct Guidance {
    pub terms: Vec<(f64, Box<dyn Cost + Send + Sync>)>,
}

impl Guidance {
    pub fn push(&mut self, weight: f64, cost: impl Cost + Send + Sync + 'static) {
        self.terms.push((weight, Box::new(cost)));
    }

    /// Total cost of normalised states `xn` ([STEPS × STATE_DIM]) and its gradient with respect
    /// to them (written into `grad_n`).
    pub fn eval_normalised(
        &self,
        xn: &[f32],
        stats: &g1_diffusion::Stats,
        grad_n: &mut [f32],
    ) -> f64 {
        let x: Vec<f64> = xn.iter().map(|v| *v as f64).collect();
        let mut g = vec![0.0f64; xn.len()];
        let total = self.eval_normalised_f64(&x, stats, &mut g);
        for (o, v) in grad_n.iter_mut().zip(&g) {
            *o = *v as f32;
        }
        total
    }

    /// [`Guidance::eval_normalised`] in double precision.
    pub fn eval_normalised_f64(
        &self,
        xn: &[f64],
        stats: &g1_diffusion::Stats,
        grad_n: &mut [f64],
    ) -> f64 {
        let mut x = vec![0.0f64; xn.len()];
        let sd = stats.state_std.len();
        for (i, v) in xn.iter().enumerate() {
            let d = i % sd;
            x[i] = v * stats.state_std[d] + stats.state_mean[d];
        }
        let mut total = 0.0;
        let mut grad = vec![0.0f64; xn.len()];
        let mut part = vec![0.0f64; xn.len()];
        for (w, c) in &self.terms {
            part.iter_mut().for_each(|v| *v = 0.0);
            total += w * c.eval(&x, &mut part);
            for (g, p) in grad.iter_mut().zip(&part) {
                *g += w * p;
            }
        }
        for (i, g) in grad.iter().enumerate() {
            grad_n[i] = g * stats.state_std[i % sd];
        }
        total
    }
}
