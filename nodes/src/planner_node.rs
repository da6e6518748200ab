//! `g1_planner`: the guided diffusion controller as a node. Every Body-Pos state on
//! `/g1d/state` (50 Hz, from the estimator) is one control step: it replans (guided, rolling,
//! ONNX Runtime) and publishes `joint_targets`, the planned root path on `/g1d/plan/path`
//! (`nav_msgs/Path`, frame `odom`) and the planned root positions as markers on
//! `/g1d/plan/markers`; for a waypoint with route guidance, the route from the robot to the
//! goal around the obstacles on `/g1d/route` (`nav_msgs/Path`, 2 Hz). Goals: `/g1d/goal` (`TaskGoal`), `/goal_pose` (RViz "2D Goal Pose" →
//! waypoint) and `cmd_vel` (joystick velocity). With no goal it follows the model's own
//! behaviour (no guidance). Obstacles (`/g1d/obstacles`, latched) join the cost of every task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use g1::nalgebra::Vector3 as NV;
use g1::{CharacterFrame, NUM_JOINTS, STATE_DIM};
use g1_control::{
    Command, ControlConfig, Controller, LatencyModel, Observation, PlanInfo, Planner,
    PlannerConfig, Task,
};
use g1_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus, KeyValue};
use g1_msgs::g1d::{BodyPosState, JointTargets, TaskGoal};
use g1_msgs::geometry_msgs::{Point, Pose, PoseStamped, Quaternion, Twist, Vector3};
use g1_msgs::nav_msgs::Path;
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::{ColorRGBA, Header};
use g1_msgs::unitree::LowCmd;
use g1_msgs::visualization_msgs::{Marker, MarkerArray};
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::{NodeConfig, ParamError};
use serde::Deserialize;

use crate::runtime::Node;
use crate::stamp;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlannerNodeConfig {
    /// Model directory (manifest.json + denoiser.onnx); relative to the assets directory.
    pub model: String,
    /// ONNX Runtime device: cpu, cuda or tensorrt.
    pub device: String,
    pub threads: i64,
    /// A waypoint `x,y` (m, `odom`) to walk to from the start ("" = none: wait for a goal
    /// on `/g1d/goal`, `/goal_pose` or `cmd_vel`; also `none`).
    pub goal: String,
    pub planner: PlannerConfig,
    pub control: ControlConfig,
    /// Bounds on what comes in from the network (`limits.*`).
    pub limits: InputLimits,
}

/// Bounds on the planner's inputs. Velocity commands are clamped into the ranges the model
/// was trained on (the data collection's commands); goals farther than `goal_distance_m` from
/// the robot are refused. Non-finite values are refused everywhere.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputLimits {
    /// Forward velocity range (m/s).
    pub vx_mps: [f64; 2],
    /// Largest sideways speed (m/s).
    pub vy_mps: f64,
    /// Largest yaw rate (rad/s).
    pub wz_rps: f64,
    pub goal_distance_m: f64,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            vx_mps: [-0.5, 1.0],
            vy_mps: 0.5,
            wz_rps: 1.0,
            goal_distance_m: 50.0,
        }
    }
}

/// What the planner refused or bounded of its inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputCounters {
    pub rejected: u64,
    pub clamped: u64,
    /// The newest refusal's reason.
    pub last_rejection: Option<String>,
}

/// A `goal` parameter: `x,y` in metres, or "".
pub fn parse_goal(s: &str) -> Result<Option<[f64; 2]>, ParamError> {
    if s.trim().is_empty() || s.trim() == "none" {
        return Ok(None);
    }
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| ParamError::Invalid {
            key: "goal".into(),
            why: format!("`{s}`: {e} (expected x,y in metres)"),
        })?;
    match v[..] {
        [x, y] if x.is_finite() && y.is_finite() && x.hypot(y) <= 1000.0 => Ok(Some([x, y])),
        _ => Err(ParamError::Invalid {
            key: "goal".into(),
            why: format!("`{s}`: expected two finite numbers x,y within 1 km"),
        }),
    }
}

