//! What the guided controller is asked to do (`Task`), its settings (`ControlConfig`), and the
//! parts between a task and the planner's costs: the joystick ramp, the disturbance gate, the
//! route around obstacles and `build_guidance`. No simulator here: the evaluation harness is
//! `g1-eval`, the deployed one the planner node.

use anyhow::{bail, Result};
use g1::bodypos::layout::ROOT_LIN_VEL;
use g1::bodypos::{rebase_state, CharacterFrame};
use g1::BodyPosState;
use g1_diffusion::HISTORY;
use g1_guidance::{
    default_body_radii, Guidance, Joystick, Obstacles, Route, RouteParams, Shape, Waypoint, YawRate,
};
use serde::{Deserialize, Serialize};

use crate::planner::Plan;

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

impl Task {
    /// The task's kind as its serialised tag: `free`, `joystick` or `waypoint`.
    pub fn kind(&self) -> &'static str {
        match self {
            Task::Free => "free",
            Task::Joystick { .. } => "joystick",
            Task::Waypoint { .. } => "waypoint",
        }
    }

    /// A joystick task's command (planar velocity, yaw rate), as [`crate::Planner::set_task`]
    /// takes it; None for other tasks.
    pub fn joystick_command(&self) -> Option<([f64; 2], f64)> {
        match self {
            Task::Joystick { velocity, yaw_rate } => Some((*velocity, *yaw_rate)),
            _ => None,
        }
    }
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
    /// A plan lands at least this many control periods after the state it was planned from
    /// (≥ 1: the node pipeline's one period; the latency model may delay it further).
    pub min_plan_delay_steps: u64,
    /// The waypoint cost aims at the farthest point in sight of a route to the goal around the
    /// obstacles (`g1_guidance::Route`), at most this far ahead (m), not at the goal itself
    /// (the goal behind an obstacle pulls the plan into it); 0 = at the goal.
    pub waypoint_lookahead_m: f64,
    /// Obstacles push only bodies nearer than this (m; the barrier cut off, C¹); 0 = the
    /// barrier of docs/METHOD.md at every distance.
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
    /// Narrow passages: the route may pass this close to obstacle surfaces (m), at a cost that
    /// keeps it in the passage's middle, when going round costs more (`RouteParams::
    /// min_clearance`); at or above `route_clearance_m`: never closer than that.
    pub route_min_clearance_m: f64,
    /// A robot inside the route's clearance aims only along lines whose clearance rises at
    /// least this fast with distance (m per m) until it reaches `route_clearance_m`, so that
    /// its targets lead back out (`RouteParams::exit_gain`); 0 = lines that come no closer
    /// than the robot already is.
    pub route_exit_gain: f64,
    /// The waypoint cost's line of sight along the route keeps this much more than
    /// `route_clearance_m` where it can (`RouteParams::sight_margin`): corners are cut that
    /// much further from the obstacles; 0 = at the clearance.
    pub route_sight_margin_m: f64,
    /// Waypoint task: walking along the route also steps sideways towards the middle between
    /// the obstacles beside the robot, at this gain (1/s) times `g1_guidance::Route::centring`
    /// (minus the offset from a passage's middle; away from a single obstacle within the
    /// route's soft band), at most `route_centre_max_mps`, fading out (with the square of the
    /// distance) within `route_slow_m` of the goal, where the robot is to stand still; 0 = off.
    pub route_centre_gain: f64,
    pub route_centre_max_mps: f64,
    /// The obstacle cost also keeps each hand away: a point this fraction of the
    /// elbow-to-wrist vector beyond the wrist (`g1_guidance::Obstacles::hand_extension`;
    /// 0 = the bodies' origins alone).
    pub obstacle_hand_extension: f64,
    /// Waypoint task: turn to face the route (1/s; 0 = off). The yaw-rate cost (weight
    /// `yaw_rate_weight`) asks for this gain times the bearing of the route point ahead, capped
    /// at `route_max_yaw_rate`, and the walking speed along the route is scaled by the
    /// bearing's cosine (none while the route lies more than 90° off the heading): a goal
    /// behind is turned to, not walked to backwards.
    pub route_turn_gain: f64,
    /// The cap on that yaw rate (rad/s).
    pub route_max_yaw_rate: f64,
    /// Waypoint task: the walking speed along the route rises by at most this much per second
    /// (m/s²), from the measured planar speed when the task starts (a goal given, the bridge
    /// turned active); 0 = the full route speed at once.
    pub route_accel_mps2: f64,
    /// Waypoint task: the disturbance gate also shapes the route's walking velocity — its goal
    /// at each planned step starts from the measured velocity, moved toward the route velocity
    /// as far as the gate is open, and approaches it at `joystick_approach_mps2` (as a joystick
    /// command's does); false = the route velocity at every planned step.
    pub route_gate: bool,
    /// Joystick commands change by at most this much per second (m/s², on the planar velocity
    /// vector; a new joystick task starts from the measured velocity); 0 = step changes.
    pub joystick_accel_mps2: f64,
    /// Starts from standing (the ramped command below 0.05 m/s) ramp at this rate instead
    /// until the command is reached (m/s²; 0 = `joystick_accel_mps2`).
    pub joystick_start_accel_mps2: f64,
    /// Joystick tasks: the goal velocity of each planned step starts from the measured velocity
    /// and approaches the command at this acceleration (m/s²) along the plan
    /// (`g1_guidance::Joystick::approach`); 0 = the same goal at every step (docs/METHOD.md).
    pub joystick_approach_mps2: f64,
    /// Weight of the yaw-rate cost on joystick tasks (`g1_guidance::YawRate`, towards the
    /// command's yaw rate; 0 = off, the planar velocity alone as in docs/METHOD.md).
    pub yaw_rate_weight: f64,
    /// Disturbance gate (`DisturbanceGate`) on the joystick goal: `[d0, d1]` m/s of
    /// surprise — the planar root velocity measured at a step minus the velocity the executing
    /// plan's model predicted for it (a push, a stumble). Above d1 the gate closes: the
    /// joystick goal of each planned step starts from the measured velocity and approaches the
    /// command at `joystick_approach_mps2` (which must then be > 0); below d0 it stays open
    /// (the command at every planned step, as in docs/METHOD.md); linear between. After a surprise
    /// the gate reopens at most at 1 / `disturbance_reopen_s` per second. `[0, 0]` = off
    /// (with `joystick_approach_mps2` > 0: always from the measured velocity).
    pub disturbance_gate_mps: [f64; 2],
    pub disturbance_reopen_s: f64,
    /// Joystick tasks: integral trim of the velocity the joystick cost asks for (1/s; 0 =
    /// off). Once a command is held and reached, the command minus the measured planar
    /// velocity is integrated at this gain, weighted by the disturbance gate (pushes are not
    /// integrated), and added to the command before the ramp, so a gait that walks steadily
    /// faster or slower than asked is corrected (`VelocityTrim`).
    pub joystick_trim_gain: f64,
    /// The trim integrates only once a command has been held this long (s): not while the
    /// robot is still getting to it (a start, a change of command).
    pub joystick_trim_settle_s: f64,
    /// The trim's magnitude limit (m/s).
    pub joystick_trim_max_mps: f64,
    /// The settling time counts from when the measured velocity first came within this of
    /// the command (m/s); 0 = from the command's start.
    pub joystick_trim_band_mps: f64,
    /// The command space the trim keeps a command in, [vx min, vx max, |vy| max] (m/s): the
    /// trim does not take a command past these (nor one already past them further out).
    /// [0, 0, 0] = no bound.
    pub joystick_trim_within_mps: [f64; 3],
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
        // Yaw rate 1.0 (2026-11-22, 50-run screens): without it the joystick cost is met by a
        // turning plan as well, and the model drifted into clockwise circles when asked to walk
        // straight (walk+perturb top view); 1.0 holds the heading (0.3 still drifted), joystick
        // error 0.11 m/s (0.10 without), walk+perturb falls 7/50 (5/50 without; 6/50 at 0.3
        // and 3.0: within the spread of 50 runs).
        // Disturbance gate (2026-11-23, walk+perturb alone, 50 runs on each of two seed sets,
        // falls out of 100): off 12; gate [0.1, 0.3] m/s, reopen 1 s, approach 0.5 m/s² 4
        // (speed kept, joystick square 100 %, 0.12 m/s error); [0.15, 0.35] 6; reopen 2 s 5;
        // reopen 0.5 s 16; approach 1 m/s² 13. Without the gate the approach at 0.5 m/s² also
        // fell rarely (2/50) but the robot never started walking on the joystick square.
        // Route turn 1.5 (2026-11-30, generated courses, tuning seeds 0–49, one run each,
        // deployed): obstacles 76 → 88 % (falls 5 → 1, contact steps 1899 → 4), waypoints
        // 88 → 96 %; but in the real-time chain over DDS the G1 fell walking to a goal 1.5 m
        // ahead in 5 of 15 runs with it (0 of 15 without), 1.3–1.5 s after release,
        // accelerating. With the route's speed ramped at 0.5 m/s² (2026-11-30, same seeds):
        // obstacles 88 % with no fall, waypoints 98 %, waypoint_a 50 seeds 90 → 98 % without
        // the turn, and 0 of 15 real-time falls with the turn (docs/EXPERIMENTS.md).
        // Joystick trim and start ramp (2026-12-01, deployed, seeds 0–49): the square's
        // segments kept steady biases (forward 0.65 m/s for 0.5, backward 0.30 for 0.4; error
        // 0.149 m/s over the runs without a fall) and seeds 22 and 24 fell after lunging to
        // 1.0–1.35 m/s from the start. Trim 2 /s after 1 s held: 0.124 without a fall (1 /s:
        // 0.134; 1 /s after 0.5 s: 7 falls, backward). With the 0.5 m/s² start: joystick 94 %
        // at 0.14 m/s (was 94 % at 0.17), walk + perturb 96 % at 0.24 m/s (96 % at 0.31), 22
        // and 24 no longer fall (docs/EXPERIMENTS.md).
        // Route clearance 0.5 m, openings passed down to 0.4 m (2026-12-02, deployed, one run
        // per course): obstacle tuning seeds 0–99 93 % (30 contact steps) → 95 % (none), with
        // 0.55 m 95 % (one fall), 0.5 m down to 0.35 m 93 %; reporting seeds 1000–1049 88 % → 90 %
        // with no contact in a successful run; forest_b (16 runs) 11 → 13 of 16.
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
            route_clearance_m: 0.5,
            route_min_clearance_m: 0.4,
            route_exit_gain: 0.0,
            route_sight_margin_m: 0.0,
            route_centre_gain: 0.0,
            route_centre_max_mps: 0.15,
            obstacle_hand_extension: 0.0,
            route_speed_mps: 0.6,
            route_weight: 1.0,
            route_lookahead_m: 1.0,
            route_slow_m: 1.0,
            route_turn_gain: 1.5,
            route_max_yaw_rate: 0.8,
            route_accel_mps2: 0.5,
            route_gate: false,
            joystick_accel_mps2: 1.0,
            joystick_start_accel_mps2: 0.5,
            yaw_rate_weight: 1.0,
            joystick_approach_mps2: 0.5,
            disturbance_gate_mps: [0.1, 0.3],
            disturbance_reopen_s: 1.0,
            joystick_trim_gain: 2.0,
            joystick_trim_settle_s: 1.0,
            joystick_trim_max_mps: 0.25,
            joystick_trim_within_mps: [-0.5, 0.8, 0.4],
            joystick_trim_band_mps: 0.0,
        }
    }
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
            ("route_min_clearance_m", self.route_min_clearance_m),
            ("route_exit_gain", self.route_exit_gain),
            ("route_sight_margin_m", self.route_sight_margin_m),
            ("route_centre_gain", self.route_centre_gain),
            ("route_centre_max_mps", self.route_centre_max_mps),
            ("obstacle_hand_extension", self.obstacle_hand_extension),
            ("obstacle_influence_m", self.obstacle_influence_m),
            ("route_speed_mps", self.route_speed_mps),
            ("route_weight", self.route_weight),
            ("route_lookahead_m", self.route_lookahead_m),
            ("route_slow_m", self.route_slow_m),
            ("route_turn_gain", self.route_turn_gain),
            ("route_max_yaw_rate", self.route_max_yaw_rate),
            ("route_accel_mps2", self.route_accel_mps2),
            ("joystick_accel_mps2", self.joystick_accel_mps2),
            ("joystick_start_accel_mps2", self.joystick_start_accel_mps2),
            ("yaw_rate_weight", self.yaw_rate_weight),
            ("joystick_approach_mps2", self.joystick_approach_mps2),
            ("joystick_trim_gain", self.joystick_trim_gain),
            ("joystick_trim_settle_s", self.joystick_trim_settle_s),
            ("joystick_trim_max_mps", self.joystick_trim_max_mps),
            ("joystick_trim_band_mps", self.joystick_trim_band_mps),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                bail!("control.{k} = {v} must be finite and ≥ 0");
            }
        }
        let [lo, hi, vy] = self.joystick_trim_within_mps;
        let off = [lo, hi, vy] == [0.0; 3];
        if !(off || (lo.is_finite() && hi.is_finite() && vy.is_finite() && lo < hi && vy > 0.0)) {
            bail!(
                "control.joystick_trim_within_mps = [{lo}, {hi}, {vy}] must be [0, 0, 0] (no bound) or [vx min < vx max, |vy| max > 0]"
            );
        }
        if self.min_plan_delay_steps == 0 {
            bail!("control.min_plan_delay_steps = 0: a plan lands at least one control period after its state (≥ 1)");
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
    /// Ramping up from standing (see [`ControlConfig::joystick_start_accel_mps2`]).
    starting: bool,
}

