//! What the viewer shows, as time series taken from the node suite's messages: the robot's
//! pose and joints, the plans the controller made (their recorded markers, not re-computed
//! ones), the world and the task, and the chain's status. Filled from a bag, from live topics
//! or from a run being computed; [`Timeline::at`] gives the picture at one moment.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use g1::nalgebra::{Quaternion, UnitQuaternion, Vector3};
use g1::{BodyKinematics, RootState, NUM_JOINTS};
use g1_msgs::g1d::{Obstacle, ObstacleArray, PlannedTrajectory, TaskGoal};
use g1_msgs::Message;

/// The pelvis height below which the G1 counts as fallen (the simulator's rule for the pelvis).
pub const FALL_PELVIS_HEIGHT_M: f64 = 0.3;

/// A plan as its markers drew it (world frame).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanView {
    /// The planned root positions over the horizon.
    pub roots: Vec<[f64; 3]>,
    /// Predicted bodies at some future steps, with the marker's opacity (fading with time).
    pub bodies: Vec<(f32, Vec<[f64; 3]>)>,
}

/// The chain's status at one moment, from `/diagnostics`, `/g1d/bridge/mode` and `/g1d/plan`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The bridge's mode (damping, standby, active, hold).
    pub mode: Option<String>,
    /// The controller's own mode where recorded (`g1d drive`: plan, hold, damping).
    pub controller: Option<String>,
    pub plan_ms: Option<f64>,
    pub gate: Option<f64>,
    /// Control steps touching an obstacle so far (as the simulator reported them).
    pub contact_steps: u64,
    pub touching: bool,
}

/// Everything drawn at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Seconds since the timeline's start.
    pub t: f64,
    pub root: RootState,
    pub q: [f64; NUM_JOINTS],
    pub kin: BodyKinematics,
    pub plan: Option<PlanView>,
    /// The executed root path up to `t` (subsampled).
    pub path: Vec<[f64; 3]>,
    pub obstacles: Vec<Obstacle>,
    pub goal: Option<[f64; 2]>,
    pub route: Vec<[f64; 2]>,
    /// Commanded `vx, vy, wz` (robot frame).
    pub cmd: Option<[f64; 3]>,
    pub status: Status,
    /// When the G1 fell (seconds since the start), if it had by `t`.
    pub fell_at: Option<f64>,
}

/// Samples of one series, in time order.
#[derive(Debug, Clone)]
struct Series<T>(Vec<(f64, T)>);

impl<T> Default for Series<T> {
    fn default() -> Self {
        Self(vec![])
    }
}

impl<T: Clone> Series<T> {
    fn push(&mut self, t: f64, v: T) {
        // Out-of-order samples (several publishers) go where they belong.
        let i = self.0.partition_point(|(s, _)| *s <= t);
        self.0.insert(i, (t, v));
    }
    /// The latest sample at or before `t`.
    fn at(&self, t: f64) -> Option<&T> {
        let i = self.0.partition_point(|(s, _)| *s <= t);
        i.checked_sub(1).map(|i| &self.0[i].1)
    }
    fn index_at(&self, t: f64) -> usize {
        self.0.partition_point(|(s, _)| *s <= t)
    }
}

/// The time series the viewer draws. Times are seconds on the messages' clock (the bag's log
/// time or the receipt time); [`Timeline::start`] is the first.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    start: Option<f64>,
    end: f64,
    /// Which odometry the pose comes from: `/sim/odom` (ground truth) wins over `/odom`.
    pose_topic: Option<String>,
    poses: Series<([f64; 3], [f64; 4])>,
    joints: Series<[f64; NUM_JOINTS]>,
    plans: Series<PlanView>,
    obstacles: Series<Vec<Obstacle>>,
    goals: Series<Option<[f64; 2]>>,
    routes: Series<Vec<[f64; 2]>>,
    cmds: Series<[f64; 3]>,
    modes: Series<String>,
    controller_modes: Series<String>,
    plan_ms: Series<f64>,
    gates: Series<f64>,
    contacts: Series<(u64, bool)>,
    /// The simulator's own fall verdict, where a recording carries it (`/diagnostics`).
    falls: Series<bool>,
    /// Messages on topics the viewer does not draw, or that it could not decode, per topic.
    pub skipped: BTreeMap<String, u64>,
    joint_index: BTreeMap<String, usize>,
}