impl Default for PlannerNodeConfig {
    fn default() -> Self {
        Self {
            model: "models/default".into(),
            device: "cpu".into(),
            threads: 1,
            goal: String::new(),
            planner: PlannerConfig::default(),
            control: ControlConfig::default(),
            limits: InputLimits::default(),
        }
    }
}

impl NodeConfig for PlannerNodeConfig {
    fn check(&self) -> Result<(), ParamError> {
        g1_ros::range_check("threads", self.threads as f64, 1.0, 64.0)?;
        let l = &self.limits;
        g1_ros::range_check("limits.vx_mps[0]", l.vx_mps[0], -3.0, 0.0)?;
        g1_ros::range_check("limits.vx_mps[1]", l.vx_mps[1], 0.0, 3.0)?;
        g1_ros::range_check("limits.vy_mps", l.vy_mps, 0.0, 3.0)?;
        g1_ros::range_check("limits.wz_rps", l.wz_rps, 0.0, 5.0)?;
        g1_ros::range_check("limits.goal_distance_m", l.goal_distance_m, 0.1, 1000.0)?;
        parse_goal(&self.goal)?;
        self.planner
            .check(g1_diffusion::K_STEPS)
            .map_err(|e| ParamError::Invalid {
                key: "planner".into(),
                why: format!("{e:#}"),
            })?;
        self.control.check().map_err(|e| ParamError::Invalid {
            key: "control".into(),
            why: format!("{e:#}"),
        })?;
        self.device
            .parse::<g1_diffusion::OrtDevice>()
            .map_err(|e| ParamError::Invalid {
                key: "device".into(),
                why: format!("{e:#}"),
            })?;
        Ok(())
    }
}

/// Control steps per `/diagnostics` message (1 s at 50 Hz).
const DIAGNOSTICS_EVERY: u64 = 50;

/// What the planner did over the last `/diagnostics` window: plan compute times, failed plans,
/// steps without targets, and the disturbance gate (the model's surprise at the measured
/// velocity; `g1_control::task::DisturbanceGate`).
#[derive(Debug, Default)]
pub struct PlanningWindow {
    pub steps: u64,
    pub plan_ms: Vec<f64>,
    pub failed_plans: u64,
    pub no_target_steps: u64,
    pub surprise_max_mps: f64,
    pub gate_min: Option<f64>,
}

impl PlanningWindow {
    /// One control step: the new plan's compute time (None: planning failed), whether targets
    /// went out, the step's surprise and the gate after it.
    pub fn record(&mut self, plan_ms: Option<f64>, sent: bool, surprise: Option<f64>, gate: f64) {
        self.steps += 1;
        match plan_ms {
            Some(ms) => self.plan_ms.push(ms),
            None => self.failed_plans += 1,
        }
        if !sent {
            self.no_target_steps += 1;
        }
        self.surprise_max_mps = self.surprise_max_mps.max(surprise.unwrap_or(0.0));
        self.gate_min = Some(self.gate_min.map_or(gate, |g| g.min(gate)));
    }

