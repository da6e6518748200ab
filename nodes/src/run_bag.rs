//! A simulated run recorded as the node suite would have recorded it, stamped with the
//! simulator's clock (`g1d drive --bag`, `g1d demo`): the robot (`/joint_states`, `/sim/odom`
//! as the simulator node converts it, `/joint_targets`), the plans the controller executed as
//! the planner node publishes them (`/g1d/plan/markers`, `/g1d/plan/path`, the timing of
//! `/g1d/plan`), the world and the task (`/g1d/obstacles`, `/g1d/goal`, `/g1d/route`) and
//! the controller's status per control step on `/diagnostics`. What `g1d view` draws.

use anyhow::{Context as _, Result};
use g1_control::{Controller, Task};
use g1_msgs::builtin_interfaces::Time;
use g1_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus, KeyValue};
use g1_msgs::g1d::{ObstacleArray, TaskGoal};
use g1_msgs::std_msgs::Header;
use g1_sim::Sim;

/// The frame the planner node publishes its views in (the odometry frame; in simulation the
/// world).
const FRAME: &str = "odom";

/// A message as it would cross the wire: topic, type name, CDR bytes, time (s).
pub type Tap = Box<dyn FnMut(&str, &str, &[u8], f64) + Send>;

/// The bag's topics.
struct Channels {
    joints: g1_bag::Topic<g1_msgs::sensor_msgs::JointState>,
    odom: g1_bag::Topic<g1_msgs::nav_msgs::Odometry>,
    targets: g1_bag::Topic<g1_msgs::g1d::JointTargets>,
    markers: g1_bag::Topic<g1_msgs::visualization_msgs::MarkerArray>,
    plan_path: g1_bag::Topic<g1_msgs::nav_msgs::Path>,
    plan_timing: g1_bag::Topic<g1_msgs::g1d::PlannedTrajectory>,
    obstacles: g1_bag::Topic<ObstacleArray>,
    goal: g1_bag::Topic<TaskGoal>,
    route: g1_bag::Topic<g1_msgs::nav_msgs::Path>,
    diagnostics: g1_bag::Topic<DiagnosticArray>,
}

/// The run's recording: what a `g1_recorder` would have taken from the node suite, written to
/// a bag, handed to a tap (`g1d drive --view`), or both.
pub struct RunBag {
    bag: Option<(g1_bag::BagWriter, Channels)>,
    tap: Option<Tap>,
    names: Vec<String>,
    steps: u64,
    last_plan_step: Option<u64>,
    last_task: Option<Task>,
    contact_steps: u64,
}

/// The task as the planner node takes it on `/g1d/goal`.
pub fn task_goal(task: &Task, stamp: Time) -> TaskGoal {
    let mut g = TaskGoal {
        header: Header::new(stamp, FRAME),
        avoid_obstacles: true,
        ..TaskGoal::default()
    };
    match task {
        Task::Free => g.task = TaskGoal::TASK_NONE,
        Task::Joystick { velocity, yaw_rate } => {
            g.task = TaskGoal::TASK_JOYSTICK;
            g.velocity.linear.x = velocity[0];
            g.velocity.linear.y = velocity[1];
            g.velocity.angular.z = *yaw_rate;
        }
        Task::Waypoint { goal } => {
            g.task = TaskGoal::TASK_WAYPOINT;
            g.waypoint.x = goal[0];
            g.waypoint.y = goal[1];
        }
    }
    g
}

impl RunBag {
    /// A recording to the bag `dir` (with `run` as its run metadata), to `tap`, or both.
    pub fn create(
        dir: Option<&std::path::Path>,
        run: std::collections::BTreeMap<String, String>,
        tap: Option<Tap>,
    ) -> Result<Self> {
        let bag = match dir {
            Some(dir) => Some(Self::open_bag(dir, run)?),
            None => None,
        };
        Ok(Self {
            bag,
            tap,
            names: g1::JOINTS.iter().map(|j| j.model_name()).collect(),
            steps: 0,
            last_plan_step: None,
            last_task: None,
            contact_steps: 0,
        })
    }

    /// Finishes the bag (if there is one) and returns its directory.
    pub fn finish(self) -> Result<Option<std::path::PathBuf>> {
        Ok(self.bag.map(|(w, _)| w.finish()).transpose()?)
    }

    fn open_bag(
        dir: &std::path::Path,
        run: std::collections::BTreeMap<String, String>,
    ) -> Result<(g1_bag::BagWriter, Channels)> {
        let mut w = g1_bag::BagWriter::create(
            dir,
            g1_bag::WriterOptions {
                run_metadata: run,
                ..Default::default()
            },
        )
        .with_context(|| format!("bag {}", dir.display()))?;
        use g1_bag::Qos::Reliable;
        let ch = Channels {
            joints: w.topic("/joint_states", Reliable)?,
            odom: w.topic("/sim/odom", Reliable)?,
            targets: w.topic("/joint_targets", Reliable)?,
            markers: w.topic("/g1d/plan/markers", Reliable)?,
            plan_path: w.topic("/g1d/plan/path", Reliable)?,
            plan_timing: w.topic("/g1d/plan", Reliable)?,
            obstacles: w.topic("/g1d/obstacles", Reliable)?,
            goal: w.topic("/g1d/goal", Reliable)?,
            route: w.topic("/g1d/route", Reliable)?,
            diagnostics: w.topic("/diagnostics", Reliable)?,
        };
        Ok((w, ch))
    }