/// The topics the viewer reads (recorded by `g1d drive --bag`, `g1d demo` and, by default, by
/// `g1_recorder`), and their types.
pub const TOPICS: [(&str, &str); 12] = [
    ("/joint_states", "sensor_msgs/msg/JointState"),
    ("/sim/odom", "nav_msgs/msg/Odometry"),
    ("/odom", "nav_msgs/msg/Odometry"),
    ("/g1d/plan/markers", "visualization_msgs/msg/MarkerArray"),
    ("/g1d/plan", "g1_diffusion/msg/PlannedTrajectory"),
    ("/g1d/obstacles", "g1_diffusion/msg/ObstacleArray"),
    ("/g1d/goal", "g1_diffusion/msg/TaskGoal"),
    ("/goal_pose", "geometry_msgs/msg/PoseStamped"),
    ("/g1d/route", "nav_msgs/msg/Path"),
    ("/cmd_vel", "geometry_msgs/msg/Twist"),
    ("/g1d/bridge/mode", "std_msgs/msg/String"),
    ("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"),
];

impl Timeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// The whole timeline from a bag (a rosbag2 directory or an `.mcap` file).
    pub fn from_bag(path: &std::path::Path) -> Result<Self> {
        let bag = g1_bag::Bag::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut tl = Self::new();
        let report = bag
            .read(|m| -> Result<()> {
                tl.ingest(m.topic, m.type_name, m.data, m.log_time_ns as f64 * 1e-9);
                Ok(())
            })
            .with_context(|| format!("reading {}", path.display()))??;
        if tl.poses.0.is_empty() || tl.joints.0.is_empty() {
            anyhow::bail!(
                "{}: {} messages but no robot to draw: the viewer needs /joint_states and /sim/odom or /odom",
                path.display(),
                report.messages
            );
        }
        Ok(tl)
    }

    /// Seconds on the messages' clock of the first message.
    pub fn start(&self) -> f64 {
        self.start.unwrap_or(0.0)
    }

    /// The timeline's length in seconds.
    pub fn duration(&self) -> f64 {
        (self.end - self.start()).max(0.0)
    }

    /// Whether a robot can be drawn yet (a pose and joint positions arrived).
    pub fn has_robot(&self) -> bool {
        !self.poses.0.is_empty() && !self.joints.0.is_empty()
    }

    /// Takes one message (CDR bytes) received at `t_s` on the messages' clock. Topics and types
    /// the viewer does not draw, and messages that do not decode, are counted in `skipped`.
    pub fn ingest(&mut self, topic: &str, type_name: &str, data: &[u8], t_s: f64) {
        if self.try_ingest(topic, type_name, data, t_s).is_err() {
            *self.skipped.entry(topic.to_string()).or_default() += 1;
        }
    }

    fn decode<M: Message>(type_name: &str, data: &[u8]) -> Result<M> {
        anyhow::ensure!(type_name == M::TYPE_NAME, "type {type_name}");
        Ok(g1_msgs::from_cdr(data)?)
    }

    fn try_ingest(&mut self, topic: &str, type_name: &str, data: &[u8], t_s: f64) -> Result<()> {
        use g1_msgs::{
            diagnostic_msgs, geometry_msgs, nav_msgs, sensor_msgs, std_msgs, visualization_msgs,
        };
        let t = t_s;
        match topic {
            "/joint_states" => self.joint_state(
                t,
                &Self::decode::<sensor_msgs::JointState>(type_name, data)?,
            ),
            "/sim/odom" | "/odom" => self.odometry(
                t,
                topic,
                &Self::decode::<nav_msgs::Odometry>(type_name, data)?,
            ),
            "/g1d/plan/markers" => self.plan_markers(
                t,
                &Self::decode::<visualization_msgs::MarkerArray>(type_name, data)?,
            ),
            "/g1d/plan" => self.plan(t, &Self::decode::<PlannedTrajectory>(type_name, data)?),
            "/g1d/obstacles" => self.obstacles(t, &Self::decode::<ObstacleArray>(type_name, data)?),
            "/g1d/goal" => self.goal(t, &Self::decode::<TaskGoal>(type_name, data)?),
            "/goal_pose" => {
                let p = Self::decode::<geometry_msgs::PoseStamped>(type_name, data)?;
                self.mark(t);
                self.goals
                    .push(t, Some([p.pose.position.x, p.pose.position.y]));
            }
            "/g1d/route" => {
                let p = Self::decode::<nav_msgs::Path>(type_name, data)?;
                self.mark(t);
                self.routes.push(
                    t,
                    p.poses
                        .iter()
                        .map(|s| [s.pose.position.x, s.pose.position.y])
                        .collect(),
                );
            }
            "/cmd_vel" => {
                let c = Self::decode::<geometry_msgs::Twist>(type_name, data)?;
                self.mark(t);
                self.cmds.push(t, [c.linear.x, c.linear.y, c.angular.z]);
            }
            "/g1d/bridge/mode" => {
                let m = Self::decode::<std_msgs::StringMsg>(type_name, data)?;
                self.mark(t);
                self.modes.push(t, m.data);
            }
            "/diagnostics" => self.diagnostics(
                t,
                &Self::decode::<diagnostic_msgs::DiagnosticArray>(type_name, data)?,
            ),
            _ => anyhow::bail!("not drawn"),
        }
        Ok(())
    }

    fn mark(&mut self, t: f64) {
        self.start = Some(self.start.map_or(t, |s| s.min(t)));
        self.end = self.end.max(t);
    }

    pub fn joint_state(&mut self, t: f64, m: &g1_msgs::sensor_msgs::JointState) {
        if self.joint_index.is_empty() {
            self.joint_index = g1::JOINTS
                .iter()
                .enumerate()
                .map(|(j, r)| (r.model_name(), j))
                .collect();
        }
        self.mark(t);
        let mut q = self.joints.at(t).copied().unwrap_or([0.0; NUM_JOINTS]);
        for (name, p) in m.name.iter().zip(&m.position) {
            if let Some(&j) = self.joint_index.get(name) {
                if p.is_finite() {
                    q[j] = *p;
                }
            }
        }
        self.joints.push(t, q);
    }

    pub fn odometry(&mut self, t: f64, topic: &str, m: &g1_msgs::nav_msgs::Odometry) {
        // The ground truth, when a bag has both, is what the robot did.
        match self.pose_topic.as_deref() {
            Some("/sim/odom") if topic != "/sim/odom" => return,
            Some(other) if other != topic && topic == "/sim/odom" => {
                self.poses = Series::default();
            }
            _ => {}
        }
        self.pose_topic = Some(topic.to_string());
        let (p, o) = (&m.pose.pose.position, &m.pose.pose.orientation);
        let v = [p.x, p.y, p.z, o.w, o.x, o.y, o.z];
        if !v.iter().all(|x| x.is_finite()) {
            return;
        }
        self.mark(t);
        self.poses.push(t, ([p.x, p.y, p.z], [o.w, o.x, o.y, o.z]));
    }

    pub fn plan_markers(&mut self, t: f64, m: &g1_msgs::visualization_msgs::MarkerArray) {
        let pt = |p: &g1_msgs::geometry_msgs::Point| [p.x, p.y, p.z];
        let mut view = PlanView::default();
        for mk in &m.markers {
            match mk.ns.as_str() {
                "plan_root" => view.roots = mk.points.iter().map(pt).collect(),
                "plan_bodies" => view
                    .bodies
                    .push((mk.color.a, mk.points.iter().map(pt).collect())),
                _ => {}
            }
        }
        self.mark(t);
        self.plans.push(t, view);
    }

    pub fn plan(&mut self, t: f64, m: &PlannedTrajectory) {
        self.mark(t);
        self.plan_ms.push(t, m.compute_time.as_secs_f64() * 1e3);
    }

    pub fn obstacles(&mut self, t: f64, m: &ObstacleArray) {
        self.mark(t);
        self.obstacles.push(t, m.obstacles.clone());
    }

    pub fn goal(&mut self, t: f64, m: &TaskGoal) {
        self.mark(t);
        match m.task {
            TaskGoal::TASK_WAYPOINT => self.goals.push(t, Some([m.waypoint.x, m.waypoint.y])),
            TaskGoal::TASK_JOYSTICK => {
                self.goals.push(t, None);
                let v = &m.velocity;
                self.cmds.push(t, [v.linear.x, v.linear.y, v.angular.z]);
            }
            _ => self.goals.push(t, None),
        }
    }

    pub fn diagnostics(&mut self, t: f64, m: &g1_msgs::diagnostic_msgs::DiagnosticArray) {
        let mut any = false;
        for s in &m.status {
            let get = |k: &str| {
                s.values
                    .iter()
                    .find(|kv| kv.key == k)
                    .map(|kv| kv.value.as_str())
            };
            if let Some(g) = get("gate")
                .or(get("gate_min"))
                .and_then(|v| v.parse::<f64>().ok())
            {
                self.gates.push(t, g);
                any = true;
            }
            // Per step (`g1d drive`), or the planner node's median over its window.
            if let Some(ms) = get("plan_ms")
                .or(get("plan_ms_p50"))
                .and_then(|v| v.parse::<f64>().ok())
            {
                self.plan_ms.push(t, ms);
                any = true;
            }
            if let Some(c) = get("obstacle_contact_steps").and_then(|v| v.parse::<u64>().ok()) {
                let touching = get("touching") == Some("true");
                self.contacts.push(t, (c, touching));
                any = true;
            }
            if let Some(f) = get("fallen").and_then(|v| v.parse::<bool>().ok()) {
                self.falls.push(t, f);
                any = true;
            }
            // `mode`: the bridge's in its own status, the controller's in `g1d drive`'s.
            if let Some(mode) = get("mode") {
                if s.name.starts_with("g1_bridge") {
                    self.modes.push(t, mode.to_string());
                } else {
                    self.controller_modes.push(t, mode.to_string());
                }
                any = true;
            }
            if let Some(mode) = get("bridge_mode") {
                self.modes.push(t, mode.to_string());
                any = true;
            }
        }
        if any {
            self.mark(t);
        }
    }

    /// The picture at `t` seconds after the start (clamped to the timeline). None before a
    /// pose and joint positions arrived.
    pub fn at(&self, t: f64) -> Option<Snapshot> {
        let t = t.clamp(0.0, self.duration());
        let ts = self.start() + t;
        let (p, qw) = self.poses.at(ts).or(self.poses.0.first().map(|(_, v)| v))?;
        let q = *self
            .joints
            .at(ts)
            .or(self.joints.0.first().map(|(_, v)| v))?;
        let root = RootState::at_rest(
            Vector3::new(p[0], p[1], p[2]),
            UnitQuaternion::from_quaternion(Quaternion::new(qw[0], qw[1], qw[2], qw[3])),
        );
        let kin = g1::forward_kinematics(&root, &q, &[0.0; NUM_JOINTS]);
        let upto = self.poses.index_at(ts);
        let stride = (upto / 400).max(1);
        let mut path: Vec<[f64; 3]> = self.poses.0[..upto]
            .iter()
            .step_by(stride)
            .map(|(_, (p, _))| *p)
            .collect();
        path.push(*p);
        // The simulator's verdict where recorded (pelvis or head too low), else the pelvis rule.
        let fell_at = if self.falls.0.is_empty() {
            self.poses
                .0
                .iter()
                .take(upto)
                .find(|(_, (p, _))| p[2] < FALL_PELVIS_HEIGHT_M)
                .map(|(s, _)| s - self.start())
        } else {
            self.falls
                .0
                .iter()
                .take_while(|(s, _)| *s <= ts)
                .find(|(_, f)| *f)
                .map(|(s, _)| s - self.start())
        };
        let (contact_steps, touching) = self.contacts.at(ts).copied().unwrap_or((0, false));
        Some(Snapshot {
            t,
            root,
            q,
            kin,
            plan: self.plans.at(ts).cloned(),
            path,
            obstacles: self.obstacles.at(ts).cloned().unwrap_or_default(),
            // Without a goal message (a goal given as a parameter), the route ends at it.
            goal: match self.goals.at(ts) {
                Some(g) => *g,
                None => self.routes.at(ts).and_then(|r| r.last().copied()),
            },
            route: self.routes.at(ts).cloned().unwrap_or_default(),
            cmd: self.cmds.at(ts).copied(),
            status: Status {
                mode: self.modes.at(ts).cloned(),
                controller: self.controller_modes.at(ts).cloned(),
                plan_ms: self.plan_ms.at(ts).copied(),
                gate: self.gates.at(ts).copied(),
                contact_steps,
                touching,
            },
            fell_at,
        })
    }

    /// Moments (seconds since the start) where an obstacle was first touched in a spell of
    /// contact, for the scrub bar.
    pub fn contact_onsets(&self) -> Vec<f64> {
        let mut out = vec![];
        let mut was = false;
        for (t, (_, now)) in &self.contacts.0 {
            if *now && !was {
                out.push(t - self.start());
            }
            was = *now;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use g1_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus, KeyValue};
    use g1_msgs::nav_msgs::{Odometry, Path};

    fn odom(x: f64, z: f64) -> Odometry {
        let mut o = Odometry::default();
        o.pose.pose.position.x = x;
        o.pose.pose.position.z = z;
        o.pose.pose.orientation.w = 1.0;
        o
    }

    fn joints() -> g1_msgs::sensor_msgs::JointState {
        g1_msgs::sensor_msgs::JointState {
            name: vec!["left_knee_joint".into(), "no_such_joint".into()],
            position: vec![0.7, 9.0],
            ..Default::default()
        }
    }

    /// The ground truth wins over the estimate whichever comes first; the latest sample at or
    /// before a moment is the one shown; unknown joints are ignored; times are from the start.
    #[test]
    fn samples_and_sources() {
        let mut tl = Timeline::new();
        assert!(tl.at(0.0).is_none());
        tl.joint_state(100.0, &joints());
        tl.odometry(100.0, "/odom", &odom(5.0, 0.8));
        tl.odometry(100.0, "/sim/odom", &odom(1.0, 0.8));
        tl.odometry(101.0, "/odom", &odom(6.0, 0.8));
        tl.odometry(101.0, "/sim/odom", &odom(2.0, 0.8));
        let s = tl.at(0.5).unwrap();
        assert_eq!(s.root.pos_w.x, 1.0);
        assert_eq!(tl.at(1.0).unwrap().root.pos_w.x, 2.0);
        let knee = g1::JOINTS
            .iter()
            .position(|j| j.name == "left_knee")
            .unwrap();
        assert_eq!(s.q[knee], 0.7);
        assert_eq!(tl.duration(), 1.0);
        assert!(s.fell_at.is_none());
        // Bytes that do not decode are counted, not fatal.
        tl.ingest(
            "/joint_states",
            "sensor_msgs/msg/JointState",
            &[1, 2, 3],
            100.5,
        );
        assert_eq!(tl.skipped.get("/joint_states"), Some(&1));
    }

    /// Without a goal message the route's end is the goal; a recorded fall verdict is taken
    /// over the pelvis rule.
    #[test]
    fn goal_from_route_and_recorded_falls() {
        let mut tl = Timeline::new();
        tl.joint_state(0.0, &joints());
        tl.odometry(0.0, "/sim/odom", &odom(0.0, 0.78));
        let mut route = Path::default();
        for x in [0.5, 3.0] {
            let mut p = g1_msgs::geometry_msgs::PoseStamped::default();
            p.pose.position.x = x;
            p.pose.position.y = 1.0;
            route.poses.push(p);
        }
        tl.ingest(
            "/g1d/route",
            "nav_msgs/msg/Path",
            &g1_msgs::to_cdr(&route),
            0.1,
        );
        assert_eq!(tl.at(0.1).unwrap().goal, Some([3.0, 1.0]));
        let diag = |fallen: bool| DiagnosticArray {
            status: vec![DiagnosticStatus {
                values: vec![KeyValue {
                    key: "fallen".into(),
                    value: fallen.to_string(),
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        tl.diagnostics(0.2, &diag(false));
        // Pelvis still at 0.5 m, but the simulator says fallen (the head is down).
        tl.odometry(0.3, "/sim/odom", &odom(0.1, 0.5));
        tl.diagnostics(0.3, &diag(true));
        assert!(tl.at(0.25).unwrap().fell_at.is_none());
        assert_eq!(tl.at(0.3).unwrap().fell_at, Some(0.3));
    }
}
