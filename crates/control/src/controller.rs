//! The guided diffusion controller: the one object that the planner node runs on the robot and
//! that `g1_eval::drive` (the simulator harness of `g1d drive` and `g1d eval`) runs in evaluation.
//!
//! Every control step the caller hands it the newest Body-Pos state ([`Observation`]);
//! [`Controller::observe`] returns the joint targets for the period that starts now, from the
//! newest plan that has *landed*, else the last targets held for `hold_steps`, else nothing
//! (the caller damps; on the robot the bridge's watchdog holds, then damps). Then
//! [`Controller::plan_next`] plans from that state (rolling from the previous plan) unless a
//! plan is still in flight. When a plan lands is decided by a [`LatencyModel`]: a plan made
//! from the state of step k lands at step k + max(⌈latency / period⌉, `min_plan_delay_steps`),
//! so a fixed or measured latency gives the same run for the same seed however loaded the
//! machine is; the wall-clock model (the node's) uses each plan's own compute time.

use std::collections::{BTreeMap, VecDeque};

use anyhow::{bail, Context as _, Result};
use g1::bodypos::layout::ROOT_LIN_VEL;
use g1::state::rebase_global;
use g1::{BodyPosState, CharacterFrame, StateLayout, JOINTS, NUM_JOINTS};
use g1_diffusion::HISTORY;
use g1_guidance::Shape;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::planner::{Plan, Planner};
use crate::task::{
    build_guidance, surprise_mps, CommandRamp, ControlConfig, DisturbanceGate, RouteRamp, Router,
    Task, VelocityTrim,
};

/// When a plan's targets reach the joints, counted from the state it was planned from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LatencyModel {
    /// Every plan takes this long (ms).
    Fixed { ms: f64 },
    /// Each plan's latency is drawn (from the controller's seeded stream) from these measured
    /// plan latencies (ms); `source` says where and how they were measured.
    Measured {
        source: String,
        samples_ms: Vec<f64>,
    },
    /// The plan's own compute time on this machine (what the planner node does; results then
    /// depend on the machine's load).
    WallClock,
}

impl LatencyModel {
    /// `fixed:MS`, `wall`, or the path of a JSON file `{"source": …, "samples_ms": […]}`
    /// (what `g1d eval --latency wall` writes as `latency.json`).
    pub fn parse(s: &str) -> Result<Self> {
        if s == "wall" {
            return Ok(Self::WallClock);
        }
        if let Some(ms) = s.strip_prefix("fixed:") {
            let ms: f64 = ms
                .parse()
                .with_context(|| format!("latency `{s}`: `{ms}` is not a number of ms"))?;
            let m = Self::Fixed { ms };
            m.check()?;
            return Ok(m);
        }
        let text = std::fs::read_to_string(s).with_context(|| {
            format!("latency `{s}`: not `fixed:MS`, `wall` or a readable latency file")
        })?;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            source: String,
            samples_ms: Vec<f64>,
        }
        let f: File = serde_json::from_str(&text)
            .with_context(|| format!("{s}: expected {{\"source\": …, \"samples_ms\": […]}}"))?;
        let m = Self::Measured {
            source: format!("{s} ({})", f.source),
            samples_ms: f.samples_ms,
        };
        m.check().with_context(|| s.to_string())?;
        Ok(m)
    }

    pub fn check(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && (0.0..=10_000.0).contains(&v);
        match self {
            Self::Fixed { ms } if !ok(*ms) => bail!("fixed latency {ms} ms must be in [0, 10000]"),
            Self::Measured { samples_ms, .. } if samples_ms.is_empty() => {
                bail!("the latency samples are empty")
            }
            Self::Measured { samples_ms, .. } => match samples_ms.iter().find(|v| !ok(**v)) {
                Some(v) => bail!("latency sample {v} ms must be in [0, 10000]"),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// How the report names it.
    pub fn describe(&self) -> String {
        match self {
            Self::Fixed { ms } => format!("fixed {ms} ms"),
            Self::Measured { source, samples_ms } => {
                format!("measured: {} samples from {source}", samples_ms.len())
            }
            Self::WallClock => "wall clock (each plan's compute time)".into(),
        }
    }

    /// Whether a run's outcome depends only on its seed.
    pub fn deterministic(&self) -> bool {
        !matches!(self, Self::WallClock)
    }

    fn delay_s(&self, compute_s: f64, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Self::Fixed { ms } => ms * 1e-3,
            Self::Measured { samples_ms, .. } => {
                samples_ms[rng.gen_range(0..samples_ms.len())] * 1e-3
            }
            Self::WallClock => compute_s,
        }
    }
}

/// What the controller commands this step.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // built once per control step, never stored in bulk
pub enum Command {
    /// Joint position targets (rad, SDK order) with the joint table's gains.
    Targets {
        q: [f64; NUM_JOINTS],
        kp: [f64; NUM_JOINTS],
        kd: [f64; NUM_JOINTS],
        /// The normalised action (model convention).
        action: [f64; NUM_JOINTS],
    },
    /// No usable plan for too long: stop commanding (the simulator harness damps; on the robot
    /// the bridge's watchdog holds, then damps).
    None,
}

/// One control step's input.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Self-framed Body-Pos state and its character frame.
    pub state: BodyPosState,
    pub frame: CharacterFrame,
    /// Measured joint positions (start the action history) and velocities (rad, rad/s; a
    /// joint-space model's state carries both).
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
    /// The joint targets the robot actually executed over the last period, when known (from
    /// `/lowcmd`): they replace the commanded action in the history, so that the model
    /// conditions on what happened (a bridge in standby executes its own ramp).
    pub executed: Option<[f64; NUM_JOINTS]>,
    pub task: &'a Task,
    /// Obstacles, world frame.
    pub obstacles: &'a [Shape],
}

