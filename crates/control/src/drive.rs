//! The simulated G1 under the diffusion controller, in lockstep with simulated planning
//! latency: a plan computed from the state at step k is applied from step k + ⌈latency / dt⌉
//! (at least k + 1), and the planner starts the next plan as soon as one lands — as a planning
//! thread would. The 50 Hz loop executes the newest plan's action for the current step; with no
//! usable plan it holds the last targets, then switches to damping.

use std::collections::VecDeque;

use anyhow::{bail, Result};
use g1::bodypos::layout::ROOT_LIN_VEL;
use g1::bodypos::{build_state_self, rebase_state, CharacterFrame};
use g1::{forward_kinematics, BodyPosState, JOINTS, NUM_JOINTS, STATE_DIM};
use g1_diffusion::HISTORY;
use g1_guidance::{
    default_body_radii, Guidance, Joystick, Obstacles, Route, RouteParams, Shape, Waypoint, YawRate,
};
use g1_sim::{InitialState, MotorCommand, Obstacle, Sim};
use serde::{Deserialize, Serialize};

use crate::planner::{Plan, Planner};

/// What the controller is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// No guidance: the model's own behaviour from the history.
    Free,
    /// Planar root velocity (m/s) in the robot's heading frame and yaw rate (rad/s,
    /// counter-clockwise; absent in YAML/JSON = 0: hold the heading).
    Joystick {
        velocity: [f64; 2],
        #[serde(default)]
        yaw_rate: f64,
    },
    /// Walk to a world position (m) and stop there, avoiding the scene's obstacles.
    Waypoint { goal: [f64; 2] },
}

/// Guidance weights and the control fallbacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    pub joystick_weight: f64,
    pub waypoint_weight: f64,
    pub obstacle_weight: f64,
    /// Barrier relaxation δ (m).
    pub obstacle_delta: f64,
    /// Control steps to hold the last targets once no plan covers the current step, before
    /// damping.
    pub hold_steps: u64,
    /// Task weights ramp from 0 to full over this many seconds after the start (warm start
    /// from the standing history).
    pub guidance_warmup_s: f64,
    /// When a plan's targets reach the joints. 0: at the state's time plus the plan's measured
    /// compute time, rounded up to the physics step (the targets change within the control
    /// period, as the robot's 500 Hz command stream does); N ≥ 1: at the start of a control
    /// period, at least N periods after the state (whole-period latency; N = 2 simulates a
    /// planner slower than the measured one).
    pub min_plan_delay_steps: u64,
    /// The waypoint cost aims at the farthest point in sight of a route to the goal around the
    /// obstacles (`g1_guidance::Route`), at most this far ahead (m), not at the goal itself
    /// (the goal behind an obstacle pulls the plan into it); 0 = at the goal.
    pub waypoint_lookahead_m: f64,
    /// Obstacles push only bodies nearer than this (m; the barrier cut off, C¹); 0 = the
    /// barrier of SPEC.md at every distance.
    pub obstacle_influence_m: f64,
    /// Waypoint task: also walk along the route at this speed (m/s; a joystick cost with weight
    /// `route_weight` towards the route point `route_lookahead_m` ahead), slowing linearly
    /// within `route_slow_m` of the goal; 0 = off.
    pub route_speed_mps: f64,
    pub route_weight: f64,
    pub route_lookahead_m: f64,
    pub route_slow_m: f64,
    /// The route keeps the root this far from obstacle surfaces (m).
    pub route_clearance_m: f64,
    /// Joystick commands change by at most this much per second (m/s², on the planar velocity
    /// vector; a new joystick task starts from the measured velocity); 0 = step changes.
    pub joystick_accel_mps2: f64,
    /// Joystick tasks: the goal velocity of each planned step starts from the measured velocity
    /// and approaches the command at this acceleration (m/s²) along the plan
    /// (`g1_guidance::Joystick::approach`); 0 = the same goal at every step (SPEC.md).
    pub joystick_approach_mps2: f64,
    /// Weight of the yaw-rate cost on joystick tasks (`g1_guidance::YawRate`, towards the
    /// command's yaw rate; 0 = off, the planar velocity alone as in SPEC.md).
    pub yaw_rate_weight: f64,
    /// Disturbance gate (`DisturbanceGate`) on the joystick goal: `[d0, d1]` m/s of
    /// surprise — the planar root velocity measured at a step minus the velocity the executing
    /// plan's model predicted for it (a push, a stumble). Above d1 the gate closes: the
    /// joystick goal of each planned step starts from the measured velocity and approaches the
    /// command at `joystick_approach_mps2` (which must then be > 0); below d0 it stays open
    /// (the command at every planned step, as in SPEC.md); linear between. After a surprise
    /// the gate reopens at most at 1 / `disturbance_reopen_s` per second. `[0, 0]` = off
    /// (with `joystick_approach_mps2` > 0: always from the measured velocity).
    pub disturbance_gate_mps: [f64; 2],
    pub disturbance_reopen_s: f64,
}

