//! The planner node's parameters (`g1_planner: ros__parameters:` in `config/g1.params.yaml`)
//! and the bounds on what it accepts from the network.

use g1_control::{ControlConfig, PlannerConfig};
use g1_ros::{NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
    /// Refusals already logged, and when the next log line may go out.
    logged: u64,
    next_log_s: f64,
}

impl InputCounters {
    /// A log line for the refusals since the last one, at most one a second (a flood of bad
    /// messages does not flood the log).
    pub fn log_line(&mut self, now_s: f64) -> Option<String> {
        if self.rejected <= self.logged || now_s < self.next_log_s {
            return None;
        }
        let line = format!(
            "refused {} input(s); newest: {}",
            self.rejected - self.logged,
            self.last_rejection.as_deref().unwrap_or("")
        );
        self.logged = self.rejected;
        self.next_log_s = now_s + 1.0;
        Some(line)
    }
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

/// The planner's parameters that `ros2 param set` may change while it runs.
pub const SETTABLE_PLANNER: [&str; 5] = [
    "planner.guidance_scale",
    "planner.max_guidance_step",
    "planner.temperature",
    "planner.guidance_ramp",
    "planner.precondition_floor",
];

impl NodeConfig for PlannerNodeConfig {
    /// The task costs and weights (`control.*`), the guidance step's scale and shape and the
    /// input limits (`limits.*`); the model, its device, the rolling schedule and the seed are
    /// read at start.
    fn settable_at_run_time(name: &str) -> bool {
        name.starts_with("control.")
            || name.starts_with("limits.")
            || SETTABLE_PLANNER.contains(&name)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Refusals are logged at most once a second, each line counting those since the last.
    #[test]
    fn refusals_are_logged_once_a_second() {
        let mut c = InputCounters::default();
        assert_eq!(c.log_line(0.0), None);
        c.rejected = 3;
        c.last_rejection = Some("cmd_vel: a non-finite velocity".into());
        let line = c.log_line(0.5).unwrap();
        assert!(line.starts_with("refused 3 input(s)"), "{line}");
        c.rejected = 10;
        assert_eq!(c.log_line(1.0), None, "within the second");
        let line = c.log_line(1.5).unwrap();
        assert!(line.starts_with("refused 7 input(s)"), "{line}");
        assert_eq!(c.log_line(5.0), None, "nothing new");
    }
}
