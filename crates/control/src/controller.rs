//! The controller as a stepper for a running system (the planner node): one call per control
//! step with the newest Body-Pos state; it replans synchronously (rolling from the previous
//! plan) and returns the joint targets for this step, or holds, then damps, when planning
//! fails. `drive` is the same logic with simulated latency for evaluation.

use std::collections::VecDeque;

use anyhow::Result;
use g1::bodypos::rebase_state;
use g1::{BodyPosState, CharacterFrame, JOINTS, NUM_JOINTS, STATE_DIM};
use g1_diffusion::HISTORY;
use g1_guidance::Shape;

use crate::drive::{
    build_guidance, surprise_mps, CommandRamp, ControlConfig, DisturbanceGate, Router, Task,
};
use crate::planner::{Plan, Planner};
use g1::bodypos::layout::ROOT_LIN_VEL;

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
    /// No plan: stop commanding (the bridge's watchdog holds, then damps).
    None,
}

pub struct Controller {
    pub planner: Planner,
    pub cfg: ControlConfig,
    states: VecDeque<(BodyPosState, CharacterFrame)>,
    actions: VecDeque<[f64; NUM_JOINTS]>,
    current: Option<(Plan, CharacterFrame)>,
    last: Option<[f64; NUM_JOINTS]>,
    stale_for: u64,
    k: u64,
    pub failed_plans: u64,
    pub last_error: Option<String>,
    /// Control periods between the state a plan starts from and the execution of the command
    /// returned for it (1 in the node pipeline).
    pub latency_steps: u64,
    router: Router,
    ramp: CommandRamp,
    gate: DisturbanceGate,
    /// The last step's surprise (m/s; see [`surprise_mps`]).
    pub surprise_mps: Option<f64>,
}

impl Controller {
    pub fn new(planner: Planner, cfg: ControlConfig) -> Self {
        Self {
            planner,
            cfg,
            states: VecDeque::new(),
            actions: VecDeque::new(),
            current: None,
            last: None,
            stale_for: 0,
            k: 0,
            failed_plans: 0,
            last_error: None,
            latency_steps: 1,
            router: Router::default(),
            ramp: CommandRamp::default(),
            gate: DisturbanceGate::default(),
            surprise_mps: None,
        }
    }

    /// The waypoint route in use (world frame), if route guidance built one.
    pub fn route(&self) -> Option<&g1_guidance::Route> {
        self.router.route()
    }

    /// The disturbance gate (1 = open; see [`ControlConfig::disturbance_gate_mps`]).
    pub fn gate(&self) -> f64 {
        self.gate.value()
    }

    /// The newest plan and the frame it is expressed in.
    pub fn plan(&self) -> Option<&(Plan, CharacterFrame)> {
        self.current.as_ref()
    }

    /// One control step: `state` (self-framed Body-Pos), its `frame`, the measured joint
    /// positions `q` (to start the action history), the task, and obstacles in world frame.
    /// `executed`: the joint targets the robot actually executed since the last step (e.g. from
    /// `/lowcmd`), when known — they replace the planned action in the history, so that the
    /// model conditions on what happened (a bridge in standby executes its own ramp).
    pub fn step(
        &mut self,
        state: BodyPosState,
        frame: CharacterFrame,
        q: &[f64; NUM_JOINTS],
        executed: Option<&[f64; NUM_JOINTS]>,
        task: &Task,
        obstacles: &[Shape],
    ) -> Result<Command> {
        let m = self.planner.manifest.clone();
        if let (Some(e), false) = (executed, self.actions.is_empty()) {
            let a: [f64; NUM_JOINTS] =
                std::array::from_fn(|j| (e[j] - m.action_offset[j]) / m.action_scale[j]);
            *self.actions.back_mut().expect("history") = a;
        }
        if self.states.is_empty() {
            let a0: [f64; NUM_JOINTS] =
                std::array::from_fn(|j| (q[j] - m.action_offset[j]) / m.action_scale[j]);
            self.states = std::iter::repeat_n((state, frame), HISTORY + 1).collect();
            self.actions = std::iter::repeat_n(a0, HISTORY).collect();
        } else {
            self.states.pop_front();
            self.states.push_back((state, frame));
        }
        let hist_states: Vec<[f64; STATE_DIM]> = self
            .states
            .iter()
            .map(|(s, f)| rebase_state(s, f, &frame))
            .collect();
        let hist_actions: Vec<[f64; NUM_JOINTS]> = self.actions.iter().copied().collect();
        let measured = [state[ROOT_LIN_VEL.start], state[ROOT_LIN_VEL.start + 1]];
        let dt = 1.0 / m.control_hz;
        let task = self
            .ramp
            .apply(task.clone(), measured, self.cfg.joystick_accel_mps2, dt);
        self.surprise_mps = self
            .current
            .as_ref()
            .and_then(|(p, f)| surprise_mps(p, f, self.k, &state, &frame));
        self.gate.update(self.surprise_mps, &self.cfg, dt);
        let guidance = build_guidance(
            &task,
            &self.cfg,
            obstacles,
            &frame,
            &mut self.router,
            (self.gate.anchor(&task, measured, &self.cfg), dt),
        );
        let previous = self
            .current
            .as_ref()
            .map(|(p, f)| p.rebased(f, &frame, &m.stats));
        let k = self.k;
        self.k += 1;
        match self
            .planner
            .plan(k, &hist_states, &hist_actions, &guidance, previous.as_ref())
        {
            Ok(p) => self.current = Some((p, frame)),
            Err(e) => {
                self.failed_plans += 1;
                self.last_error = Some(format!("{e:#}"));
            }
        }
        // The command is executed `latency_steps` control periods after the state it was
        // planned from (estimation, planning and transport take about one period): send the
        // plan's action for that step, as `drive` does with its simulated latency.
        let planned = self
            .current
            .as_ref()
            .and_then(|(p, _)| p.action_at(k + self.latency_steps).copied());
        let cmd = match planned {
            Some(a) if a.iter().all(|v| v.is_finite()) => {
                self.stale_for = 0;
                let action: [f64; NUM_JOINTS] = std::array::from_fn(|j| a[j] as f64);
                let q: [f64; NUM_JOINTS] =
                    std::array::from_fn(|j| m.action_offset[j] + m.action_scale[j] * action[j]);
                self.last = Some(action);
                Command::Targets {
                    q,
                    kp: std::array::from_fn(|j| JOINTS[j].kp()),
                    kd: std::array::from_fn(|j| JOINTS[j].kd()),
                    action,
                }
            }
            _ => {
                self.stale_for += 1;
                match self.last {
                    Some(action) if self.stale_for <= self.cfg.hold_steps => Command::Targets {
                        q: std::array::from_fn(|j| {
                            m.action_offset[j] + m.action_scale[j] * action[j]
                        }),
                        kp: std::array::from_fn(|j| JOINTS[j].kp()),
                        kd: std::array::from_fn(|j| JOINTS[j].kd()),
                        action,
                    },
                    _ => Command::None,
                }
            }
        };
        // The executed action joins the history (the last one again when nothing is sent).
        let exec = match &cmd {
            Command::Targets { action, .. } => *action,
            Command::None => *self.actions.back().expect("history"),
        };
        self.actions.pop_front();
        self.actions.push_back(exec);
        Ok(cmd)
    }
}