impl Default for ControlConfig {
    fn default() -> Self {
        // Diffuse-CLoC's weights are joystick 0.1, waypoint 0.06–0.2, obstacle 1. With this
        // model and the planner's physical-units step (λ = 5), measured with `g1d eval`
        // (README): joystick 1.0 (0.09 m/s error; 0.1 left 0.42 m/s under the old normalised
        // step), waypoint 0.3, obstacle 0.4 (20 obstacle-course runs: 108 contact steps in all
        // where 0.2 had 3124). With those alone the waypoint was reached in 12–13/20 runs
        // (overshoot, wide circles) and the obstacle course in none: the barrier's 1/x push,
        // summed over 30 bodies, outweighed the goal metres away (the robot stood, or walked
        // away), and a goal behind an obstacle is a local minimum. Route guidance (same 8
        // seeds per scenario, README): the barrier cut off at 0.3 m, the waypoint cost aimed
        // at the route point in sight, and a joystick cost along the route at 0.6 m/s:
        // waypoint 8/8, obstacle course 8/8 with no contact, also with the planner delayed a
        // step (waypoint 0/8 before; 0.4 m/s: obstacle course 4/8 delayed, time-outs; the
        // route alone without the walking speed: 0/8 in both).
        // Yaw rate 1.0 (session 9, 50-run screens): without it the joystick cost is met by a
        // turning plan as well, and the model drifted into clockwise circles when asked to walk
        // straight (walk+perturb top view); 1.0 holds the heading (0.3 still drifted), joystick
        // error 0.11 m/s (0.10 without), walk+perturb falls 7/50 (5/50 without; 6/50 at 0.3
        // and 3.0: within the spread of 50 runs).
        // Disturbance gate (session 11, walk+perturb alone, 50 runs on each of two seed sets,
        // falls out of 100): off 12; gate [0.1, 0.3] m/s, reopen 1 s, approach 0.5 m/s² 4
        // (speed kept, joystick square 100 %, 0.12 m/s error); [0.15, 0.35] 6; reopen 2 s 5;
        // reopen 0.5 s 16; approach 1 m/s² 13. Without the gate the approach at 0.5 m/s² also
        // fell rarely (2/50) but the robot never started walking on the joystick square.
        Self {
            joystick_weight: 1.0,
            waypoint_weight: 0.3,
            obstacle_weight: 0.4,
            obstacle_delta: 0.05,
            hold_steps: 10,
            guidance_warmup_s: 0.0,
            min_plan_delay_steps: 1,
            waypoint_lookahead_m: 5.0,
            obstacle_influence_m: 0.3,
            route_clearance_m: 0.4,
            route_speed_mps: 0.6,
            route_weight: 1.0,
            route_lookahead_m: 1.0,
            route_slow_m: 1.0,
            joystick_accel_mps2: 1.0,
            yaw_rate_weight: 1.0,
            joystick_approach_mps2: 0.5,
            disturbance_gate_mps: [0.1, 0.3],
            disturbance_reopen_s: 1.0,
        }
    }
}