    /// The window as a `diagnostic_msgs/DiagnosticStatus`: ERROR when plans failed or no
    /// targets went out, WARN when planning took longer than the control period `period_ms`
    /// or a disturbance closed the gate, OK otherwise.
    pub fn status(&self, period_ms: f64, task: &str) -> DiagnosticStatus {
        let pct = |p: f64| g1_control::percentile(&self.plan_ms, p).unwrap_or(f64::NAN);
        let gate = self.gate_min.unwrap_or(1.0);
        let (level, message) = if self.failed_plans > 0 || self.no_target_steps > 0 {
            (
                DiagnosticStatus::ERROR,
                format!(
                    "{} failed plans, {} steps without targets",
                    self.failed_plans, self.no_target_steps
                ),
            )
        } else if pct(1.0) > period_ms {
            (
                DiagnosticStatus::WARN,
                format!("a plan took {:.1} ms (period {period_ms:.0} ms)", pct(1.0)),
            )
        } else if gate < 1.0 {
            (
                DiagnosticStatus::WARN,
                format!(
                    "disturbed: velocity {:.2} m/s off the model's prediction",
                    self.surprise_max_mps
                ),
            )
        } else {
            (DiagnosticStatus::OK, "planning".to_string())
        };
        let kv = |k: &str, v: String| KeyValue {
            key: k.into(),
            value: v,
        };
        DiagnosticStatus {
            level,
            name: "g1_planner: planning".into(),
            message,
            hardware_id: "g1".into(),
            values: vec![
                kv("task", task.to_string()),
                kv("steps", self.steps.to_string()),
                kv("plans", self.plan_ms.len().to_string()),
                kv("failed_plans", self.failed_plans.to_string()),
                kv("steps_without_targets", self.no_target_steps.to_string()),
                kv("plan_ms_p50", format!("{:.2}", pct(0.5))),
                kv("plan_ms_max", format!("{:.2}", pct(1.0))),
                kv("surprise_max_mps", format!("{:.3}", self.surprise_max_mps)),
                kv("gate_min", format!("{gate:.2}")),
            ],
        }
    }
}

