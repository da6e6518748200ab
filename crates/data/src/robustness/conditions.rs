//! The conditions of a robustness test (YAML; the default is `config/robustness.yaml`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use g1_sim::{PushConfig, Randomization};
use serde::{Deserialize, Serialize};

use super::metrics::TerminationRule;

/// A robustness test: how long an episode lasts, what passes, and the conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustnessConfig {
    /// Length of an episode (s). Tracking episodes start at a random phase of the clip and
    /// end earlier when the clip does.
    pub episode_seconds: f64,
    /// Velocity commands are held for a duration drawn from this range (s).
    #[serde(default = "default_hold")]
    pub command_hold_s: [f64; 2],
    /// Command-tracking error skips this long after each command change (s).
    #[serde(default = "default_settle")]
    pub command_settle_s: f64,
    pub criteria: Criteria,
    /// When tracking episodes end early (`null`: only falls end them).
    #[serde(default = "default_termination")]
    pub termination: Option<TerminationRule>,
    pub conditions: Vec<Condition>,
}

fn default_termination() -> Option<TerminationRule> {
    Some(TerminationRule::default())
}

fn default_hold() -> [f64; 2] {
    [2.0, 4.0]
}
fn default_settle() -> f64 {
    1.0
}

/// What a condition must reach to pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criteria {
    /// Largest share of episodes that fall or end early by the termination rules.
    pub max_early_termination_rate: f64,
    /// Largest mean body position error (tracking policies, m).
    pub max_body_pos_err_m: f64,
    /// Largest mean anchor orientation error (tracking policies, deg).
    pub max_anchor_ori_err_deg: f64,
}

/// One condition. Unset fields keep the standard setting (the simulator's defaults: foot
/// friction 0.6, nominal masses, no pushes, no delay, no noise, the motion at its speed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub name: String,
    /// Foot–floor friction coefficient.
    #[serde(default)]
    pub friction: Option<f64>,
    /// Every link's mass and inertia multiplied by this.
    #[serde(default)]
    pub mass_scale: Option<f64>,
    /// Torso centre-of-mass offset, uniform in ±this per axis (m).
    #[serde(default)]
    pub torso_com_offset_m: Option<f64>,
    /// Root velocity kicks.
    #[serde(default)]
    pub pushes: Option<PushConfig>,
    /// The reference played this many times as fast (tracking policies; velocity policies
    /// skip the condition).
    #[serde(default)]
    pub motion_speed: Option<f64>,
    /// Actions applied this many control steps late.
    #[serde(default)]
    pub action_delay_steps: u32,
    #[serde(default)]
    pub sensor_noise: Option<SensorNoise>,
    #[serde(default)]
    pub initial: Option<InitialPerturbation>,
}

/// Gaussian noise on what the policy observes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensorNoise {
    /// Gyro (rad/s), joint positions (rad), joint velocities (rad/s), IMU tilt (rad).
    pub gyro: f64,
    pub q: f64,
    pub dq: f64,
    pub tilt: f64,
}

/// A perturbed start: joints off their start pose and the body already moving.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InitialPerturbation {
    /// Every joint offset uniformly in ±this (rad, within its limits).
    pub joint_rad: f64,
    /// Horizontal root velocity of a random direction, uniform in [0, this] (m/s).
    pub root_speed_mps: f64,
    /// Heading turned by uniform ±this (rad).
    pub yaw_rad: f64,
}

impl Condition {
    /// The simulator's randomisation for this condition (fixed values as one-point ranges).
    pub fn randomization(&self, nominal_friction: f64) -> Randomization {
        let f = self.friction.map_or(1.0, |f| f / nominal_friction);
        let m = self.mass_scale.unwrap_or(1.0);
        Randomization {
            friction_scale: [f, f],
            mass_scale: [m, m],
            torso_com_offset_m: self.torso_com_offset_m.unwrap_or(0.0),
            default_pose_offset_rad: 0.0,
        }
    }

    fn validate(&self, nominal_friction: f64) -> Result<()> {
        let name = &self.name;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            bail!("condition name `{name}`: use letters, digits, `_`, `-` or `.` (it names files)");
        }
        if let Some(f) = self.friction {
            if !(0.05..=3.0).contains(&f) {
                bail!("condition {name}: friction {f} is outside [0.05, 3]");
            }
        }
        self.randomization(nominal_friction)
            .validate()
            .with_context(|| format!("condition {name}"))?;
        if let Some(p) = &self.pushes {
            p.validate().with_context(|| format!("condition {name}"))?;
        }
        if let Some(s) = self.motion_speed {
            if !(0.1..=10.0).contains(&s) {
                bail!("condition {name}: motion_speed {s} is outside [0.1, 10]");
            }
        }
        if self.action_delay_steps > 10 {
            bail!(
                "condition {name}: action_delay_steps {} is more than 10 (200 ms)",
                self.action_delay_steps
            );
        }
        if let Some(n) = &self.sensor_noise {
            let ok = |v: f64, hi: f64| (0.0..=hi).contains(&v);
            if !(ok(n.gyro, 2.0) && ok(n.q, 0.5) && ok(n.dq, 10.0) && ok(n.tilt, 0.5)) {
                bail!("condition {name}: sensor_noise {n:?} outside gyro ≤ 2, q ≤ 0.5, dq ≤ 10, tilt ≤ 0.5");
            }
        }
        if let Some(i) = &self.initial {
            let ok = |v: f64, hi: f64| (0.0..=hi).contains(&v);
            if !(ok(i.joint_rad, 1.0) && ok(i.root_speed_mps, 3.0) && ok(i.yaw_rad, 3.2)) {
                bail!("condition {name}: initial {i:?} outside joint_rad ≤ 1, root_speed_mps ≤ 3, yaw_rad ≤ 3.2");
            }
        }
        Ok(())
    }
}

impl RobustnessConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let cfg: Self =
            serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        cfg.validate()
            .with_context(|| format!("checking {}", path.display()))?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.episode_seconds.is_finite() && (0.5..=600.0).contains(&self.episode_seconds)) {
            bail!(
                "episode_seconds {} is outside [0.5, 600]",
                self.episode_seconds
            );
        }
        let h = self.command_hold_s;
        if !(h[0] > 0.0 && h[0] <= h[1]) {
            bail!("command_hold_s {h:?} must be an ordered range of positive seconds");
        }
        if !(0.0..self.episode_seconds).contains(&self.command_settle_s) {
            bail!(
                "command_settle_s {} must be in [0, episode_seconds)",
                self.command_settle_s
            );
        }
        let c = &self.criteria;
        if !((0.0..=1.0).contains(&c.max_early_termination_rate)
            && c.max_body_pos_err_m > 0.0
            && c.max_anchor_ori_err_deg > 0.0)
        {
            bail!("criteria {c:?}: a rate in [0, 1] and positive error bounds");
        }
        if let Some(t) = &self.termination {
            if !(t.anchor_height_m > 0.0
                && t.anchor_gravity_z > 0.0
                && t.end_effector_height_m > 0.0)
            {
                bail!("termination {t:?}: bounds must be positive");
            }
        }
        if self.conditions.is_empty() {
            bail!("no conditions");
        }
        let nominal = g1_sim::SimConfig::default().foot_friction;
        for (i, c) in self.conditions.iter().enumerate() {
            c.validate(nominal)?;
            if self.conditions[..i].iter().any(|o| o.name == c.name) {
                bail!("condition name `{}` appears twice", c.name);
            }
        }
        Ok(())
    }
}