/// Below this planar speed (m/s) the ramped command counts as standing: a ramp from there is
/// a start.
const STANDING_MPS: f64 = 0.05;

impl CommandRamp {
    /// `task` with its joystick velocity limited to `cfg.joystick_accel_mps2` (to
    /// `cfg.joystick_start_accel_mps2`, when set, while starting from standing until the
    /// command is reached); `measured` is the robot's planar velocity in its heading frame
    /// (where a new joystick task starts from). Other tasks pass unchanged and end the ramp.
    pub fn apply(&mut self, task: Task, measured: [f64; 2], cfg: &ControlConfig, dt: f64) -> Task {
        let Task::Joystick {
            velocity: target,
            yaw_rate,
        } = task
        else {
            self.velocity = None;
            return task;
        };
        let from = self.velocity.unwrap_or(measured);
        let speed = from[0].hypot(from[1]);
        if speed < STANDING_MPS && target[0].hypot(target[1]) > speed {
            self.starting = true;
        }
        let accel = if self.starting && cfg.joystick_start_accel_mps2 > 0.0 {
            cfg.joystick_start_accel_mps2
        } else {
            cfg.joystick_accel_mps2
        };
        let v = if accel <= 0.0 {
            target
        } else {
            g1_guidance::toward(from, target, accel * dt)
        };
        if v == target {
            self.starting = false;
        }
        self.velocity = Some(v);
        Task::Joystick {
            velocity: v,
            yaw_rate,
        }
    }
}