/// Per-step record of a drive.
#[derive(Debug, Clone, Serialize)]
pub struct StepLog {
    pub time_s: f64,
    pub root_xy: [f64; 2],
    pub yaw: f64,
    /// Root planar velocity in the heading frame (m/s).
    pub vel_heading: [f64; 2],
    pub plan_age_steps: Option<u64>,
    pub mode: &'static str,
    /// Measured minus predicted planar root velocity (m/s) at this step's start, when a plan
    /// covered it.
    pub surprise_mps: Option<f64>,
    /// The disturbance gate after this step's surprise (1 = open).
    pub gate: f64,
    /// Pushes the simulator has applied so far (this step's included).
    pub pushes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriveOutcome {
    pub steps: u64,
    pub fell: bool,
    pub fall_time_s: Option<f64>,
    pub final_xy: [f64; 2],
    pub obstacle_contact_steps: u64,
    pub plans: usize,
    pub plan_latency_ms: Vec<f64>,
    pub denoiser_calls: Vec<usize>,
    /// Control steps whose action came from a plan younger than 100 ms.
    pub fresh_plan_steps: u64,
    pub hold_steps: u64,
    pub damping_steps: u64,
    /// Plans the planner could not produce (non-finite output), and the first reason.
    pub failed_plans: usize,
    pub first_failure: Option<String>,
    pub log: Vec<StepLog>,
}

impl ControlConfig {
    pub fn check(&self) -> Result<()> {
        for (k, v) in [
            ("joystick_weight", self.joystick_weight),
            ("waypoint_weight", self.waypoint_weight),
            ("obstacle_weight", self.obstacle_weight),
            ("guidance_warmup_s", self.guidance_warmup_s),
            ("waypoint_lookahead_m", self.waypoint_lookahead_m),
            ("route_clearance_m", self.route_clearance_m),
            ("obstacle_influence_m", self.obstacle_influence_m),
            ("route_speed_mps", self.route_speed_mps),
            ("route_weight", self.route_weight),
            ("route_lookahead_m", self.route_lookahead_m),
            ("route_slow_m", self.route_slow_m),
            ("joystick_accel_mps2", self.joystick_accel_mps2),
            ("yaw_rate_weight", self.yaw_rate_weight),
            ("joystick_approach_mps2", self.joystick_approach_mps2),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                bail!("control.{k} = {v} must be finite and ≥ 0");
            }
        }
        if !(self.obstacle_delta > 0.0 && self.obstacle_delta.is_finite()) {
            bail!(
                "control.obstacle_delta = {} must be > 0",
                self.obstacle_delta
            );
        }
        let [d0, d1] = self.disturbance_gate_mps;
        if !(d0.is_finite() && d1.is_finite() && d0 >= 0.0 && (d1 == 0.0 || d1 > d0)) {
            bail!(
                "control.disturbance_gate_mps = [{d0}, {d1}] must be [0, 0] (off) or 0 ≤ d0 < d1"
            );
        }
        if d1 > 0.0 && self.joystick_approach_mps2 <= 0.0 {
            bail!("control.disturbance_gate_mps needs control.joystick_approach_mps2 > 0");
        }
        if !(self.disturbance_reopen_s > 0.0 && self.disturbance_reopen_s.is_finite()) {
            bail!(
                "control.disturbance_reopen_s = {} must be > 0",
                self.disturbance_reopen_s
            );
        }
        if self.obstacle_influence_m > 0.0 && self.obstacle_influence_m <= self.obstacle_delta {
            bail!(
                "control.obstacle_influence_m = {} must be 0 (off) or above obstacle_delta = {}",
                self.obstacle_influence_m,
                self.obstacle_delta
            );
        }
        Ok(())
    }
}

/// The acceleration limit on joystick commands ([`ControlConfig::joystick_accel_mps2`]): the
/// velocity the joystick cost asks for moves toward the commanded one by at most accel · dt
/// per control step. A step from standing to 0.5 m/s toppled the small model in 3 of 40
/// seeded starts (in 0 of 40 with a half-way step 0.5 s earlier; README).
#[derive(Debug, Default, Clone)]
pub struct CommandRamp {
    velocity: Option<[f64; 2]>,
}

impl CommandRamp {
    /// `task` with its joystick velocity limited; `measured` is the robot's planar velocity in
    /// its heading frame (where a new joystick task starts from). Other tasks pass unchanged
    /// and end the ramp.
    pub fn apply(&mut self, task: Task, measured: [f64; 2], accel: f64, dt: f64) -> Task {
        let Task::Joystick {
            velocity: target,
            yaw_rate,
        } = task
        else {
            self.velocity = None;
            return task;
        };
        let from = self.velocity.unwrap_or(measured);
        let v = if accel <= 0.0 {
            target
        } else {
            g1_guidance::toward(from, target, accel * dt)
        };
        self.velocity = Some(v);
        Task::Joystick {
            velocity: v,
            yaw_rate,
        }
    }
}

