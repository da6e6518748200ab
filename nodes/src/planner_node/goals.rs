//! The planner's task inputs: goals (`/g1d/goal`, `/goal_pose`) and velocity commands
//! (`cmd_vel`), each checked and bounded by `limits` before it becomes the task.

use g1_control::Task;
use g1_msgs::g1d::TaskGoal;
use g1_msgs::geometry_msgs::{PoseStamped, Twist};

use super::PlannerCore;

impl PlannerCore {
    /// Counts a refused input with its reason (shown on `/diagnostics`).
    pub fn reject(&mut self, why: String) {
        self.inputs.rejected += 1;
        self.inputs.last_rejection = Some(why);
    }

    /// A waypoint goal, if finite and within `limits.goal_distance_m` of the robot.
    pub(super) fn set_waypoint(&mut self, goal: [f64; 2], from: &str) {
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
    pub(super) fn set_velocity(&mut self, v: [f64; 3], from: &str) {
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
        // A zero command is a command too: stand, holding the heading (ROS: a zero Twist
        // stops the robot), planned as the evaluation plans its stops.
        self.task = Task::Joystick {
            velocity: [c[0], c[1]],
            yaw_rate: c[2],
        };
    }

    /// A `TaskGoal` (`/g1d/goal`). Out-of-range goals are refused and counted
    /// ([`Self::inputs`]); velocities are clamped into `limits`; a waypoint is read in its
    /// header's frame ([`Self::to_odom`]). An accepted goal's `weight` (> 0) replaces the
    /// parameter file's weight of its task's cost, and without `avoid_obstacles` the obstacle
    /// cost is off while it lasts (a goal from `/goal_pose` or `cmd_vel` restores both).
    pub fn goal(&mut self, g: &TaskGoal) {
        if !(g.weight >= 0.0 && g.weight <= 100.0) {
            self.reject(format!(
                "/g1d/goal: weight {} (0 = default, up to 100)",
                g.weight
            ));
            return;
        }
        let refused = self.inputs.rejected;
        match g.task {
            TaskGoal::TASK_JOYSTICK => {
                let v = &g.velocity;
                self.set_velocity([v.linear.x, v.linear.y, v.angular.z], "/g1d/goal")
            }
            TaskGoal::TASK_WAYPOINT => {
                let p = [g.waypoint.x, g.waypoint.y];
                match self.to_odom(&g.header.frame_id, p) {
                    Ok(p) => self.set_waypoint(p, "/g1d/goal"),
                    Err(e) => self.reject(format!("/g1d/goal: {e}")),
                }
            }
            TaskGoal::TASK_NONE => self.task = Task::Free,
            t => self.reject(format!("/g1d/goal: unknown task {t}")),
        }
        if self.inputs.rejected == refused {
            self.goal_settings(Some(g));
        }
    }

    /// The controller's settings for the goal `g` (None: the parameter file's).
    fn goal_settings(&mut self, g: Option<&TaskGoal>) {
        let mut cfg = self.control.clone();
        if let Some(g) = g {
            if g.weight > 0.0 {
                match g.task {
                    TaskGoal::TASK_JOYSTICK => cfg.joystick_weight = g.weight,
                    _ => cfg.waypoint_weight = g.weight,
                }
            }
            if !g.avoid_obstacles {
                cfg.obstacle_weight = 0.0;
            }
        }
        self.controller.cfg = cfg;
    }

    /// A pose goal (`/goal_pose`, in its header's frame): walk there (if within
    /// `limits.goal_distance_m`).
    pub fn pose_goal(&mut self, p: &PoseStamped) {
        let xy = [p.pose.position.x, p.pose.position.y];
        match self.to_odom(&p.header.frame_id, xy) {
            Ok(xy) => {
                let refused = self.inputs.rejected;
                self.set_waypoint(xy, "/goal_pose");
                if self.inputs.rejected == refused {
                    self.goal_settings(None);
                }
            }
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

    /// A velocity command (`cmd_vel`), clamped into `limits` (all zeros: stand still, the
    /// heading held); a non-finite one is refused (the task stays).
    pub fn cmd_vel(&mut self, c: &Twist) {
        let refused = self.inputs.rejected;
        self.set_velocity([c.linear.x, c.linear.y, c.angular.z], "cmd_vel");
        if self.inputs.rejected == refused {
            self.goal_settings(None);
        }
    }
}