/// The planner node's processing without DDS: messages in, joint targets out, around the one
/// [`Controller`]. The node and the `deployed` evaluation harness both run it.
pub struct PlannerCore {
    pub controller: Controller,
    pub task: Task,
    obstacles: Vec<g1_guidance::Shape>,
    q: Option<[f64; NUM_JOINTS]>,
    executed: Option<[f64; NUM_JOINTS]>,
    policy_id: String,
    limits: InputLimits,
    /// The robot's newest position (m, `odom`), for the goal distance.
    robot_xy: [f64; 2],
    /// The robot's heading (rad, odometry frame) from the newest state.
    robot_yaw: f64,
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
            task: Task::Free,
            obstacles: Vec::new(),
            q: None,
            executed: None,
            policy_id,
            limits: cfg.limits.clone(),
            robot_xy: [0.0, 0.0],
            robot_yaw: 0.0,
            inputs: InputCounters::default(),
        })
    }

    /// Counts a refused input with its reason (shown on `/diagnostics`).
    pub fn reject(&mut self, why: String) {
        self.inputs.rejected += 1;
        self.inputs.last_rejection = Some(why);
    }

    /// A waypoint goal, if finite and within `limits.goal_distance_m` of the robot.
    fn set_waypoint(&mut self, goal: [f64; 2], from: &str) {
        let d = (goal[0] - self.robot_xy[0]).hypot(goal[1] - self.robot_xy[1]);
        if !d.is_finite() {
            self.reject(format!("{from}: a non-finite goal {goal:?}"));
        } else if d > self.limits.goal_distance_m {
            self.reject(format!(
                "{from}: goal {goal:?} is {d:.0} m away (limits.goal_distance_m {})",
                self.limits.goal_distance_m
            ));
        } else {
            self.task = Task::Waypoint { goal };
        }
    }

    /// A velocity command, if finite, clamped into the limits.
    fn set_velocity(&mut self, v: [f64; 3], from: &str) {
        if !v.iter().all(|x| x.is_finite()) {
            self.reject(format!("{from}: a non-finite velocity {v:?}"));
            return;
        }
        let l = &self.limits;
        let c = [
            v[0].clamp(l.vx_mps[0], l.vx_mps[1]),
            v[1].clamp(-l.vy_mps, l.vy_mps),
            v[2].clamp(-l.wz_rps, l.wz_rps),
        ];
        if c != v {
            self.inputs.clamped += 1;
        }
        self.task = if c == [0.0; 3] {
            Task::Free
        } else {
            Task::Joystick {
                velocity: [c[0], c[1]],
                yaw_rate: c[2],
            }
        };
    }

    /// A new episode (evaluation): the controller reset with `seed`, no task, no obstacles.
    pub fn reset(&mut self, seed: u64) {
        self.controller.reset(seed);
        self.task = Task::Free;
        self.obstacles.clear();
        self.q = None;
        self.executed = None;
    }

    /// Whether joint states have arrived (a state is only acted on after them).
    pub fn ready(&self) -> bool {
        self.q.is_some()
    }

    /// A `TaskGoal` (`/g1d/goal`). Out-of-range goals are refused and counted
    /// ([`Self::inputs`]); velocities are clamped into `limits`; a waypoint is read in its
    /// header's frame ([`Self::to_odom`]).
    pub fn goal(&mut self, g: &TaskGoal) {
        match g.task {
            1 => {
                let v = &g.velocity;
                self.set_velocity([v.linear.x, v.linear.y, v.angular.z], "/g1d/goal")
            }
            2 => {
                let p = [g.waypoint.x, g.waypoint.y];
                match self.to_odom(&g.header.frame_id, p) {
                    Ok(p) => self.set_waypoint(p, "/g1d/goal"),
                    Err(e) => self.reject(format!("/g1d/goal: {e}")),
                }
            }
            0 => self.task = Task::Free,
            t => self.reject(format!("/g1d/goal: unknown task {t}")),
        }
    }

    /// A pose goal (`/goal_pose`, in its header's frame): walk there (if within
    /// `limits.goal_distance_m`).
    pub fn pose_goal(&mut self, p: &PoseStamped) {
        let xy = [p.pose.position.x, p.pose.position.y];
        match self.to_odom(&p.header.frame_id, xy) {
            Ok(xy) => self.set_waypoint(xy, "/goal_pose"),
            Err(e) => self.reject(format!("/goal_pose: {e}")),
        }
    }

    /// A planar point given in `frame_id`, in the odometry frame the planner works in: `odom`
    /// (or no frame) as it is; `pelvis`, `base_link` or `base_footprint` relative to the robot
    /// (x ahead along its heading, y to its left, from the newest state; REP-103/105). Other
    /// frames are refused: the planner has no transform tree to look them up in.
    pub fn to_odom(&self, frame_id: &str, p: [f64; 2]) -> std::result::Result<[f64; 2], String> {
        match frame_id.trim_start_matches('/') {
            "" | "odom" => Ok(p),
            "pelvis" | "base_link" | "base_footprint" => {
                let (s, c) = self.robot_yaw.sin_cos();
                Ok([
                    self.robot_xy[0] + c * p[0] - s * p[1],
                    self.robot_xy[1] + s * p[0] + c * p[1],
                ])
            }
            f => Err(format!(
                "goal in frame `{f}`: give it in `odom` or relative to the robot (`base_link`, `base_footprint`, `pelvis`)"
            )),
        }
    }

    /// A velocity command (`cmd_vel`), clamped into `limits`; all zeros = no task; a
    /// non-finite one is refused (the task stays).
    pub fn cmd_vel(&mut self, c: &Twist) {
        self.set_velocity([c.linear.x, c.linear.y, c.angular.z], "cmd_vel");
    }

    pub fn joints(&mut self, j: &JointState) {
        if j.position.len() == NUM_JOINTS && j.position.iter().all(|v| v.is_finite()) {
            self.q = Some(std::array::from_fn(|k| j.position[k]));
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
            executed: self.executed.take(),
            task: &self.task,
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

pub struct PlannerNode {
    name: String,
    core: PlannerCore,
    state_sub: Subscription<BodyPosState>,
    joints_sub: Subscription<JointState>,
    goal_sub: Subscription<TaskGoal>,
    pose_goal_sub: Subscription<PoseStamped>,
    cmd_sub: Subscription<Twist>,
    lowcmd_sub: Subscription<LowCmd>,
    obstacles_sub: Subscription<g1_msgs::g1d::ObstacleArray>,
    targets_pub: Publisher<JointTargets>,
    path_pub: Publisher<Path>,
    route_pub: Publisher<Path>,
    markers_pub: Publisher<MarkerArray>,
    diagnostics_pub: Publisher<DiagnosticArray>,
    /// Failed DDS writes of this node's publishers.
    publish_failures: Arc<AtomicU64>,
    window: PlanningWindow,
    /// Every plan's compute time (ms) and the start goal, for the run's report.
    plan_ms: Vec<f64>,
    goal: Option<[f64; 2]>,
    pub steps: u64,
    /// For each state acted on: from its sample's time (the bridge's LowState) to its arrival
    /// here (ms).
    sample_to_planner_ms: Vec<f64>,
    /// Refusals already logged, and when the next log line may go out (one a second).
    logged_rejections: u64,
    next_log_s: f64,
}

impl PlannerNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: PlannerNodeConfig = ros.ctx.config()?;
        let goal = parse_goal(&cfg.goal)?;
        let mut core = PlannerCore::new(&cfg, LatencyModel::WallClock)?;
        if let Some(goal) = goal {
            core.task = Task::Waypoint { goal };
        }
        Ok(Self {
            name: ros.ctx.names.fqn(),
            core,
            plan_ms: vec![],
            goal,
            state_sub: ros.subscription("/g1d/state", QosPreset::Command)?,
            joints_sub: ros.subscription("/joint_states", QosPreset::Sensor)?,
            goal_sub: ros.subscription("/g1d/goal", QosPreset::Command)?,
            pose_goal_sub: ros.subscription("/goal_pose", QosPreset::Command)?,
            cmd_sub: ros.subscription("cmd_vel", QosPreset::Command)?,
            lowcmd_sub: ros.subscription("/lowcmd", QosPreset::Command)?,
            obstacles_sub: ros.subscription("/g1d/obstacles", QosPreset::Latched)?,
            targets_pub: ros.publisher("joint_targets", QosPreset::Command)?,
            path_pub: ros.publisher("/g1d/plan/path", QosPreset::Sensor)?,
            route_pub: ros.publisher("/g1d/route", QosPreset::Sensor)?,
            markers_pub: ros.publisher("/g1d/plan/markers", QosPreset::Sensor)?,
            diagnostics_pub: ros.publisher("/diagnostics", QosPreset::Command)?,
            publish_failures: ros.publish_failures(),
            window: PlanningWindow::default(),
            steps: 0,
            logged_rejections: 0,
            next_log_s: 0.0,
            sample_to_planner_ms: vec![],
        })
    }

    /// Every goal and command in arrival order (each checked; the newest valid one wins).
    fn update_goals(&mut self) {
        for g in take_all(&self.goal_sub).0 {
            self.core.goal(&g);
        }
        for p in take_all(&self.pose_goal_sub).0 {
            self.core.pose_goal(&p);
        }
        for c in take_all(&self.cmd_sub).0 {
            self.core.cmd_vel(&c);
        }
    }

    /// New refusals on stderr, at most one line a second (a flood of bad messages does not
    /// flood the log).
    fn log_rejections(&mut self, now_s: f64) {
        let n = self.core.inputs.rejected;
        if n > self.logged_rejections && now_s >= self.next_log_s {
            eprintln!(
                "[{}] refused {} input(s); newest: {}",
                self.name,
                n - self.logged_rejections,
                self.core.inputs.last_rejection.as_deref().unwrap_or("")
            );
            self.logged_rejections = n;
            self.next_log_s = now_s + 1.0;
        }
    }

    /// The route from `robot` to the waypoint (its corners cut where the clearance allows).
    fn publish_route(&self, header: &Header, robot: [f64; 2]) {
        let (Task::Waypoint { .. }, Some(route)) = (&self.core.task, self.core.controller.route())
        else {
            return;
        };
        let poses = route
            .shortcut_path(robot)
            .iter()
            .map(|q| PoseStamped {
                header: header.clone(),
                pose: Pose {
                    position: Point {
                        x: q[0],
                        y: q[1],
                        z: 0.0,
                    },
                    orientation: Quaternion {
                        x: 0.0,
                        y: 0.0,
                        z: 0.0,
                        w: 1.0,
                    },
                },
            })
            .collect();
        self.route_pub
            .publish(Path {
                header: header.clone(),
                poses,
            })
            .ok();
    }

    fn publish_plan(&self, header: &Header) {
        let Some((plan, frame)) = self.core.controller.plan() else {
            return;
        };
        let points: Vec<NV<f64>> = plan
            .states
            .iter()
            .skip(g1_diffusion::HISTORY)
            .map(|s| {
                let p = NV::new(s[0] as f64, s[1] as f64, s[2] as f64);
                frame.point_to_world(&p)
            })
            .collect();
        let pt = |p: &NV<f64>| Point {
            x: p.x,
            y: p.y,
            z: p.z,
        };
        self.path_pub
            .publish(Path {
                header: header.clone(),
                poses: points
                    .iter()
                    .map(|p| PoseStamped {
                        header: header.clone(),
                        pose: Pose {
                            position: pt(p),
                            orientation: Quaternion {
                                x: 0.0,
                                y: 0.0,
                                z: 0.0,
                                w: 1.0,
                            },
                        },
                    })
                    .collect(),
            })
            .ok();
        let mut m = Marker {
            header: header.clone(),
            ns: "plan_root".into(),
            id: 0,
            r#type: 7, // SPHERE_LIST
            action: 0,
            pose: Pose {
                position: Point {
                    x: 0.0,
                    y: 0.0,
                    z: 0.0,
                },
                orientation: Quaternion {
                    x: 0.0,
                    y: 0.0,
                    z: 0.0,
                    w: 1.0,
                },
            },
            scale: Vector3 {
                x: 0.04,
                y: 0.04,
                z: 0.04,
            },
            color: ColorRGBA {
                r: 0.1,
                g: 1.0,
                b: 0.2,
                a: 0.9,
            },
            ..Marker::default()
        };
        m.points = points.iter().map(pt).collect();
        let mut markers = vec![m.clone()];
        // The predicted bodies (all 30, as spheres) at every fourth future step, fading out.
        for (n, i) in (g1_diffusion::HISTORY + 4..g1_diffusion::STEPS)
            .step_by(4)
            .enumerate()
        {
            let bodies = plan_bodies_world(&plan.states[i], frame);
            let fade = 1.0 - 0.2 * n as f32;
            markers.push(Marker {
                ns: "plan_bodies".into(),
                id: n as i32,
                scale: Vector3 {
                    x: 0.05,
                    y: 0.05,
                    z: 0.05,
                },
                color: ColorRGBA {
                    r: 0.2,
                    g: 0.5,
                    b: 1.0,
                    a: 0.8 * fade,
                },
                points: bodies.iter().map(pt).collect(),
                ..m.clone()
            });
        }
        self.markers_pub.publish(MarkerArray { markers }).ok();
    }
}