/// How far the robot's planar root velocity at control step `k` (`state`, self-framed in
/// `frame`) is from what the model predicted for it when it made `plan` (expressed in
/// `plan_frame`), in m/s; None when the plan does not predict step k.
pub fn surprise_mps(
    plan: &Plan,
    plan_frame: &CharacterFrame,
    k: u64,
    state: &BodyPosState,
    frame: &CharacterFrame,
) -> Option<f64> {
    let i = HISTORY as i64 + (k as i64 - plan.step as i64);
    if i <= HISTORY as i64 || i >= plan.model_states.len() as i64 {
        return None;
    }
    let r = rebase_state(state, frame, plan_frame);
    let pred = &plan.model_states[i as usize];
    let o = ROOT_LIN_VEL.start;
    Some((r[o] - pred[o] as f64).hypot(r[o + 1] - pred[o + 1] as f64))
}

/// The disturbance gate of [`ControlConfig::disturbance_gate_mps`]: 1 (open) while the model
/// predicts the robot's velocity well, closing with the surprise, reopening at a bounded rate.
#[derive(Debug, Clone)]
pub struct DisturbanceGate {
    value: f64,
}

impl Default for DisturbanceGate {
    fn default() -> Self {
        Self { value: 1.0 }
    }
}

impl DisturbanceGate {
    pub fn value(&self) -> f64 {
        self.value
    }

    /// One control step (`dt` s) with this step's surprise (None: no plan predicted the step;
    /// the gate reopens at its rate as when calm).
    pub fn update(&mut self, surprise: Option<f64>, cfg: &ControlConfig, dt: f64) {
        let [d0, d1] = cfg.disturbance_gate_mps;
        if d1 <= 0.0 {
            return;
        }
        let raw = surprise.map_or(1.0, |x| ((d1 - x) / (d1 - d0).max(1e-9)).clamp(0.0, 1.0));
        let reopen = dt / cfg.disturbance_reopen_s.max(1e-9);
        self.value = raw.min(self.value + reopen);
    }

    /// Where the joystick goal's approach starts (`g1_guidance::Joystick::approach`): the
    /// measured velocity, moved toward the task's command as far as the gate is open (the gate
    /// off: the measured velocity).
    pub fn anchor(&self, task: &Task, measured: [f64; 2], cfg: &ControlConfig) -> [f64; 2] {
        match task {
            Task::Joystick { velocity, .. } if cfg.disturbance_gate_mps[1] > 0.0 => {
                std::array::from_fn(|i| measured[i] + self.value * (velocity[i] - measured[i]))
            }
            _ => measured,
        }
    }
}

/// The waypoint cost's target: the goal, or a point ahead along a route around the obstacles
/// (kept while the goal and the obstacles stay the same).
#[derive(Debug, Default)]
pub struct Router {
    route: Option<Route>,
}

impl Router {
    /// The route point `lookahead` metres ahead (world frame) for a robot at `robot` walking to
    /// `goal` around `shapes`; the goal itself when `lookahead` is 0.
    pub fn target(
        &mut self,
        goal: [f64; 2],
        shapes: &[Shape],
        robot: [f64; 2],
        lookahead: f64,
        cfg: &ControlConfig,
    ) -> [f64; 2] {
        if lookahead <= 0.0 {
            return goal;
        }
        let params = RouteParams {
            clearance: cfg.route_clearance_m,
            ..RouteParams::default()
        };
        let stale = match &self.route {
            Some(r) => {
                r.goal != goal || r.shapes != shapes || r.params != params || !r.covers(robot)
            }
            None => true,
        };
        if stale {
            self.route = Some(Route::new(goal, shapes, robot, params));
        }
        self.route
            .as_ref()
            .expect("route built")
            .carrot(robot, lookahead)
    }

    /// The route in use, if any.
    pub fn route(&self) -> Option<&Route> {
        self.route.as_ref()
    }
}

/// The cost-side shape of a simulator obstacle (world frame).
pub fn to_shape(o: &Obstacle) -> Shape {
    let c = o.center_3d();
    match o {
        Obstacle::Sphere { radius, .. } => Shape::Sphere {
            center: c,
            radius: *radius,
        },
        Obstacle::Box {
            half_extents, yaw, ..
        } => Shape::Box {
            center: c,
            half_extents: *half_extents,
            yaw: *yaw,
        },
        // Cylinders stand on the floor in the cost (their top at the simulator's top).
        Obstacle::Cylinder { radius, height, .. } => Shape::Cylinder {
            center: [c[0], c[1]],
            radius: *radius,
            height: c[2] + height / 2.0,
        },
    }
}

