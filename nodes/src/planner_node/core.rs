//! The planner node's processing without DDS ([`PlannerCore`]): messages in, joint targets
//! out, around the one [`Controller`]. The node and the `deployed` evaluation harness run it.

use anyhow::{bail, Context as _, Result};
use g1::nalgebra::Vector3 as NV;
use g1::{CharacterFrame, NUM_JOINTS, STATE_DIM};
use g1_control::{
    Command, ControlConfig, Controller, LatencyModel, Observation, PlanInfo, Planner, Task,
};
use g1_msgs::g1d::{BodyPosState, JointTargets};
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::Header;
use g1_msgs::unitree::LowCmd;

use super::{InputCounters, InputLimits, PlannerNodeConfig};

/// The task before any goal or command, and that of a zero `cmd_vel`: stand, holding the
/// heading (a joystick task at rest). Without it the G1, once the bridge turned active, stood on
/// the model's unguided plans until a command came, and in the real-time chain a forward
/// command 1.5 s later sent 3 of 6 starts off 54–66° to the right (docs/EXPERIMENTS.md).
pub const STAND: Task = Task::Joystick {
    velocity: [0.0, 0.0],
    yaw_rate: 0.0,
};

/// The planner node's processing without DDS: the task from goals and commands
/// (`goals.rs`), joint states, executed commands and obstacles in; joint targets out.
pub struct PlannerCore {
    pub controller: Controller,
    pub task: Task,
    obstacles: Vec<g1_guidance::Shape>,
    q: Option<[f64; NUM_JOINTS]>,
    /// Joint velocities of the newest `/joint_states` (zeros when it carried none).
    dq: [f64; NUM_JOINTS],
    executed: Option<[f64; NUM_JOINTS]>,
    policy_id: String,
    pub(super) limits: InputLimits,
    /// The controller's settings from the parameter file (a `TaskGoal` may change some while
    /// it lasts).
    pub(super) control: ControlConfig,
    /// The robot's newest position (m, `odom`), for the goal distance.
    pub(super) robot_xy: [f64; 2],
    /// The robot's heading (rad, odometry frame) from the newest state.
    pub(super) robot_yaw: f64,
    /// The bridge's newest mode (`/g1d/bridge/mode`), if one was heard.
    bridge_mode: Option<String>,
    pub inputs: InputCounters,
}

impl PlannerCore {
    /// Opens the model and builds the controller from the node's parameters; plans land by
    /// `latency` (the node: the wall clock; evaluation: a fixed or measured model).
    pub fn new(cfg: &PlannerNodeConfig, latency: LatencyModel) -> Result<Self> {
        let dir = crate::asset_path(&cfg.model);
        let device: g1_diffusion::OrtDevice = cfg.device.parse()?;
        let (manifest, net) = g1_diffusion::open_ort(&dir, device, cfg.threads as usize)
            .with_context(|| format!("parameter `model`: {}", dir.display()))?;
        let policy_id = format!(
            "diffusion:{}",
            &manifest.onnx_sha256[..manifest.onnx_sha256.len().min(12)]
        );
        let planner = Planner::new(Box::new(net), manifest, cfg.planner.clone())?;
        Ok(Self {
            controller: Controller::new(planner, cfg.control.clone(), latency)?,
            task: STAND,
            obstacles: Vec::new(),
            q: None,
            dq: [0.0; NUM_JOINTS],
            executed: None,
            policy_id,
            limits: cfg.limits.clone(),
            control: cfg.control.clone(),
            robot_xy: [0.0, 0.0],
            robot_yaw: 0.0,
            bridge_mode: None,
            inputs: InputCounters::default(),
        })
    }

    /// Takes the parameters that may change at run time ([`PlannerNodeConfig`]'s
    /// `settable_at_run_time`: task weights and costs, guidance scale and shape, input limits)
    /// from `cfg`, between control steps; the plan being executed is kept.
    pub fn reconfigure(&mut self, cfg: &PlannerNodeConfig) {
        self.control = cfg.control.clone();
        self.controller.cfg = cfg.control.clone();
        self.limits = cfg.limits.clone();
        let p = &mut self.controller.planner.config;
        p.guidance_scale = cfg.planner.guidance_scale;
        p.max_guidance_step = cfg.planner.max_guidance_step;
        p.temperature = cfg.planner.temperature;
        p.guidance_ramp = cfg.planner.guidance_ramp;
        p.precondition_floor = cfg.planner.precondition_floor;
    }

    /// A new episode (evaluation): the controller reset with `seed`, standing ([`STAND`]), no
    /// obstacles.
    pub fn reset(&mut self, seed: u64) {
        self.controller.reset(seed);
        self.task = STAND;
        self.obstacles.clear();
        self.q = None;
        self.executed = None;
        self.bridge_mode = None;
        self.controller.cfg = self.control.clone();
    }

    /// The bridge's mode (`/g1d/bridge/mode`: damping, standby, active, hold).
    pub fn bridge_mode(&mut self, mode: &str) {
        if self.bridge_mode.as_deref() != Some(mode) {
            self.bridge_mode = Some(mode.to_string());
        }
    }

    /// Whether the task is pursued: while the bridge is heard in any mode but `active` (the
    /// G1 damped, ramping to stand or hanging from a gantry), plans are made without a task,
    /// so that guidance starts from the robot standing free, as the evaluation measures it.
    /// Without a bridge heard (a planner on its own), always.
    pub fn engaged(&self) -> bool {
        self.bridge_mode.as_deref().is_none_or(|m| m == "active")
    }