/// The joystick command's integral trim ([`ControlConfig::joystick_trim_gain`]): the steady
/// velocity error the robot keeps at a held command (a gait that settles faster or slower than
/// asked, a drift sideways), integrated and added to the command before the ramp, so the costs
/// ask for command + trim and changes of the trim are rate-limited like the command's.
#[derive(Debug, Default, Clone)]
pub struct VelocityTrim {
    trim: [f64; 2],
    /// The command being held and for how long (s).
    held: Option<([f64; 2], f64)>,
    /// How long the command had been held when the measured velocity first came within
    /// `joystick_trim_band_mps` of it (s).
    reached_s: Option<f64>,
}

/// A command that moves more than this (m/s) from the held one is a new command: the hold
/// restarts and the trim is cleared.
const TRIM_NEW_COMMAND_MPS: f64 = 0.05;

impl VelocityTrim {
    /// The trim now (m/s, heading frame).
    pub fn value(&self) -> [f64; 2] {
        self.trim
    }

    /// Before the ramp: `task` with the trim added to its joystick velocity (unchanged with
    /// the trim off). Other tasks pass unchanged and clear the trim.
    pub fn trimmed(&mut self, task: Task, cfg: &ControlConfig, dt: f64) -> Task {
        let Task::Joystick { velocity, yaw_rate } = task else {
            *self = Self::default();
            return task;
        };
        if cfg.joystick_trim_gain <= 0.0 {
            return task;
        }
        self.held = match self.held {
            Some((c, s))
                if (c[0] - velocity[0]).hypot(c[1] - velocity[1]) <= TRIM_NEW_COMMAND_MPS =>
            {
                Some((c, s + dt))
            }
            _ => {
                self.trim = [0.0; 2];
                self.reached_s = None;
                Some((velocity, 0.0))
            }
        };
        let mut v = [velocity[0] + self.trim[0], velocity[1] + self.trim[1]];
        let [lo, hi, vy] = cfg.joystick_trim_within_mps;
        if [lo, hi, vy] != [0.0; 3] {
            v[0] = v[0].clamp(lo.min(velocity[0]), hi.max(velocity[0]));
            let vy = vy.max(velocity[1].abs());
            v[1] = v[1].clamp(-vy, vy);
        }
        Task::Joystick {
            velocity: v,
            yaw_rate,
        }
    }