/// World positions of a planned state's 30 bodies. The bodies are stored in the state's own
/// character frame (origin under its root, rotated by its heading); its root position and
/// orientation are relative to the plan's frame `frame`.
pub fn plan_bodies_world(state: &[f32; STATE_DIM], frame: &CharacterFrame) -> Vec<NV<f64>> {
    let g = |k: usize| state[k] as f64;
    let rot = g1::nalgebra::UnitQuaternion::from_scaled_axis(NV::new(g(3), g(4), g(5)));
    let yaw = g1::bodypos::heading_yaw(&rot);
    let own = g1::nalgebra::UnitQuaternion::from_axis_angle(&NV::z_axis(), yaw);
    let origin = NV::new(g(0), g(1), 0.0);
    (0..g1::NUM_BODIES)
        .map(|b| {
            let r = g1::bodypos::layout::body_pos(b);
            let p = NV::new(g(r.start), g(r.start + 1), g(r.start + 2));
            frame.point_to_world(&(origin + own * p))
        })
        .collect()
}

impl Node for PlannerNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn report(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "goal": self.goal,
            "plans": self.plan_ms.len(),
            "failed_plans": self.core.controller.failed_plans,
            "plan_ms_p50": g1_control::percentile(&self.plan_ms, 0.5),
            "plan_ms_p99": g1_control::percentile(&self.plan_ms, 0.99),
            "sample_to_planner_ms_p50": g1_control::percentile(&self.sample_to_planner_ms, 0.5),
            "sample_to_planner_ms_p99": g1_control::percentile(&self.sample_to_planner_ms, 0.99),
            "rejected_inputs": self.core.inputs.rejected,
            "clamped_inputs": self.core.inputs.clamped,
            "last_rejection": self.core.inputs.last_rejection,
            "publish_failures": self.publish_failures.load(Ordering::Relaxed),
        }))
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.update_goals();
        if let Some(j) = take_all(&self.joints_sub).0.pop() {
            self.core.joints(&j);
        }
        if let Some(c) = take_all(&self.lowcmd_sub).0.pop() {
            self.core.lowcmd(&c);
        }
        if let Some(a) = take_all(&self.obstacles_sub).0.pop() {
            if let Err(e) = self.core.obstacles(&a) {
                self.core.reject(format!("/g1d/obstacles: {e:#}"));
            }
        }
        self.log_rejections(now_s);
        let Some(s) = take_all(&self.state_sub).0.pop() else {
            return Ok(Duration::from_millis(1));
        };
        if !self.core.ready() {
            return Ok(Duration::from_millis(1));
        }
        self.sample_to_planner_ms
            .push((now_s - s.header.stamp.as_secs_f64()) * 1e3);
        let targets = match self.core.on_state(&s) {
            Ok(t) => t,
            Err(e) => {
                // A malformed state is refused; the bridge's watchdog covers the gap.
                self.core.reject(format!("{e:#}"));
                return Ok(Duration::from_millis(1));
            }
        };
        // The targets for this period go out first; the plan from this state lands later.
        let sent = targets.is_some();
        if let Some(t) = targets {
            self.targets_pub.publish(t).ok();
        }
        let failed_before = self.core.controller.failed_plans;
        let plan = self.core.plan_next();
        let plan_ms = plan.map(|p| p.compute_s * 1e3);
        self.plan_ms.extend(plan_ms);
        let info = self.core.controller.last_step.expect("observed");
        if plan.is_some() || self.core.controller.failed_plans > failed_before {
            self.window.record(
                plan_ms,
                sent,
                info.surprise_mps,
                self.core.controller.gate(),
            );
        }
        if self.window.steps >= DIAGNOSTICS_EVERY {
            let task = match &self.core.task {
                Task::Free => "free",
                Task::Joystick { .. } => "joystick",
                Task::Waypoint { .. } => "waypoint",
            };
            let period_ms = 1e3 / self.core.controller.planner.manifest.control_hz;
            let mut status = self.window.status(period_ms, task);
            let inputs = &self.core.inputs;
            let publish_failures = self.publish_failures.load(Ordering::Relaxed);
            for (k, v) in [
                ("rejected_inputs", inputs.rejected.to_string()),
                ("clamped_inputs", inputs.clamped.to_string()),
                ("publish_failures", publish_failures.to_string()),
                (
                    "last_rejection",
                    inputs.last_rejection.clone().unwrap_or_default(),
                ),
            ] {
                status.values.push(KeyValue {
                    key: k.into(),
                    value: v,
                });
            }
            if publish_failures > 0 {
                status.level = DiagnosticStatus::ERROR;
                status.message = format!("{publish_failures} writes to DDS failed");
            } else if inputs.rejected > 0 && status.level == DiagnosticStatus::OK {
                status.level = DiagnosticStatus::WARN;
                status.message = format!("planning; {} inputs refused", inputs.rejected);
            }
            self.diagnostics_pub
                .publish(DiagnosticArray {
                    header: Header::new(stamp(now_s), ""),
                    status: vec![status],
                })
                .ok();
            self.window = PlanningWindow::default();
        }
        let p = &s.root_pose;
        self.publish_plan(&Header::new(stamp(now_s), "odom"));
        if self.steps.is_multiple_of(25) {
            self.publish_route(
                &Header::new(stamp(now_s), "odom"),
                [p.position.x, p.position.y],
            );
        }
        self.steps += 1;
        Ok(Duration::from_millis(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use g1::nalgebra::UnitQuaternion;

    #[test]
    fn goal_parameter_is_checked() {
        assert_eq!(parse_goal("3,1").unwrap(), Some([3.0, 1.0]));
        assert_eq!(parse_goal(" -2.5 , 0 ").unwrap(), Some([-2.5, 0.0]));
        assert_eq!(parse_goal("none").unwrap(), None);
        assert_eq!(parse_goal("").unwrap(), None);
        for bad in ["3", "1,2,3", "x,1", "nan,0", "5000,0"] {
            let e = parse_goal(bad).unwrap_err().to_string();
            assert!(e.contains("goal"), "{bad}: {e}");
        }
    }

    /// The diagnostics window: levels by precedence (failures, slow plans, disturbance) and the
    /// values it reports.
    #[test]
    fn planning_window_levels_and_values() {
        let value = |s: &DiagnosticStatus, k: &str| {
            s.values.iter().find(|v| v.key == k).unwrap().value.clone()
        };
        let mut w = PlanningWindow::default();
        for i in 0..50 {
            w.record(Some(5.0 + (i % 5) as f64), true, Some(0.05), 1.0);
        }
        let s = w.status(20.0, "joystick");
        assert_eq!(s.level, DiagnosticStatus::OK, "{s:?}");
        assert_eq!(value(&s, "plans"), "50");
        assert_eq!(value(&s, "plan_ms_p50"), "7.00");
        assert_eq!(value(&s, "plan_ms_max"), "9.00");
        assert_eq!(value(&s, "gate_min"), "1.00");
        assert_eq!(value(&s, "task"), "joystick");
        // A push: the gate closes → WARN with the surprise.
        w.record(Some(6.0), true, Some(0.45), 0.0);
        let s = w.status(20.0, "joystick");
        assert_eq!(s.level, DiagnosticStatus::WARN);
        assert!(s.message.contains("0.45"), "{}", s.message);
        assert_eq!(value(&s, "gate_min"), "0.00");
        // A plan slower than the period outranks the disturbance.
        w.record(Some(25.0), true, None, 0.5);
        assert!(w.status(20.0, "joystick").message.contains("25.0 ms"));
        // A failed plan and a step without targets → ERROR.
        w.record(None, false, None, 1.0);
        let s = w.status(20.0, "joystick");
        assert_eq!(s.level, DiagnosticStatus::ERROR);
        assert_eq!(value(&s, "failed_plans"), "1");
        assert_eq!(value(&s, "steps_without_targets"), "1");
        assert_eq!(value(&s, "steps"), "53");
    }

    /// The plan markers put every body where forward kinematics does, for a step whose root
    /// is moved and turned away from the plan's frame (and tilted, so heading ≠ rotation).
    #[test]
    fn plan_bodies_are_where_forward_kinematics_puts_them() {
        let reference_root = g1::RootState::at_rest(
            NV::new(1.0, -2.0, 0.78),
            UnitQuaternion::from_euler_angles(0.0, 0.0, 0.7),
        );
        let reference = CharacterFrame::from_root(&reference_root.pos_w, &reference_root.quat_w);
        let root = g1::RootState::at_rest(
            NV::new(1.6, -1.5, 0.74),
            UnitQuaternion::from_euler_angles(0.1, -0.15, 1.9),
        );
        let q: [f64; NUM_JOINTS] = std::array::from_fn(|j| 0.1 * ((j as f64) * 0.7).sin());
        let kin = g1::forward_kinematics(&root, &q, &[0.0; NUM_JOINTS]);
        let s = g1::bodypos::build_state(&kin, &reference);
        let s32: [f32; STATE_DIM] = std::array::from_fn(|k| s[k] as f32);
        let got = plan_bodies_world(&s32, &reference);
        for (b, p) in got.iter().enumerate() {
            let err = (p - kin.pos_w[b]).norm();
            assert!(err < 1e-5, "body {b}: {err} m off");
        }
    }
}