    /// Whether joint states have arrived (a state is only acted on after them).
    pub fn ready(&self) -> bool {
        self.q.is_some()
    }

    pub fn joints(&mut self, j: &JointState) {
        if j.position.len() == NUM_JOINTS && j.position.iter().all(|v| v.is_finite()) {
            self.q = Some(std::array::from_fn(|k| j.position[k]));
            self.dq = if j.velocity.len() == NUM_JOINTS && j.velocity.iter().all(|v| v.is_finite())
            {
                std::array::from_fn(|k| j.velocity[k])
            } else {
                [0.0; NUM_JOINTS]
            };
        } else {
            self.reject(format!(
                "/joint_states: {} positions, finite: {}",
                j.position.len(),
                j.position.iter().all(|v| v.is_finite())
            ));
        }
    }

    /// What the robot executed: the position targets of the newest LowCmd the bridge sent
    /// (in damping, kp = 0: the measured position stands in for the target).
    pub fn lowcmd(&mut self, c: &LowCmd) {
        if let Some(q) = self.q {
            self.executed = Some(std::array::from_fn(|j| {
                let m = &c.motor_cmd[j];
                if m.kp > 0.0 {
                    m.q as f64
                } else {
                    q[j]
                }
            }));
        }
    }

    /// Obstacles as cost shapes (world frame).
    pub fn set_shapes(&mut self, shapes: Vec<g1_guidance::Shape>) {
        self.obstacles = shapes;
    }

    pub fn obstacles(&mut self, a: &g1_msgs::g1d::ObstacleArray) -> Result<()> {
        let layout = self.controller.planner.manifest.state_layout;
        if layout != g1::StateLayout::BodyPos && !a.obstacles.is_empty() {
            bail!(
                "obstacles need a Body-Pos model (body positions to keep clear); this model's states are {layout}"
            );
        }
        for (i, m) in a.obstacles.iter().enumerate() {
            let (p, q, d) = (&m.pose.position, &m.pose.orientation, &m.dimensions);
            let finite = [p.x, p.y, p.z, q.x, q.y, q.z, q.w, d.x, d.y, d.z]
                .iter()
                .all(|v| v.is_finite());
            let sized = [d.x, d.y, d.z].iter().all(|v| (0.0..=100.0).contains(v));
            let near = p.x.hypot(p.y) <= 1000.0;
            if !(finite && sized && near) {
                bail!(
                    "obstacle {i}: position ({}, {}, {}), dimensions ({}, {}, {}) (finite, 0–100 m, within 1 km)",
                    p.x, p.y, p.z, d.x, d.y, d.z
                );
            }
        }
        self.obstacles = a
            .obstacles
            .iter()
            .map(|m| crate::obstacles_node::from_msg(m).map(|o| g1_eval::to_shape(&o)))
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// One control step on a `/g1d/state`: the targets for the period that starts now
    /// (stamped with the state they answer), None before joint states arrived or when the
    /// controller has no targets. Plan afterwards with [`Self::plan_next`].
    pub fn on_state(&mut self, s: &BodyPosState) -> Result<Option<JointTargets>> {
        let Some(q) = self.q else {
            return Ok(None);
        };
        if s.layout_version != g1::LAYOUT_VERSION || s.state.len() != STATE_DIM {
            bail!(
                "/g1d/state has layout {} with {} numbers; this planner needs layout {} with {STATE_DIM}",
                s.layout_version,
                s.state.len(),
                g1::LAYOUT_VERSION
            );
        }
        let p = &s.root_pose;
        let finite = s.state.iter().all(|v| v.is_finite())
            && [p.position.x, p.position.y, p.position.z]
                .iter()
                .chain(&[
                    p.orientation.x,
                    p.orientation.y,
                    p.orientation.z,
                    p.orientation.w,
                ])
                .all(|v| v.is_finite());
        if !finite {
            bail!("/g1d/state has non-finite values");
        }
        self.robot_xy = [p.position.x, p.position.y];
        let state: g1::BodyPosState = std::array::from_fn(|k| s.state[k] as f64);
        let quat = crate::unit_quat(&p.orientation);
        let frame =
            CharacterFrame::from_root(&NV::new(p.position.x, p.position.y, p.position.z), &quat);
        self.robot_yaw = frame.yaw_rad;
        let cmd = self.controller.observe(&Observation {
            state,
            frame,
            q,
            dq: self.dq,
            executed: self.executed.take(),
            task: if self.engaged() {
                &self.task
            } else {
                &Task::Free
            },
            obstacles: &self.obstacles,
        });
        Ok(match cmd {
            Command::Targets { q, kp, kd, action } => Some(JointTargets {
                // Stamped with the state they answer (a lockstep simulator waits for it).
                header: Header::new(s.header.stamp, "pelvis"),
                policy_id: self.policy_id.clone(),
                action: action.iter().map(|v| *v as f32).collect(),
                q_target: q.to_vec(),
                kp: kp.iter().map(|v| *v as f32).collect(),
                kd: kd.iter().map(|v| *v as f32).collect(),
            }),
            Command::None => None,
        })
    }

    /// Plans from the last state (see [`Controller::plan_next`]).
    pub fn plan_next(&mut self) -> Option<PlanInfo> {
        self.controller.plan_next()
    }
}