/// Where a control step's targets came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepMode {
    /// The newest landed plan's action for this step.
    Plan,
    /// No plan covers the step: the last targets, for up to `hold_steps`.
    Hold,
    /// No targets: the harness (or, on the robot, the bridge) damps the joints.
    Damping,
}

impl StepMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Hold => "hold",
            Self::Damping => "damping",
        }
    }
}

impl std::fmt::Display for StepMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one step did (for logs, diagnostics and evaluation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    pub mode: StepMode,
    /// Control steps since the state of the plan the targets came from.
    pub plan_age: Option<u64>,
    /// Measured minus predicted planar root velocity (m/s), when a landed plan predicted it.
    pub surprise_mps: Option<f64>,
    /// The disturbance gate after this step (1 = open).
    pub gate: f64,
}

/// A plan made by [`Controller::plan_next`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanInfo {
    pub compute_s: f64,
    pub denoiser_calls: usize,
    /// The latency the model gave it (s) and the step it lands at.
    pub latency_s: f64,
    pub lands_at: u64,
}

pub struct Controller {
    pub planner: Planner,
    pub cfg: ControlConfig,
    pub latency: LatencyModel,
    rng: ChaCha8Rng,
    /// Past states in the model's layout, each self-framed, with its frame.
    states: VecDeque<(Vec<f64>, CharacterFrame)>,
    actions: VecDeque<[f64; NUM_JOINTS]>,
    /// The action commanded for the current period (joins the history at the next step unless
    /// the executed one is known).
    commanded: [f64; NUM_JOINTS],
    current: Option<(Plan, CharacterFrame)>,
    pending: Option<(Plan, CharacterFrame, u64)>,
    /// The last targets sent (normalised action).
    last: Option<[f64; NUM_JOINTS]>,
    stale_for: u64,
    /// The current control step (None before the first observation).
    k: Option<u64>,
    /// What the next plan is built from: the ramped task, obstacles, measured velocity, route
    /// speed.
    next: Option<(Task, Vec<Shape>, [f64; 2], f64)>,
    router: Router,
    ramp: CommandRamp,
    trim: VelocityTrim,
    route_ramp: RouteRamp,
    gate: DisturbanceGate,
    pub failed_plans: u64,
    /// Failed plans by [`crate::PlanError::kind`] since the last reset.
    pub failures: BTreeMap<&'static str, u64>,
    /// The kind of the last plan's failure, if the last plan failed.
    pub last_failure: Option<&'static str>,
    pub last_error: Option<String>,
    pub last_step: Option<StepInfo>,
}