    /// The message to the bag and the tap.
    fn put<M: g1_msgs::Message>(
        &mut self,
        pick: fn(&Channels) -> &g1_bag::Topic<M>,
        topic: &str,
        t_ns: u64,
        m: &M,
    ) -> Result<()> {
        if let Some((w, ch)) = self.bag.as_mut() {
            w.write(pick(ch), t_ns, m)?;
        }
        if let Some(tap) = self.tap.as_mut() {
            tap(topic, M::TYPE_NAME, &g1_msgs::to_cdr(m), t_ns as f64 * 1e-9);
        }
        Ok(())
    }

    /// The simulator's state after a control step, the controller that commanded it, the
    /// task it pursued and, in the deployed chain, the bridge's mode.
    pub fn record(
        &mut self,
        sim: &Sim,
        ctl: &Controller,
        task: &Task,
        bridge_mode: Option<&str>,
    ) -> Result<()> {
        let gt = sim.ground_truth();
        let t_ns = (gt.time_s * 1e9).round() as u64;
        let stamp = Time::from_secs_f64(gt.time_s);
        let header = Header::new(stamp, FRAME);
        if self.steps == 0 {
            let obstacles = ObstacleArray {
                header: header.clone(),
                obstacles: sim
                    .config()
                    .obstacles
                    .iter()
                    .map(crate::obstacles_node::to_msg)
                    .collect(),
            };
            self.put(|c| &c.obstacles, "/g1d/obstacles", t_ns, &obstacles)?;
        }
        if self.last_task.as_ref() != Some(task) {
            self.put(|c| &c.goal, "/g1d/goal", t_ns, &task_goal(task, stamp))?;
            self.last_task = Some(task.clone());
        }
        self.robot(sim, t_ns, stamp)?;
        // The plan the controller executes now, when it changed (the planner node publishes
        // the same views every step).
        let mut plan_ms = None;
        if let Some((plan, frame)) = ctl.plan() {
            plan_ms = Some(plan.compute_s * 1e3);
            if self.last_plan_step != Some(plan.step) {
                self.last_plan_step = Some(plan.step);
                let dt = 1.0 / ctl.planner.manifest.control_hz;
                let (path, markers) = crate::planner_node::plan_views(plan, frame, &header);
                self.put(|c| &c.markers, "/g1d/plan/markers", t_ns, &markers)?;
                self.put(|c| &c.plan_path, "/g1d/plan/path", t_ns, &path)?;
                // The plan's timing (its states are in the markers; the full trajectory would
                // be 20 times larger).
                let mut timing = crate::planner_node::planned_trajectory(plan, stamp, FRAME, dt);
                timing.states.clear();
                timing.actions.clear();
                self.put(|c| &c.plan_timing, "/g1d/plan", t_ns, &timing)?;
                if let (Task::Waypoint { .. }, Some(route)) = (task, ctl.route()) {
                    let robot = [gt.root.pos_w.x, gt.root.pos_w.y];
                    let path = crate::planner_node::route_path(route, &header, robot);
                    self.put(|c| &c.route, "/g1d/route", t_ns, &path)?;
                }
            }
        }
        let touching = sim.obstacle_contacts() > 0;
        self.contact_steps += touching as u64;
        let kv = |k: &str, v: String| KeyValue {
            key: k.into(),
            value: v,
        };
        let step = ctl.last_step;
        let mode = step.map_or("none", |s| s.mode.name());
        let status = DiagnosticStatus {
            level: DiagnosticStatus::OK,
            name: "g1d drive: controller".into(),
            message: mode.into(),
            hardware_id: "g1".into(),
            values: vec![
                kv("mode", mode.into()),
                kv("gate", format!("{:.3}", ctl.gate())),
                kv(
                    "plan_ms",
                    plan_ms.map_or(String::new(), |v| format!("{v:.2}")),
                ),
                kv("obstacle_contact_steps", self.contact_steps.to_string()),
                kv("touching", touching.to_string()),
                kv("fallen", gt.fallen().to_string()),
            ]
            .into_iter()
            .chain(bridge_mode.map(|m| kv("bridge_mode", m.into())))
            .collect(),
        };
        let diagnostics = DiagnosticArray {
            header,
            status: vec![status],
        };
        self.put(|c| &c.diagnostics, "/diagnostics", t_ns, &diagnostics)?;
        self.steps += 1;
        Ok(())
    }

    /// Joint states, odometry and the motor command.
    fn robot(&mut self, sim: &Sim, t_ns: u64, stamp: Time) -> Result<()> {
        let gt = sim.ground_truth();
        let tau = sim.sensors().tau;
        let joints = g1_msgs::sensor_msgs::JointState {
            header: Header::new(stamp, "pelvis"),
            name: self.names.clone(),
            position: gt.q.to_vec(),
            velocity: gt.dq.to_vec(),
            effort: tau.to_vec(),
        };
        self.put(|c| &c.joints, "/joint_states", t_ns, &joints)?;
        // The simulator node's own conversion (REP-105: the twist in the child frame).
        let odom = crate::convert::sim_odometry(&gt.root, gt.time_s);
        self.put(|c| &c.odom, "/sim/odom", t_ns, &odom)?;
        let c = sim.command();
        let targets = g1_msgs::g1d::JointTargets {
            header: Header::new(stamp, "pelvis"),
            policy_id: "diffusion".into(),
            action: vec![],
            q_target: c.q.to_vec(),
            kp: c.kp.iter().map(|v| *v as f32).collect(),
            kd: c.kd.iter().map(|v| *v as f32).collect(),
        };
        self.put(|c| &c.targets, "/joint_targets", t_ns, &targets)?;
        Ok(())
    }
}