    /// After the ramp: once the command has been held for `joystick_trim_settle_s` and the
    /// ramp (`ramped`) has reached command + trim, integrates command − `measured` (the planar
    /// velocity in the heading frame) at the gain, weighted by the disturbance gate `gate`
    /// (1 = open: in full; 0: not at all), within `joystick_trim_max_mps`.
    pub fn integrate(
        &mut self,
        ramped: &Task,
        measured: [f64; 2],
        gate: f64,
        cfg: &ControlConfig,
        dt: f64,
    ) {
        let (Task::Joystick { velocity, .. }, Some((command, held_s))) = (ramped, self.held) else {
            return;
        };
        // With a band, the settling time counts from when the robot first came near the
        // command: a robot still getting going (a slow start sideways) is not trimmed.
        let near = (command[0] - measured[0]).hypot(command[1] - measured[1])
            <= cfg.joystick_trim_band_mps;
        if self.reached_s.is_none() && (cfg.joystick_trim_band_mps <= 0.0 || near) {
            self.reached_s = Some(if cfg.joystick_trim_band_mps <= 0.0 {
                0.0
            } else {
                held_s
            });
        }
        let Some(reached_s) = self.reached_s else {
            return;
        };
        let target = [command[0] + self.trim[0], command[1] + self.trim[1]];
        if cfg.joystick_trim_gain <= 0.0
            || held_s - reached_s < cfg.joystick_trim_settle_s
            || (velocity[0] - target[0]).hypot(velocity[1] - target[1]) > 1e-9
        {
            return;
        }
        let k = cfg.joystick_trim_gain * gate.clamp(0.0, 1.0) * dt;
        let t = std::array::from_fn(|i| self.trim[i] + k * (command[i] - measured[i]));
        // Within the limit: the point at most that far from zero towards t.
        self.trim = g1_guidance::toward([0.0; 2], t, cfg.joystick_trim_max_mps);
    }
}

/// The limit on the route's walking speed ([`ControlConfig::route_accel_mps2`]): it starts
/// from the measured planar speed when a waypoint task starts and rises by at most
/// accel · dt per control step up to `route_speed_mps`.
#[derive(Debug, Default, Clone)]
pub struct RouteRamp {
    speed: Option<f64>,
}

impl RouteRamp {
    /// The route speed for this control step (`cfg.route_speed_mps` when the ramp is off);
    /// other tasks end the ramp.
    pub fn apply(&mut self, task: &Task, measured: [f64; 2], cfg: &ControlConfig, dt: f64) -> f64 {
        if !matches!(task, Task::Waypoint { .. }) {
            self.speed = None;
            return cfg.route_speed_mps;
        }
        if cfg.route_accel_mps2 <= 0.0 {
            return cfg.route_speed_mps;
        }
        let from = self.speed.unwrap_or(measured[0].hypot(measured[1]));
        let v = (from + cfg.route_accel_mps2 * dt).min(cfg.route_speed_mps);
        self.speed = Some(v);
        v
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
            Task::Joystick { velocity, .. } => gate_anchor(self.value, cfg, *velocity, measured),
            _ => measured,
        }
    }
}

/// The measured planar velocity moved toward `velocity` as far as the gate (`gate`, 1 = open)
/// is; the measured velocity when the gate is off.
fn gate_anchor(gate: f64, cfg: &ControlConfig, velocity: [f64; 2], measured: [f64; 2]) -> [f64; 2] {
    if cfg.disturbance_gate_mps[1] > 0.0 {
        std::array::from_fn(|i| measured[i] + gate * (velocity[i] - measured[i]))
    } else {
        measured
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
            min_clearance: cfg.route_min_clearance_m,
            exit_gain: cfg.route_exit_gain,
            sight_margin: cfg.route_sight_margin_m,
            ..RouteParams::default()
        };
        let stale = match &self.route {
            Some(r) => {
                r.goal != goal || r.shapes != shapes || r.params != params || !r.covers(robot)
            }
            None => true,
        };
        let route = match self.route.take() {
            Some(r) if !stale => r,
            _ => Route::new(goal, shapes, robot, params),
        };
        self.route.insert(route).carrot(robot, lookahead)
    }

    /// The route in use, if any.
    pub fn route(&self) -> Option<&Route> {
        self.route.as_ref()
    }
}

/// How far to each side [`ControlConfig::route_centre_gain`] compares the clearance (m): the
/// offset from a passage's middle it corrects in proportion, and its push beside a single
/// obstacle.
pub const ROUTE_CENTRE_PROBE_M: f64 = 0.15;