impl Controller {
    pub fn new(planner: Planner, cfg: ControlConfig, latency: LatencyModel) -> Result<Self> {
        cfg.check()?;
        latency.check()?;
        let seed = planner.config.seed;
        Ok(Self {
            planner,
            cfg,
            latency,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x1a7e_0c1e),
            states: VecDeque::new(),
            actions: VecDeque::new(),
            commanded: [0.0; NUM_JOINTS],
            current: None,
            pending: None,
            last: None,
            stale_for: 0,
            k: None,
            next: None,
            router: Router::default(),
            ramp: CommandRamp::default(),
            trim: VelocityTrim::default(),
            route_ramp: RouteRamp::default(),
            gate: DisturbanceGate::default(),
            failed_plans: 0,
            failures: BTreeMap::new(),
            last_failure: None,
            last_error: None,
            last_step: None,
        })
    }

    /// A new episode: empty history, no plan, the planner's and the latency's random streams
    /// restarted from `seed`.
    pub fn reset(&mut self, seed: u64) {
        self.planner.reseed(seed);
        self.rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1a7e_0c1e);
        self.states.clear();
        self.actions.clear();
        self.current = None;
        self.pending = None;
        self.last = None;
        self.stale_for = 0;
        self.k = None;
        self.next = None;
        self.router = Router::default();
        self.ramp = CommandRamp::default();
        self.trim = VelocityTrim::default();
        self.route_ramp = RouteRamp::default();
        self.gate = DisturbanceGate::default();
        self.failed_plans = 0;
        self.failures.clear();
        self.last_failure = None;
        self.last_error = None;
        self.last_step = None;
    }

    /// The waypoint route in use (world frame), if route guidance built one.
    pub fn route(&self) -> Option<&g1_guidance::Route> {
        self.router.route()
    }

    /// The disturbance gate (1 = open; see [`ControlConfig::disturbance_gate_mps`]).
    pub fn gate(&self) -> f64 {
        self.gate.value()
    }

    /// The newest landed plan and the frame it is expressed in.
    pub fn plan(&self) -> Option<&(Plan, CharacterFrame)> {
        self.current.as_ref()
    }

    fn normalise(&self, q: &[f64; NUM_JOINTS]) -> [f64; NUM_JOINTS] {
        let m = &self.planner.manifest;
        std::array::from_fn(|j| (q[j] - m.action_offset[j]) / m.action_scale[j])
    }

    fn targets(&self, action: [f64; NUM_JOINTS]) -> Command {
        let m = &self.planner.manifest;
        Command::Targets {
            q: std::array::from_fn(|j| m.action_offset[j] + m.action_scale[j] * action[j]),
            kp: std::array::from_fn(|j| JOINTS[j].kp()),
            kd: std::array::from_fn(|j| JOINTS[j].kd()),
            action,
        }
    }

    /// Takes the state of the next control step and returns the targets for the period that
    /// starts now (see the module documentation). Cheap: no planning here.
    pub fn observe(&mut self, o: &Observation) -> Command {
        let k = self.k.map_or(0, |k| k + 1);
        self.k = Some(k);
        let layout = self.planner.manifest.state_layout;
        let s = layout.from_body_pos(&o.state, &o.q, &o.dq);
        if self.states.is_empty() {
            let a0 = self.normalise(&o.q);
            self.states = std::iter::repeat_n((s, o.frame), HISTORY + 1).collect();
            self.actions = std::iter::repeat_n(a0, HISTORY).collect();
            self.last = Some(a0);
        } else {
            let done = o.executed.map_or(self.commanded, |e| self.normalise(&e));
            self.actions.pop_front();
            self.actions.push_back(done);
            self.states.pop_front();
            self.states.push_back((s, o.frame));
        }
        let measured = [o.state[ROOT_LIN_VEL.start], o.state[ROOT_LIN_VEL.start + 1]];
        let dt = 1.0 / self.planner.manifest.control_hz;
        let task = self.trim.trimmed(o.task.clone(), &self.cfg, dt);
        let task = self.ramp.apply(task, measured, &self.cfg, dt);
        let route_speed = self.route_ramp.apply(&task, measured, &self.cfg, dt);
        if let Some((p, f, _)) = self.pending.take_if(|(_, _, at)| *at <= k) {
            self.current = Some((p, f));
        }
        let surprise = self
            .current
            .as_ref()
            .and_then(|(p, f)| surprise_mps(p, f, k, &o.state, &o.frame));
        self.gate.update(surprise, &self.cfg, dt);
        self.trim
            .integrate(&task, measured, self.gate.value(), &self.cfg, dt);
        let planned = self
            .current
            .as_ref()
            .and_then(|(p, _)| p.action_at(k).map(|a| (p.step, *a)));
        let (cmd, mode, age) = match planned {
            Some((step, a)) if a.iter().all(|v| v.is_finite()) => {
                self.stale_for = 0;
                let action: [f64; NUM_JOINTS] = std::array::from_fn(|j| a[j] as f64);
                self.last = Some(action);
                (self.targets(action), StepMode::Plan, Some(k - step))
            }
            _ => {
                self.stale_for += 1;
                match self.last {
                    Some(action) if self.stale_for <= self.cfg.hold_steps => {
                        (self.targets(action), StepMode::Hold, None)
                    }
                    _ => (Command::None, StepMode::Damping, None),
                }
            }
        };
        // Without targets the joints are damped: they stay about where they are.
        self.commanded = match &cmd {
            Command::Targets { action, .. } => *action,
            Command::None => self.normalise(&o.q),
        };
        self.next = Some((task, o.obstacles.to_vec(), measured, route_speed));
        self.last_step = Some(StepInfo {
            mode,
            plan_age: age,
            surprise_mps: surprise,
            gate: self.gate.value(),
        });
        cmd
    }

    /// Plans from the last observed state unless a plan is still in flight (None then).
    /// A failed plan (NaN or Inf from the network) is counted and dropped: the controller goes
    /// on with the last good plan, then holds, then stops commanding.
    pub fn plan_next(&mut self) -> Option<PlanInfo> {
        let k = self.k?;
        if self.pending.is_some() {
            return None;
        }
        let frame = self.states.back()?.1;
        let (task, obstacles, measured, route_speed) = self.next.take()?;
        let dt = 1.0 / self.planner.manifest.control_hz;
        let layout = self.planner.manifest.state_layout;
        if layout != StateLayout::BodyPos && !obstacles.is_empty() {
            self.plan_failed(
                k,
                &crate::PlanError::Layout(format!(
                    "obstacle avoidance needs body positions: a Body-Pos model, not {layout}"
                )),
            );
            return None;
        }
        let hist_states: Vec<Vec<f64>> = self
            .states
            .iter()
            .map(|(s, f)| {
                let mut s = s.clone();
                rebase_global(&mut s, f, &frame);
                s
            })
            .collect();
        let hist_actions: Vec<[f64; NUM_JOINTS]> = self.actions.iter().copied().collect();
        let warm = if self.cfg.guidance_warmup_s > 0.0 {
            (k as f64 * dt / self.cfg.guidance_warmup_s).min(1.0)
        } else {
            1.0
        };
        let scaled = ControlConfig {
            joystick_weight: self.cfg.joystick_weight * warm,
            waypoint_weight: self.cfg.waypoint_weight * warm,
            obstacle_weight: self.cfg.obstacle_weight * warm,
            route_speed_mps: route_speed,
            ..self.cfg.clone()
        };
        // Building the costs (the route, when the goal or the obstacles change) is part of
        // planning: its time joins the plan's compute time.
        let t0 = std::time::Instant::now();
        let guidance = build_guidance(
            &task,
            &scaled,
            &obstacles,
            &frame,
            &mut self.router,
            (measured, self.gate.value(), dt),
        );
        let guidance_s = t0.elapsed().as_secs_f64();
        let previous = self
            .current
            .as_ref()
            .map(|(p, f)| p.rebased(f, &frame, &self.planner.manifest.stats));
        self.planner.set_task(task.joystick_command());
        match self
            .planner
            .plan(k, &hist_states, &hist_actions, &guidance, previous.as_ref())
        {
            Ok(mut p) => {
                p.compute_s += guidance_s;
                let latency_s = self.latency.delay_s(p.compute_s, &mut self.rng);
                let steps = ((latency_s / dt) - 1e-9).ceil().max(0.0) as u64;
                let lands_at = k + steps.max(self.cfg.min_plan_delay_steps);
                let info = PlanInfo {
                    compute_s: p.compute_s,
                    denoiser_calls: p.denoiser_calls,
                    latency_s,
                    lands_at,
                };
                self.pending = Some((p, frame, lands_at));
                self.last_failure = None;
                Some(info)
            }
            Err(e) => {
                self.plan_failed(k, &e);
                None
            }
        }
    }

    /// Counts a failed plan of step `k` by its kind and keeps its message.
    fn plan_failed(&mut self, k: u64, e: &crate::PlanError) {
        self.failed_plans += 1;
        *self.failures.entry(e.kind()).or_insert(0) += 1;
        self.last_failure = Some(e.kind());
        self.last_error = Some(format!("step {k}: {e}"));
    }

    /// The current control step (None before the first observation).
    pub fn current_step(&self) -> Option<u64> {
        self.k
    }

    /// [`Self::observe`] then [`Self::plan_next`].
    pub fn step(&mut self, o: &Observation) -> (Command, Option<PlanInfo>) {
        let cmd = self.observe(o);
        let info = self.plan_next();
        (cmd, info)
    }
}