fn frame_of(sim: &Sim) -> (BodyPosState, CharacterFrame) {
    let gt = sim.ground_truth();
    let kin = forward_kinematics(&gt.root, &gt.q, &gt.dq);
    (
        build_state_self(&kin),
        CharacterFrame::from_root(&gt.root.pos_w, &gt.root.quat_w),
    )
}

/// Drives `sim` (already reset) for `steps` control steps.
pub fn drive(
    sim: &mut Sim,
    planner: &mut Planner,
    task: &dyn Fn(u64) -> Task,
    cfg: &ControlConfig,
    steps: u64,
    mut on_step: impl FnMut(u64, &Sim),
) -> Result<DriveOutcome> {
    let dt = sim.control_dt_s();
    let m = planner.manifest.clone();
    let kp: [f64; NUM_JOINTS] = std::array::from_fn(|j| JOINTS[j].kp());
    let kd: [f64; NUM_JOINTS] = std::array::from_fn(|j| JOINTS[j].kd());
    let world_shapes: Vec<Shape> = sim.config().obstacles.iter().map(to_shape).collect();
    // History: (self-framed state, frame) and executed actions (model convention).
    let (s0, f0) = frame_of(sim);
    let q0 = sim.ground_truth().q;
    let a0: [f64; NUM_JOINTS] =
        std::array::from_fn(|j| (q0[j] - m.action_offset[j]) / m.action_scale[j]);
    let mut states: VecDeque<(BodyPosState, CharacterFrame)> =
        std::iter::repeat_n((s0, f0), HISTORY + 1).collect();
    let mut actions: VecDeque<[f64; NUM_JOINTS]> = std::iter::repeat_n(a0, HISTORY).collect();
    let mut current: Option<(Plan, CharacterFrame)> = None;
    // A computed plan waiting to land: (plan, frame, control step, physics step within it).
    let mut pending: Option<(Plan, CharacterFrame, u64, usize)> = None;
    let phys_dt = sim.config().timestep_s;
    let decimation = sim.config().decimation;
    let mut last_target = q0;
    let mut out = DriveOutcome {
        steps: 0,
        fell: false,
        fall_time_s: None,
        final_xy: [0.0; 2],
        obstacle_contact_steps: 0,
        plans: 0,
        plan_latency_ms: vec![],
        denoiser_calls: vec![],
        fresh_plan_steps: 0,
        hold_steps: 0,
        damping_steps: 0,
        failed_plans: 0,
        first_failure: None,
        log: vec![],
    };
    let mut stale_for = 0u64;
    let mut router = Router::default();
    let mut ramp = CommandRamp::default();
    let mut gate = DisturbanceGate::default();
    for k in 0..steps {
        let (s_self, frame) = frame_of(sim);
        let measured = [s_self[ROOT_LIN_VEL.start], s_self[ROOT_LIN_VEL.start + 1]];
        let task_k = ramp.apply(task(k), measured, cfg.joystick_accel_mps2, dt);
        if k > 0 {
            states.pop_front();
            states.push_back((s_self, frame));
        }
        if let Some((_, _, ready, sub)) = &pending {
            if *ready < k || (*ready == k && *sub == 0) {
                let (p, f, _, _) = pending.take().expect("pending");
                current = Some((p, f));
            }
        }
        let surprise = current
            .as_ref()
            .and_then(|(p, f)| surprise_mps(p, f, k, &s_self, &frame));
        gate.update(surprise, cfg, dt);
        if pending.is_none() {
            // Plan from the state at k, in its frame.
            let hist_states: Vec<[f64; STATE_DIM]> = states
                .iter()
                .map(|(s, f)| rebase_state(s, f, &frame))
                .collect();
            let hist_actions: Vec<[f64; NUM_JOINTS]> = actions.iter().copied().collect();
            let ramp = if cfg.guidance_warmup_s > 0.0 {
                (k as f64 * dt / cfg.guidance_warmup_s).min(1.0)
            } else {
                1.0
            };
            let scaled = ControlConfig {
                joystick_weight: cfg.joystick_weight * ramp,
                waypoint_weight: cfg.waypoint_weight * ramp,
                obstacle_weight: cfg.obstacle_weight * ramp,
                ..cfg.clone()
            };
            // Building the costs (the route, when the goal or the obstacles change, and its
            // carrot) is part of planning: its time joins the plan's compute time.
            let t0 = std::time::Instant::now();
            let guidance = build_guidance(
                &task_k,
                &scaled,
                &world_shapes,
                &frame,
                &mut router,
                (gate.anchor(&task_k, measured, cfg), dt),
            );
            let guidance_s = t0.elapsed().as_secs_f64();
            let previous = current
                .as_ref()
                .map(|(p, f)| p.rebased(f, &frame, &m.stats));
            // A failed plan (NaN or Inf from the network) is dropped: the loop keeps executing
            // the last good plan, then holds, then damps.
            match planner.plan(k, &hist_states, &hist_actions, &guidance, previous.as_ref()) {
                Err(e) => {
                    out.failed_plans += 1;
                    if out.failed_plans == 1 {
                        out.first_failure = Some(format!("step {k}: {e:#}"));
                    }
                }
                Ok(mut plan) => {
                    plan.compute_s += guidance_s;
                    let (ready, sub) = if cfg.min_plan_delay_steps == 0 {
                        // t + compute time, rounded up to the physics step.
                        let n = ((plan.compute_s / phys_dt).ceil() as usize).max(1);
                        (k + (n / decimation) as u64, n % decimation)
                    } else {
                        let d = (plan.compute_s / dt).ceil() as u64;
                        (k + d.max(cfg.min_plan_delay_steps), 0)
                    };
                    out.plans += 1;
                    out.plan_latency_ms.push(plan.compute_s * 1e3);
                    out.denoiser_calls.push(plan.denoiser_calls);
                    pending = Some((plan, frame, ready, sub));
                }
            }
        }
        // The physics steps of this period run the targets in force: those of the current
        // plan, switching to a plan that lands part-way through the period.
        let switch = match &pending {
            Some((_, _, ready, sub)) if *ready == k => *sub,
            _ => decimation,
        };
        sim.apply_due_push();
        let mut exec = [0.0; NUM_JOINTS];
        // The period is accounted to the targets it ends with.
        let mut ended: (&str, Option<u64>) = ("hold", None);
        for (from, to) in [(0, switch), (switch, decimation)] {
            if to == from {
                continue;
            }
            if from > 0 {
                let (p, f, _, _) = pending.take().expect("pending");
                current = Some((p, f));
            }
            let (cmd, mode, age) = targets_for(
                current.as_ref().map(|(p, _)| p),
                k,
                &m,
                (&kp, &kd),
                &mut last_target,
                stale_for + 1 > cfg.hold_steps,
            );
            // The executed action, in the model's convention, averaged over the period (the
            // joint PD is linear in the target), joins the history.
            for j in 0..NUM_JOINTS {
                let a = if mode == "damping" {
                    a0[j]
                } else {
                    (cmd.q[j] - m.action_offset[j]) / m.action_scale[j]
                };
                exec[j] += a * (to - from) as f64 / decimation as f64;
            }
            sim.set_command(&cmd);
            for _ in from..to {
                sim.step_physics();
            }
            ended = (mode, age);
        }
        let (mode, age) = ended;
        match mode {
            "plan" => {
                stale_for = 0;
                if age.is_some_and(|a| (a as f64) * dt < 0.1) {
                    out.fresh_plan_steps += 1;
                }
            }
            "hold" => {
                stale_for += 1;
                out.hold_steps += 1;
            }
            _ => {
                stale_for += 1;
                out.damping_steps += 1;
            }
        }
        actions.pop_front();
        actions.push_back(exec);
        out.steps = k + 1;
        let gt = sim.ground_truth();
        if sim.obstacle_contacts() > 0 {
            out.obstacle_contact_steps += 1;
        }
        let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
        let (sy, cy) = yaw.sin_cos();
        let v = gt.root.lin_vel_w;
        out.log.push(StepLog {
            time_s: gt.time_s,
            root_xy: [gt.root.pos_w.x, gt.root.pos_w.y],
            yaw,
            vel_heading: [cy * v.x + sy * v.y, -sy * v.x + cy * v.y],
            plan_age_steps: age,
            mode,
            surprise_mps: surprise,
            gate: gate.value(),
            pushes: sim.pushes_applied(),
        });
        on_step(k, sim);
        if gt.head_height_m < g1_data::rollout::FALL_HEAD_HEIGHT_M
            || gt.root.pos_w.z < g1_data::rollout::FALL_PELVIS_HEIGHT_M
        {
            out.fell = true;
            out.fall_time_s = Some(gt.time_s);
            break;
        }
    }
    let gt = sim.ground_truth();
    out.final_xy = [gt.root.pos_w.x, gt.root.pos_w.y];
    Ok(out)
}

