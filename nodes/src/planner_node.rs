//! `g1_planner`: the guided diffusion controller as a node. Every Body-Pos state on
//! `/g1d/state` (50 Hz, from the estimator) is one control step: it replans (guided, rolling,
//! ONNX Runtime) and publishes `joint_targets`, the plan on `/g1d/plan` (`PlannedTrajectory`),
//! its root path on `/g1d/plan/path` (`nav_msgs/Path`, frame `odom`) and its bodies as markers
//! on `/g1d/plan/markers`; for a waypoint with route guidance, the route from the robot to the
//! goal around the obstacles on `/g1d/route` (`nav_msgs/Path`, 2 Hz). Goals: `/g1d/goal`
//! (`TaskGoal`), `/goal_pose` (RViz "2D Goal Pose" → waypoint) and `cmd_vel` (joystick
//! velocity), pursued while the bridge is active (`/g1d/bridge/mode`). With no goal it follows
//! the model's own behaviour (no guidance). Obstacles (`/g1d/obstacles`, latched) join the cost
//! of every task. `~/reset` (`std_srvs/srv/Trigger`) clears the plan and the history; the
//! guidance weights, costs and input limits can be set while it runs (`ros2 param set`). The
//! processing is [`PlannerCore`].

mod config;
mod core;
mod goals;
mod viz;
mod window;

pub use config::{parse_goal, InputCounters, InputLimits, PlannerNodeConfig};
pub use core::{PlannerCore, STAND};
pub use viz::{plan_bodies_world, plan_views, planned_trajectory, route_path};
pub use window::{PlanningWindow, DIAGNOSTICS_EVERY};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use g1_control::{LatencyModel, Task};
use g1_msgs::diagnostic_msgs::DiagnosticArray;
use g1_msgs::g1d::{BodyPosState, JointTargets, ObstacleArray, PlannedTrajectory, TaskGoal};
use g1_msgs::geometry_msgs::{PoseStamped, Twist};
use g1_msgs::nav_msgs::Path;
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::{Header, StringMsg};
use g1_msgs::std_srvs::{TriggerRequest, TriggerResponse};
use g1_msgs::unitree::LowCmd;
use g1_msgs::visualization_msgs::MarkerArray;
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::service::Service;

use crate::runtime::Node;
use crate::stamp;

/// Clears the plan and the state/action history (`std_srvs/srv/Trigger`); the task and the
/// obstacles stay.
pub const RESET_SERVICE: &str = "~/reset";

/// The node: [`PlannerCore`] between its subscriptions and publishers.
pub struct PlannerNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<PlannerNodeConfig>,
    /// stderr and `/rosout`.
    log: g1_ros::rosout::NodeLogger,
    core: PlannerCore,
    state_sub: Subscription<BodyPosState>,
    joints_sub: Subscription<JointState>,
    goal_sub: Subscription<TaskGoal>,
    pose_goal_sub: Subscription<PoseStamped>,
    cmd_sub: Subscription<Twist>,
    lowcmd_sub: Subscription<LowCmd>,
    obstacles_sub: Subscription<ObstacleArray>,
    mode_sub: Subscription<StringMsg>,
    reset_srv: Service<TriggerRequest, TriggerResponse>,
    targets_pub: Publisher<JointTargets>,
    path_pub: Publisher<Path>,
    route_pub: Publisher<Path>,
    markers_pub: Publisher<MarkerArray>,
    trajectory_pub: Publisher<PlannedTrajectory>,
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
}