/// The task's costs in the character frame `frame` (the plan's frame). `router` supplies the
/// waypoint cost's target (see [`ControlConfig::waypoint_lookahead_m`]); `measured` is the
/// robot's planar velocity in that frame, `gate` the disturbance gate's value (1 = open) and
/// `dt` the control period (s), for [`ControlConfig::joystick_approach_mps2`].
pub fn build_guidance(
    task: &Task,
    cfg: &ControlConfig,
    world_shapes: &[Shape],
    frame: &CharacterFrame,
    router: &mut Router,
    (measured, gate, dt): ([f64; 2], f64, f64),
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
                    approach: (cfg.joystick_approach_mps2 > 0.0).then_some((
                        gate_anchor(gate, cfg, *velocity, measured),
                        cfg.joystick_approach_mps2 * dt,
                    )),
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
                let slow = (to_goal / cfg.route_slow_m.max(1e-6)).min(1.0);
                let mut speed = cfg.route_speed_mps * slow;
                let n = aim[0].hypot(aim[1]);
                if cfg.route_turn_gain > 0.0 && n > 1e-9 {
                    // The turn fades out with the speed within `route_slow_m` of the goal: at
                    // arrival a small overshoot puts the goal behind, and turning round there
                    // would spin the robot on the spot.
                    let bearing = aim[1].atan2(aim[0]);
                    speed *= 1.0 - slow * (1.0 - bearing.cos().max(0.0));
                    let rate = (cfg.route_turn_gain * bearing)
                        .clamp(-cfg.route_max_yaw_rate, cfg.route_max_yaw_rate);
                    g.push(cfg.yaw_rate_weight * slow, YawRate { rate });
                }
                if n > 1e-9 {
                    let dir = [aim[0] / n, aim[1] / n];
                    let mut velocity = [speed * dir[0], speed * dir[1]];
                    if cfg.route_centre_gain > 0.0 {
                        if let Some(route) = router.route() {
                            // The direction of travel in the world frame; the centring
                            // sideways to it, back in the plan's frame (left of `dir`).
                            let w = [c * dir[0] - s * dir[1], s * dir[0] + c * dir[1]];
                            let side = (cfg.route_centre_gain
                                * route.centring(origin, w, ROUTE_CENTRE_PROBE_M))
                            .clamp(-cfg.route_centre_max_mps, cfg.route_centre_max_mps)
                                * slow
                                * slow;
                            velocity[0] -= side * dir[1];
                            velocity[1] += side * dir[0];
                        }
                    }
                    let approach =
                        (cfg.route_gate && cfg.joystick_approach_mps2 > 0.0).then_some((
                            gate_anchor(gate, cfg, velocity, measured),
                            cfg.joystick_approach_mps2 * dt,
                        ));
                    g.push(cfg.route_weight, Joystick { velocity, approach });
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
                hand_extension: cfg.obstacle_hand_extension,
            },
        );
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use g1::bodypos::layout::{ROOT_ANG_VEL, ROOT_LIN_VEL};
    use g1::STATE_DIM;
    use g1_guidance::{NOW, STEPS};

    /// The character frame at the world origin, facing +x.
    fn origin_frame() -> CharacterFrame {
        CharacterFrame::from_root(
            &g1::nalgebra::Vector3::zeros(),
            &g1::nalgebra::UnitQuaternion::identity(),
        )
    }

    /// The weighted gradient of all the guidance's terms at the all-zero trajectory.
    fn gradient(g: &Guidance) -> Vec<f64> {
        let x = vec![0.0; STEPS * STATE_DIM];
        let mut grad = vec![0.0; x.len()];
        for (w, c) in &g.terms {
            let mut part = vec![0.0; x.len()];
            c.eval(&x, &mut part);
            grad.iter_mut().zip(&part).for_each(|(a, p)| *a += w * p);
        }
        grad
    }

    /// A goal straight behind the robot: without the turn the route's joystick cost asks to
    /// walk backwards at the route speed; with it, to stand and turn at the capped yaw rate.
    #[test]
    fn a_goal_behind_is_turned_to_not_walked_to_backwards() {
        let frame = origin_frame();
        let task = Task::Waypoint { goal: [-3.0, 0.1] };
        let build = |cfg: &ControlConfig| {
            build_guidance(
                &task,
                cfg,
                &[],
                &frame,
                &mut Router::default(),
                ([0.0; 2], 1.0, 0.02),
            )
        };
        let off = ControlConfig {
            route_turn_gain: 0.0,
            route_accel_mps2: 0.0,
            ..ControlConfig::default()
        };
        let g = gradient(&build(&off));
        let (vx, wz) = (ROOT_LIN_VEL.start, ROOT_ANG_VEL.start + 2);
        for t in NOW + 1..STEPS {
            // ∂/∂vx of ½(vx − (−0.6))² at 0, weight 1: 0.6.
            assert!((g[t * STATE_DIM + vx] - 0.6).abs() < 0.02, "step {t}");
            assert_eq!(g[t * STATE_DIM + wz], 0.0);
        }
        let on = ControlConfig {
            route_turn_gain: 1.5,
            ..off.clone()
        };
        on.check().unwrap();
        let g = gradient(&build(&on));
        for t in NOW + 1..STEPS {
            // No walking while the route is behind; turning left (the goal is a little to the
            // left) at the 0.8 rad/s cap: yaw-rate weight 1 · (0 − 0.8).
            assert!(g[t * STATE_DIM + vx].abs() < 1e-12, "step {t}");
            assert!((g[t * STATE_DIM + wz] + 0.8).abs() < 1e-12, "step {t}");
        }
        // Straight ahead the turn changes nothing but a zero yaw-rate goal.
        let ahead = Task::Waypoint { goal: [3.0, 0.0] };
        let g = build_guidance(
            &ahead,
            &on,
            &[],
            &frame,
            &mut Router::default(),
            ([0.0; 2], 1.0, 0.02),
        );
        let g = gradient(&g);
        for t in NOW + 1..STEPS {
            assert!((g[t * STATE_DIM + vx] + 0.6).abs() < 0.02, "step {t}");
            assert!(g[t * STATE_DIM + wz].abs() < 1e-9, "step {t}");
        }
        let bad = ControlConfig {
            route_turn_gain: -1.0,
            ..ControlConfig::default()
        };
        assert!(bad
            .check()
            .unwrap_err()
            .to_string()
            .contains("route_turn_gain"));
    }

    fn joystick(velocity: [f64; 2], yaw_rate: f64) -> Task {
        Task::Joystick { velocity, yaw_rate }
    }

    /// Starts from standing ramp at `joystick_start_accel_mps2` until the command is reached;
    /// changes between walking commands at `joystick_accel_mps2`; a stop and a new start at
    /// the start rate again.
    #[test]
    fn starts_from_standing_ramp_at_their_own_rate() {
        let joy = |v| joystick(v, 0.0);
        let cfg = ControlConfig {
            joystick_accel_mps2: 1.0,
            joystick_start_accel_mps2: 0.5,
            ..ControlConfig::default()
        };
        cfg.check().unwrap();
        let mut ramp = CommandRamp::default();
        // Steps to reach `cmd` from where the ramp is.
        let mut reach = |cmd: [f64; 2]| -> usize {
            (1..1000)
                .find(|_| ramp.apply(joy(cmd), [0.0; 2], &cfg, 0.02) == joy(cmd))
                .unwrap()
        };
        assert_eq!(reach([0.5, 0.0]), 50); // 0.5 m/s at 0.5 m/s² (0.01 per step)
        assert_eq!(reach([0.0, 0.4]), 33); // |(−0.5, 0.4)| = 0.64 m/s at 1 m/s²
        assert_eq!(reach([0.0, 0.0]), 20);
        assert_eq!(reach([-0.3, 0.0]), 30);
        // Unset, starts ramp at joystick_accel_mps2.
        let mut ramp = CommandRamp::default();
        let d = ControlConfig {
            joystick_start_accel_mps2: 0.0,
            ..ControlConfig::default()
        };
        let n = (1..1000)
            .find(|_| ramp.apply(joy([0.5, 0.0]), [0.0; 2], &d, 0.02) == joy([0.5, 0.0]))
            .unwrap();
        assert_eq!(n, 25);
    }

    /// The trim: off, the command passes; on, it integrates command − measured at its gain,
    /// weighted by the gate, within its limit, only once the command has been held for the
    /// settling time and the ramp has reached it; a new command clears it. On a robot that
    /// walks 0.12 m/s faster and 0.05 m/s to the left of whatever it is asked, the measured
    /// velocity settles on the command.
    #[test]
    fn the_trim_removes_a_steady_velocity_error() {
        let joy = |v| joystick(v, 0.3);
        let asked = |t: &Task| match t {
            Task::Joystick { velocity, yaw_rate } => {
                assert_eq!(*yaw_rate, 0.3);
                *velocity
            }
            _ => panic!("{t:?}"),
        };
        let dt = 0.02;
        // One control step as the controller takes it: trim, ramp, integrate.
        let step = |trim: &mut VelocityTrim,
                    ramp: &mut CommandRamp,
                    cmd: [f64; 2],
                    measured: [f64; 2],
                    gate: f64,
                    cfg: &ControlConfig| {
            let t = trim.trimmed(joy(cmd), cfg, dt);
            let r = ramp.apply(t, measured, cfg, dt);
            trim.integrate(&r, measured, gate, cfg, dt);
            asked(&r)
        };
        let cmd = [0.5, 0.0];
        let off = ControlConfig {
            joystick_trim_gain: 0.0,
            ..ControlConfig::default()
        };
        let (mut trim, mut ramp) = (VelocityTrim::default(), CommandRamp::default());
        for _ in 0..200 {
            step(&mut trim, &mut ramp, cmd, [0.9, 0.0], 1.0, &off);
        }
        assert_eq!(trim.value(), [0.0; 2]);
        // (A settling time just under 50 steps: 50 sums of 0.02 s may fall either side of 1.)
        let on = ControlConfig {
            joystick_trim_gain: 1.0,
            joystick_trim_settle_s: 0.99,
            joystick_accel_mps2: 0.0,
            ..ControlConfig::default()
        };
        on.check().unwrap();
        // Settling: nothing for the first 50 steps of a command.
        let (mut trim, mut ramp) = (VelocityTrim::default(), CommandRamp::default());
        for _ in 0..50 {
            step(&mut trim, &mut ramp, cmd, [0.6, 0.0], 1.0, &on);
        }
        assert_eq!(trim.value(), [0.0; 2]);
        // Then 0.1 m/s too fast for 1 s at 1/s: −0.1 m/s, asked for at the next step; the
        // gate at 0.5 halves the rate, at 0 nothing is integrated.
        for _ in 0..50 {
            step(&mut trim, &mut ramp, cmd, [0.6, 0.0], 1.0, &on);
        }
        assert!((trim.value()[0] + 0.1).abs() < 1e-9, "{:?}", trim.value());
        let v = step(&mut trim, &mut ramp, cmd, [0.5, 0.0], 1.0, &on);
        assert!((v[0] - 0.4).abs() < 1e-9, "{v:?}");
        for _ in 0..50 {
            step(&mut trim, &mut ramp, cmd, [0.6, 0.0], 0.5, &on);
        }
        assert!((trim.value()[0] + 0.15).abs() < 1e-9, "{:?}", trim.value());
        step(&mut trim, &mut ramp, cmd, [3.0, 0.0], 0.0, &on);
        assert!((trim.value()[0] + 0.15).abs() < 1e-9, "{:?}", trim.value());
        // The limit holds the magnitude.
        for _ in 0..500 {
            step(&mut trim, &mut ramp, cmd, [0.6, 0.6], 1.0, &on);
        }
        let v = trim.value();
        assert!(
            (v[0].hypot(v[1]) - on.joystick_trim_max_mps).abs() < 1e-9,
            "{v:?}"
        );
        // A new command clears it; so does another task.
        step(&mut trim, &mut ramp, [0.0, 0.4], [0.6, 0.6], 1.0, &on);
        assert_eq!(trim.value(), [0.0; 2]);
        for _ in 0..100 {
            step(&mut trim, &mut ramp, [0.0, 0.4], [0.0, 0.6], 1.0, &on);
        }
        assert!(trim.value()[1] < -0.01, "{:?}", trim.value());
        assert_eq!(trim.trimmed(Task::Free, &on, dt), Task::Free);
        assert_eq!(trim.value(), [0.0; 2]);
        // While the ramp has not reached command + trim, nothing is integrated.
        let ramped = ControlConfig {
            joystick_accel_mps2: 0.01,
            joystick_trim_settle_s: 0.0,
            ..on.clone()
        };
        let (mut trim, mut ramp) = (VelocityTrim::default(), CommandRamp::default());
        step(&mut trim, &mut ramp, [0.0; 2], [0.0; 2], 1.0, &ramped);
        for _ in 0..20 {
            step(&mut trim, &mut ramp, cmd, [0.0; 2], 1.0, &ramped);
        }
        assert_eq!(trim.value(), [0.0; 2]);
        // Closed loop on the biased robot, through the default ramp.
        let closed = ControlConfig {
            joystick_trim_gain: 1.0,
            joystick_trim_settle_s: 1.0,
            ..ControlConfig::default()
        };
        let (mut trim, mut ramp) = (VelocityTrim::default(), CommandRamp::default());
        let bias = [0.12, 0.05];
        let mut measured = [0.0; 2];
        for _ in 0..500 {
            let goal = step(&mut trim, &mut ramp, cmd, measured, 1.0, &closed);
            measured = [goal[0] + bias[0], goal[1] + bias[1]];
        }
        assert!((measured[0] - cmd[0]).abs() < 0.005, "{measured:?}");
        assert!((measured[1] - cmd[1]).abs() < 0.005, "{measured:?}");
        let bad = ControlConfig {
            joystick_trim_gain: -1.0,
            ..ControlConfig::default()
        };
        assert!(bad
            .check()
            .unwrap_err()
            .to_string()
            .contains("joystick_trim_gain"));
    }

    /// The trim's command space: a robot that walks slower than asked sideways and backwards
    /// is asked for at most the bound, never past it (and not further past a command beyond
    /// it); the trim stops integrating there; [0, 0, 0] leaves it unbounded; a bad bound is
    /// refused.
    #[test]
    fn the_trim_keeps_commands_in_its_command_space() {
        let dt = 0.02;
        let bounded = ControlConfig {
            joystick_trim_gain: 2.0,
            joystick_trim_settle_s: 0.0,
            joystick_accel_mps2: 0.0,
            joystick_trim_within_mps: [-0.5, 0.8, 0.4],
            ..ControlConfig::default()
        };
        bounded.check().unwrap();
        // (asked, walked): sideways 0.3 walked at 0.1; backwards −0.4 walked at −0.2; a
        // command beyond the bound (0.45 sideways) is left as it is, not trimmed further.
        for (cmd, walked, want) in [
            ([0.0, 0.3], [0.0, 0.1], [0.0, 0.4]),
            ([0.0, -0.3], [0.0, -0.1], [0.0, -0.4]),
            ([-0.4, 0.0], [-0.2, 0.0], [-0.5, 0.0]),
            ([0.0, 0.45], [0.0, 0.2], [0.0, 0.45]),
        ] {
            let (mut trim, mut ramp) = (VelocityTrim::default(), CommandRamp::default());
            let mut asked = [0.0; 2];
            for _ in 0..200 {
                let t = trim.trimmed(joystick(cmd, 0.0), &bounded, dt);
                let r = ramp.apply(t, walked, &bounded, dt);
                trim.integrate(&r, walked, 1.0, &bounded, dt);
                if let Task::Joystick { velocity, .. } = r {
                    asked = velocity;
                }
            }
            for i in 0..2 {
                assert!((asked[i] - want[i]).abs() < 1e-9, "{cmd:?}: {asked:?}");
            }
            // Frozen at the bound, not wound up to the trim's own limit.
            let v = trim.value();
            assert!(v[0].hypot(v[1]) < bounded.joystick_trim_max_mps, "{v:?}");
        }
        // Unbounded: the trim's own limit, 0.25 m/s past the command.
        let free = ControlConfig {
            joystick_trim_within_mps: [0.0; 3],
            ..bounded.clone()
        };
        let (mut trim, mut ramp) = (VelocityTrim::default(), CommandRamp::default());
        for _ in 0..200 {
            let t = trim.trimmed(joystick([0.0, 0.3], 0.0), &free, dt);
            let r = ramp.apply(t, [0.0, 0.1], &free, dt);
            trim.integrate(&r, [0.0, 0.1], 1.0, &free, dt);
        }
        assert!((trim.value()[1] - 0.25).abs() < 1e-9, "{:?}", trim.value());
        for bad in [[0.5, -0.5, 0.4], [-0.5, 0.8, 0.0], [-0.5, f64::NAN, 0.4]] {
            let c = ControlConfig {
                joystick_trim_within_mps: bad,
                ..ControlConfig::default()
            };
            let e = c.check().unwrap_err().to_string();
            assert!(e.contains("joystick_trim_within_mps"), "{bad:?}: {e}");
        }
    }

    /// The trim's band: the settling time counts from when the robot first came within the
    /// band of the command. A robot still getting going sideways (0.2 m/s short for 3 s) is not
    /// trimmed; once within the band, it is, a settling time later. Without a band the clock
    /// runs from the command's start.
    #[test]
    fn the_trim_waits_for_the_robot_to_come_near_the_command() {
        let dt = 0.02;
        let banded = ControlConfig {
            joystick_trim_gain: 2.0,
            joystick_trim_settle_s: 0.99,
            joystick_accel_mps2: 0.0,
            joystick_trim_band_mps: 0.15,
            ..ControlConfig::default()
        };
        banded.check().unwrap();
        let cmd = [0.0, -0.3];
        let run = |cfg: &ControlConfig, measured: &dyn Fn(usize) -> [f64; 2], steps: usize| {
            let (mut trim, mut ramp) = (VelocityTrim::default(), CommandRamp::default());
            for k in 0..steps {
                let t = trim.trimmed(joystick(cmd, 0.0), cfg, dt);
                let r = ramp.apply(t, measured(k), cfg, dt);
                trim.integrate(&r, measured(k), 1.0, cfg, dt);
            }
            trim.value()
        };
        // 3 s at −0.1 m/s: never within 0.15 of −0.3, no trim; without the band, trimmed.
        assert_eq!(run(&banded, &|_| [0.0, -0.1], 150), [0.0; 2]);
        let unbanded = ControlConfig {
            joystick_trim_band_mps: 0.0,
            ..banded.clone()
        };
        assert!(run(&unbanded, &|_| [0.0, -0.1], 150)[1] < -0.1);
        // −0.1 for 2 s, then −0.2 (within the band): nothing until 1 s after that.
        let late = |k: usize| if k < 100 { [0.0, -0.1] } else { [0.0, -0.2] };
        assert_eq!(run(&banded, &late, 149), [0.0; 2]);
        // Then ten steps of 0.1 m/s error at 2 /s: −0.04 m/s.
        let v = run(&banded, &late, 160);
        assert!((v[1] + 0.04).abs() < 1e-9, "{v:?}");
    }

    /// The route's walking speed starts from the measured speed and rises at
    /// `route_accel_mps2`; off, the full speed at once; another task ends the ramp.
    #[test]
    fn the_route_speed_ramps_from_the_measured_speed() {
        let wp = Task::Waypoint { goal: [3.0, 0.0] };
        let off = ControlConfig {
            route_accel_mps2: 0.0,
            ..ControlConfig::default()
        };
        let mut r = RouteRamp::default();
        assert_eq!(r.apply(&wp, [0.0; 2], &off, 0.02), off.route_speed_mps);
        let on = ControlConfig {
            route_accel_mps2: 0.5,
            ..ControlConfig::default()
        };
        on.check().unwrap();
        let v: Vec<f64> = (0..100)
            .map(|_| r.apply(&wp, [0.3, 0.4], &on, 0.02))
            .collect();
        // From |(0.3, 0.4)| = 0.5 m/s, 0.01 m/s per 20 ms step, capped at 0.6 m/s.
        assert!((v[0] - 0.51).abs() < 1e-12, "{v:?}");
        assert!((v[4] - 0.55).abs() < 1e-12, "{v:?}");
        assert_eq!(v[99], 0.6);
        assert!(v.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(r.apply(&Task::Free, [0.0; 2], &on, 0.02), 0.6);
        assert!((r.apply(&wp, [0.0; 2], &on, 0.02) - 0.01).abs() < 1e-12);
        let bad = ControlConfig {
            route_accel_mps2: f64::NAN,
            ..ControlConfig::default()
        };
        assert!(bad
            .check()
            .unwrap_err()
            .to_string()
            .contains("route_accel_mps2"));
    }

    /// With `route_gate` the route's joystick goal starts at the gate's anchor and approaches
    /// the route velocity along the plan; without it, the route velocity at every step.
    #[test]
    fn the_gate_shapes_the_route_velocity_when_asked() {
        let frame = origin_frame();
        let task = Task::Waypoint { goal: [5.0, 0.0] };
        let goal_vx = |cfg: &ControlConfig, gate: f64| -> Vec<f64> {
            let g = build_guidance(
                &task,
                cfg,
                &[],
                &frame,
                &mut Router::default(),
                ([0.1, 0.0], gate, 0.02),
            );
            // Gradient of ½(vx − goal)² at vx = 0 is −goal.
            let grad = gradient(&Guidance {
                terms: g.terms.into_iter().skip(1).collect(),
            });
            (NOW + 1..STEPS)
                .map(|t| -grad[t * STATE_DIM + ROOT_LIN_VEL.start])
                .collect()
        };
        let off = ControlConfig::default();
        for gate in [0.0, 1.0] {
            assert!(goal_vx(&off, gate).iter().all(|v| (v - 0.6).abs() < 1e-9));
        }
        let on = ControlConfig {
            route_gate: true,
            ..ControlConfig::default()
        };
        // Gate open: the route velocity throughout.
        assert!(goal_vx(&on, 1.0).iter().all(|v| (v - 0.6).abs() < 1e-9));
        // Gate closed: from the measured 0.1 m/s at 0.5 m/s² · 20 ms = 0.01 m/s per step.
        let closed = goal_vx(&on, 0.0);
        for (i, v) in closed.iter().enumerate() {
            let want = (0.1 + 0.01 * (i + 1) as f64).min(0.6);
            assert!((v - want).abs() < 1e-9, "step {i}: {v} vs {want}");
        }
        // Half open: from half way between.
        assert!((goal_vx(&on, 0.5)[0] - (0.35 + 0.01)).abs() < 1e-9);
    }

    /// With `route_centre_gain`, walking down a corridor 0.9 m wide 0.1 m off its middle, the
    /// route's joystick goal steps back towards the middle at the gain times the offset; off,
    /// it does not.
    #[test]
    fn the_route_centring_steps_back_to_the_middle() {
        let wall = |y: f64| Shape::Box {
            center: [3.0, y, 0.6],
            half_extents: [3.0, 0.15, 0.6],
            yaw: 0.0,
        };
        let walls = [wall(0.6), wall(-0.6)];
        let task = Task::Waypoint { goal: [5.5, 0.0] };
        let goal_v = |cfg: &ControlConfig, y: f64| -> [f64; 2] {
            let frame = CharacterFrame::from_root(
                &g1::nalgebra::Vector3::new(1.5, y, 0.0),
                &g1::nalgebra::UnitQuaternion::identity(),
            );
            let g = build_guidance(
                &task,
                cfg,
                &walls,
                &frame,
                &mut Router::default(),
                ([0.0; 2], 1.0, 0.02),
            );
            let grad = gradient(&Guidance {
                terms: g.terms.into_iter().skip(1).collect(),
            });
            let t = (NOW + 1) * STATE_DIM + ROOT_LIN_VEL.start;
            [-grad[t], -grad[t + 1]]
        };
        let off = ControlConfig {
            route_accel_mps2: 0.0,
            ..ControlConfig::default()
        };
        let on = ControlConfig {
            route_centre_gain: 1.0,
            ..off.clone()
        };
        for y in [0.1, -0.1] {
            let (a, b) = (goal_v(&off, y), goal_v(&on, y));
            // Off the middle by 0.1 m, 0.35 m from the near wall: full weight, 1/s × 0.1 m.
            assert!((b[1] - a[1] + y).abs() < 0.01, "y {y}: {a:?} → {b:?}");
            assert!((b[0] - a[0]).abs() < 0.01, "y {y}: {a:?} → {b:?}");
        }
        // In the middle: no change.
        let (a, b) = (goal_v(&off, 0.0), goal_v(&on, 0.0));
        assert!((a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9);
    }
}