/// The joint command for control step `k`: the plan's action for it, else the last targets
/// (`damp`: damping instead), with its mode and the plan's age in steps.
fn targets_for(
    plan: Option<&Plan>,
    k: u64,
    m: &g1_diffusion::Manifest,
    (kp, kd): (&[f64; NUM_JOINTS], &[f64; NUM_JOINTS]),
    last_target: &mut [f64; NUM_JOINTS],
    damp: bool,
) -> (MotorCommand, &'static str, Option<u64>) {
    match plan.and_then(|p| p.action_at(k).map(|a| (p.step, *a))) {
        Some((ps, a)) if a.iter().all(|v| v.is_finite()) => {
            let q: [f64; NUM_JOINTS] =
                std::array::from_fn(|j| m.action_offset[j] + m.action_scale[j] * a[j] as f64);
            *last_target = q;
            (MotorCommand::with_gains(q, *kp, *kd), "plan", Some(k - ps))
        }
        _ if !damp => (
            MotorCommand::with_gains(*last_target, *kp, *kd),
            "hold",
            None,
        ),
        _ => (MotorCommand::damping(), "damping", None),
    }
}

/// The task's costs in the character frame `frame` (the plan's frame). `router` supplies the
/// waypoint cost's target (see [`ControlConfig::waypoint_lookahead_m`]); `measured` is the
/// robot's planar velocity in that frame and `dt` the control period (s), for
/// [`ControlConfig::joystick_approach_mps2`].
pub fn build_guidance(
    task: &Task,
    cfg: &ControlConfig,
    world_shapes: &[Shape],
    frame: &CharacterFrame,
    router: &mut Router,
    (measured, dt): ([f64; 2], f64),
) -> Guidance {
    let mut g = Guidance::default();
    let origin = [frame.origin_w.x, frame.origin_w.y];
    match task {
        Task::Free => {}
        Task::Joystick { velocity, yaw_rate } => {
            g.push(
                cfg.joystick_weight,
                Joystick {
                    velocity: *velocity,
                    approach: (cfg.joystick_approach_mps2 > 0.0)
                        .then_some((measured, cfg.joystick_approach_mps2 * dt)),
                },
            );
            if cfg.yaw_rate_weight > 0.0 {
                g.push(cfg.yaw_rate_weight, YawRate { rate: *yaw_rate });
            }
        }
        Task::Waypoint { goal } => {
            let (s, c) = frame.yaw_rad.sin_cos();
            let local = |p: [f64; 2]| {
                let d = [p[0] - origin[0], p[1] - origin[1]];
                [c * d[0] + s * d[1], -s * d[0] + c * d[1]]
            };
            let target = router.target(*goal, world_shapes, origin, cfg.waypoint_lookahead_m, cfg);
            g.push(
                cfg.waypoint_weight,
                Waypoint {
                    position: local(target),
                },
            );
            if cfg.route_speed_mps > 0.0 {
                let aim =
                    local(router.target(*goal, world_shapes, origin, cfg.route_lookahead_m, cfg));
                let to_goal = (goal[0] - origin[0]).hypot(goal[1] - origin[1]);
                let speed = cfg.route_speed_mps * (to_goal / cfg.route_slow_m.max(1e-6)).min(1.0);
                let n = aim[0].hypot(aim[1]);
                if n > 1e-9 {
                    g.push(
                        cfg.route_weight,
                        Joystick::constant([speed * aim[0] / n, speed * aim[1] / n]),
                    );
                }
            }
        }
    }
    if !world_shapes.is_empty() && !matches!(task, Task::Free) {
        g.push(
            cfg.obstacle_weight,
            Obstacles {
                shapes: world_shapes
                    .iter()
                    .map(|s| s.in_frame(origin, frame.yaw_rad))
                    .collect(),
                body_radii: default_body_radii(),
                delta: cfg.obstacle_delta,
                influence: cfg.obstacle_influence_m,
            },
        );
    }
    g
}

/// The standing start: default pose at the origin, feet on the floor.
pub fn standing_start(sim: &mut Sim) -> InitialState {
    let mut init = InitialState::standing(0.8);
    sim.place_on_ground(&mut init);
    init
}