impl PlannerNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: PlannerNodeConfig = ros.ctx.config()?;
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let goal = parse_goal(&cfg.goal)?;
        let mut core = PlannerCore::new(&cfg, LatencyModel::WallClock)?;
        if let Some(goal) = goal {
            core.task = Task::Waypoint { goal };
        }
        Ok(Self {
            params,
            name: ros.ctx.names.fqn(),
            log: ros.logger(),
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
            mode_sub: ros.subscription(crate::bridge_node::MODE_TOPIC, QosPreset::Latched)?,
            reset_srv: Service::new(&ros, RESET_SERVICE, "std_srvs/srv/Trigger")?,
            targets_pub: ros.publisher("joint_targets", QosPreset::Command)?,
            path_pub: ros.publisher("/g1d/plan/path", QosPreset::Sensor)?,
            route_pub: ros.publisher("/g1d/route", QosPreset::Sensor)?,
            markers_pub: ros.publisher("/g1d/plan/markers", QosPreset::Sensor)?,
            trajectory_pub: ros.publisher("/g1d/plan", QosPreset::Sensor)?,
            diagnostics_pub: ros.publisher("/diagnostics", QosPreset::Command)?,
            publish_failures: ros.publish_failures(),
            window: PlanningWindow::default(),
            steps: 0,
            sample_to_planner_ms: vec![],
            _ros: ros,
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

    /// The plan (itself, its path and markers) and, every 25 steps, the route to the waypoint.
    /// `state` is the state of this control step.
    fn publish_views(&self, header: &Header, state: &BodyPosState) {
        let c = &self.core.controller;
        if let (Some((plan, frame)), Some(k)) = (c.plan(), c.current_step()) {
            let dt = 1.0 / c.planner.manifest.control_hz;
            let age_s = k.saturating_sub(plan.step) as f64 * dt;
            let planned_at = stamp(state.header.stamp.as_secs_f64() - age_s);
            let frame_id = &state.header.frame_id;
            let trajectory = planned_trajectory(plan, planned_at, frame_id, dt);
            self.trajectory_pub.publish(trajectory).ok();
            let (path, markers) = plan_views(plan, frame, header);
            self.path_pub.publish(path).ok();
            self.markers_pub.publish(markers).ok();
        }
        let robot = [state.root_pose.position.x, state.root_pose.position.y];
        if let (Task::Waypoint { .. }, Some(route), true) = (
            &self.core.task,
            self.core.controller.route(),
            self.steps.is_multiple_of(25),
        ) {
            self.route_pub
                .publish(route_path(route, header, robot))
                .ok();
        }
    }

    /// The `/diagnostics` window, when it is full.
    fn publish_diagnostics(&mut self, now_s: f64) {
        if self.window.steps < DIAGNOSTICS_EVERY {
            return;
        }
        let period_ms = 1e3 / self.core.controller.planner.manifest.control_hz;
        // Standing (a zero command, or none yet) is a joystick task at rest; say so.
        let task = if self.core.task == STAND {
            "stand"
        } else {
            self.core.task.kind()
        };
        let status = self.window.node_status(
            period_ms,
            task,
            &self.core.inputs,
            self.publish_failures.load(Ordering::Relaxed),
        );
        self.diagnostics_pub
            .publish(DiagnosticArray {
                header: Header::new(stamp(now_s), ""),
                status: vec![status],
            })
            .ok();
        self.window = PlanningWindow::default();
    }
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
        if let Some(cfg) = self.params.poll(now_s) {
            self.core.reconfigure(&cfg);
        }
        for r in self.reset_srv.take() {
            match r {
                Ok((id, _)) => {
                    let seed = self.core.controller.planner.config.seed;
                    self.core.controller.reset(seed);
                    self.log
                        .info("reset: plan and history cleared (the task and obstacles stay)");
                    let resp = TriggerResponse {
                        success: true,
                        message: "plan and history cleared".into(),
                    };
                    self.reset_srv.reply(&id, &resp).ok();
                }
                Err(e) => self.log.warn(&format!("{RESET_SERVICE}: {e:#}")),
            }
        }
        self.update_goals();
        if let Some(j) = take_all(&self.joints_sub).0.pop() {
            self.core.joints(&j);
        }
        if let Some(c) = take_all(&self.lowcmd_sub).0.pop() {
            self.core.lowcmd(&c);
        }
        if let Some(m) = take_all(&self.mode_sub).0.pop() {
            self.core.bridge_mode(&m.data);
        }
        if let Some(a) = take_all(&self.obstacles_sub).0.pop() {
            if let Err(e) = self.core.obstacles(&a) {
                self.core.reject(format!("/g1d/obstacles: {e:#}"));
            }
        }
        if let Some(line) = self.core.inputs.log_line(now_s) {
            self.log.warn(&line);
        }
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
        if plan.is_some() || self.core.controller.failed_plans > failed_before {
            let surprise = self.core.controller.last_step.and_then(|i| i.surprise_mps);
            let outcome = plan_ms.ok_or(self.core.controller.last_failure.unwrap_or("unknown"));
            self.window
                .record(outcome, sent, surprise, self.core.controller.gate());
        }
        self.publish_diagnostics(now_s);
        self.publish_views(&Header::new(stamp(now_s), "odom"), &s);
        self.steps += 1;
        Ok(Duration::from_millis(1))
    }
}
