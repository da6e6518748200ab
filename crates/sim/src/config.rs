//! Simulator configuration: physics options, domain randomisation, pushes, obstacles.

use serde::{Deserialize, Serialize};

use crate::SimError;

/// Physics and scene settings. Defaults reproduce the setting the shipped mjlab policies were
/// trained in (G1_FACTS.md): 5 ms implicitfast steps, 50 Hz control, foot friction 0.6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Physics step (s).
    pub timestep_s: f64,
    /// Physics steps per control step (control period = `timestep_s · decimation`).
    pub decimation: usize,
    /// Constraint solver iterations.
    pub solver_iterations: i32,
    /// Line-search iterations.
    pub ls_iterations: i32,
    /// Sliding friction coefficient of the feet on the floor.
    pub foot_friction: f64,
    /// Which foot geoms touch the floor.
    pub foot_contact: FootContact,
    pub randomization: Randomization,
    /// Root velocity kicks; `None` disables them.
    pub pushes: Option<PushConfig>,
    /// Forces on a random body for a short time (the tour protocol's punches); `None`: none.
    pub punches: Option<PunchConfig>,
    /// The arm joints' targets random-walk, overriding the commanded ones; `None`: off.
    pub arm_walk: Option<ArmWalkConfig>,
    pub obstacles: Vec<Obstacle>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            timestep_s: 0.005,
            decimation: 4,
            solver_iterations: 10,
            ls_iterations: 20,
            foot_friction: 0.6,
            foot_contact: FootContact::CapsulesAndSole,
            randomization: Randomization::default(),
            pushes: None,
            punches: None,
            arm_walk: None,
            obstacles: Vec::new(),
        }
    }
}

impl SimConfig {
    /// Control period (s).
    pub fn control_dt_s(&self) -> f64 {
        self.timestep_s * self.decimation as f64
    }

    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |key: &str, why: String| {
            Err(SimError::Config {
                key: key.into(),
                why,
            })
        };
        if !(self.timestep_s > 0.0 && self.timestep_s <= 0.01) {
            return bad(
                "timestep_s",
                format!("{} is outside (0, 0.01] s", self.timestep_s),
            );
        }
        if self.decimation == 0 {
            return bad("decimation", "must be at least 1".into());
        }
        if self.solver_iterations < 1 || self.ls_iterations < 1 {
            return bad(
                "solver_iterations",
                "solver and line-search iterations must be ≥ 1".into(),
            );
        }
        if !(self.foot_friction > 0.0 && self.foot_friction < 5.0) {
            return bad(
                "foot_friction",
                format!("{} is outside (0, 5)", self.foot_friction),
            );
        }
        self.randomization.validate()?;
        if let Some(p) = &self.pushes {
            p.validate()?;
        }
        if let Some(p) = &self.punches {
            p.validate()?;
        }
        if let Some(a) = &self.arm_walk {
            a.validate()?;
        }
        for (i, o) in self.obstacles.iter().enumerate() {
            o.validate().map_err(|why| SimError::Config {
                key: format!("obstacles[{i}]"),
                why,
            })?;
        }
        Ok(())
    }
}

/// Foot–floor contact geometry.
///
/// mjlab trained the shipped mjlab policies with three capsules per foot; Isaac Lab policies
/// were trained with the mesh sole, and the shipped Isaac Lab gangnam policy falls after ~4 s
/// on capsules alone but dances its whole window with the flat sole box added. Both mjlab
/// policies meet their checks either way, so the default includes the sole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FootContact {
    /// The three capsules of Menagerie's `scene_mjx.xml` (as mjlab trained).
    Capsules,
    /// The capsules plus the flat sole box (`*_foot_box_collision`, 18 × 6 cm).
    CapsulesAndSole,
}

/// Per-episode domain randomisation, drawn from the episode seed. Zero ranges disable a term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Randomization {
    /// Foot–floor friction is multiplied by a factor drawn uniformly from this range.
    pub friction_scale: [f64; 2],
    /// Every link mass (and inertia) is multiplied by a factor drawn from this range.
    pub mass_scale: [f64; 2],
    /// Torso centre-of-mass offset, uniform in ±this per axis (m).
    pub torso_com_offset_m: f64,
    /// Encoder offset per joint, uniform in ±this (rad): the robot's notion of its default
    /// pose differs from the true one, as after an imperfect calibration.
    pub default_pose_offset_rad: f64,
}

impl Default for Randomization {
    fn default() -> Self {
        Self {
            friction_scale: [1.0, 1.0],
            mass_scale: [1.0, 1.0],
            torso_com_offset_m: 0.0,
            default_pose_offset_rad: 0.0,
        }
    }
}

impl Randomization {
    /// The ranges used for dataset collection (similar to the mjlab training ranges).
    pub fn training() -> Self {
        Self {
            friction_scale: [0.5, 1.5],
            mass_scale: [0.9, 1.1],
            torso_com_offset_m: 0.03,
            default_pose_offset_rad: 0.01,
        }
    }

    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |key: &str, why: String| {
            Err(SimError::Config {
                key: format!("randomization.{key}"),
                why,
            })
        };
        let range_ok = |r: [f64; 2], lo: f64, hi: f64| r[0] <= r[1] && r[0] >= lo && r[1] <= hi;
        if !range_ok(self.friction_scale, 0.05, 5.0) {
            return bad(
                "friction_scale",
                format!(
                    "{:?} must be an ordered range within [0.05, 5]",
                    self.friction_scale
                ),
            );
        }
        if !range_ok(self.mass_scale, 0.5, 2.0) {
            return bad(
                "mass_scale",
                format!(
                    "{:?} must be an ordered range within [0.5, 2]",
                    self.mass_scale
                ),
            );
        }
        if !(0.0..=0.1).contains(&self.torso_com_offset_m) {
            return bad(
                "torso_com_offset_m",
                format!("{} is outside [0, 0.1] m", self.torso_com_offset_m),
            );
        }
        if !(0.0..=0.2).contains(&self.default_pose_offset_rad) {
            return bad(
                "default_pose_offset_rad",
                format!("{} is outside [0, 0.2] rad", self.default_pose_offset_rad),
            );
        }
        Ok(())
    }
}

/// Instantaneous root velocity kicks at random intervals (the walk + perturb protocol of docs/METHOD.md:
/// U(0, 0.5) m/s every 1 s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    /// Time between kicks, drawn uniformly from this range (s).
    pub interval_s: [f64; 2],
    /// Horizontal speed change drawn uniformly from [0, max] (m/s), direction uniform.
    pub max_speed_mps: f64,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            interval_s: [1.0, 1.0],
            max_speed_mps: 0.5,
        }
    }
}

impl PushConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        if !(self.interval_s[0] > 0.0 && self.interval_s[0] <= self.interval_s[1]) {
            return Err(SimError::Config {
                key: "pushes.interval_s".into(),
                why: format!(
                    "{:?} must be an ordered range of positive seconds",
                    self.interval_s
                ),
            });
        }
        if !(0.0..=3.0).contains(&self.max_speed_mps) {
            return Err(SimError::Config {
                key: "pushes.max_speed_mps".into(),
                why: format!("{} is outside [0, 3] m/s", self.max_speed_mps),
            });
        }
        Ok(())
    }
}

/// Punches: one in every window of `every_s` seconds (at a uniform time within it), a
/// horizontal force of uniform magnitude in [0, `max_force_n`] and uniform direction on a
/// uniformly drawn robot body (at its centre of mass), held for `duration_s`. Seeded by the
/// episode's seed; the windows start at the episode's start ([`crate::Sim::restart_pushes`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PunchConfig {
    pub every_s: f64,
    pub max_force_n: f64,
    pub duration_s: f64,
}

impl Default for PunchConfig {
    /// The tour protocol's: one punch per 5 s segment, up to 600 N for 0.08 s.
    fn default() -> Self {
        Self {
            every_s: 5.0,
            max_force_n: 600.0,
            duration_s: 0.08,
        }
    }
}

impl PunchConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |key: &str, why: String| {
            Err(SimError::Config {
                key: format!("punches.{key}"),
                why,
            })
        };
        if !(self.duration_s > 0.0 && self.duration_s <= 1.0) {
            return bad(
                "duration_s",
                format!("{} is outside (0, 1] s", self.duration_s),
            );
        }
        if !(self.every_s.is_finite() && self.every_s > self.duration_s) {
            return bad(
                "every_s",
                format!(
                    "{} must be longer than a punch ({} s)",
                    self.every_s, self.duration_s
                ),
            );
        }
        if !(0.0..=2000.0).contains(&self.max_force_n) {
            return bad(
                "max_force_n",
                format!("{} is outside [0, 2000] N", self.max_force_n),
            );
        }
        Ok(())
    }
}

/// The arm joints (shoulders, elbows, wrists) follow a random walk instead of their commanded
/// targets: each control period every arm joint's offset from its default position moves by a
/// Gaussian step of `step_std_rad`, clamped to ±`max_offset_rad` and the joint's limits. The
/// command's gains are kept. Seeded by the episode's seed; starts with the episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArmWalkConfig {
    pub step_std_rad: f64,
    pub max_offset_rad: f64,
}

impl Default for ArmWalkConfig {
    fn default() -> Self {
        Self {
            step_std_rad: 0.01,
            max_offset_rad: 0.5,
        }
    }
}

impl ArmWalkConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        let ok = |v: f64, hi: f64| v.is_finite() && (0.0..=hi).contains(&v);
        if !ok(self.step_std_rad, 0.2) || !ok(self.max_offset_rad, 2.0) {
            return Err(SimError::Config {
                key: "arm_walk".into(),
                why: format!(
                    "step_std_rad {} must be in [0, 0.2] and max_offset_rad {} in [0, 2]",
                    self.step_std_rad, self.max_offset_rad
                ),
            });
        }
        Ok(())
    }
}

/// A static obstacle primitive, in world coordinates (m, rad). `center` may give `[x, y]`
/// (the obstacle then stands on the ground) or `[x, y, z]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "lowercase", deny_unknown_fields)]
pub enum Obstacle {
    Sphere {
        center: Vec<f64>,
        radius: f64,
    },
    Box {
        center: Vec<f64>,
        half_extents: [f64; 3],
        #[serde(default)]
        yaw: f64,
    },
    Cylinder {
        center: Vec<f64>,
        radius: f64,
        height: f64,
    },
}

impl Obstacle {
    fn validate(&self) -> Result<(), String> {
        let c = match self {
            Obstacle::Sphere { center, radius } => {
                if *radius <= 0.0 {
                    return Err(format!("radius {radius} must be positive"));
                }
                center
            }
            Obstacle::Box {
                center,
                half_extents,
                ..
            } => {
                if half_extents.iter().any(|h| *h <= 0.0) {
                    return Err(format!("half_extents {half_extents:?} must be positive"));
                }
                center
            }
            Obstacle::Cylinder {
                center,
                radius,
                height,
            } => {
                if *radius <= 0.0 || *height <= 0.0 {
                    return Err(format!(
                        "radius {radius} and height {height} must be positive"
                    ));
                }
                center
            }
        };
        if c.len() != 2 && c.len() != 3 {
            return Err(format!(
                "center has {} numbers; give [x, y] or [x, y, z]",
                c.len()
            ));
        }
        if c.iter().any(|v| !v.is_finite()) {
            return Err("center is not finite".into());
        }
        Ok(())
    }

    /// Centre in world coordinates; a 2-D centre puts the primitive on the ground.
    pub fn center_3d(&self) -> [f64; 3] {
        let (c, z_ground) = match self {
            Obstacle::Sphere { center, radius } => (center, *radius),
            Obstacle::Box {
                center,
                half_extents,
                ..
            } => (center, half_extents[2]),
            Obstacle::Cylinder { center, height, .. } => (center, height / 2.0),
        };
        [c[0], c[1], if c.len() == 3 { c[2] } else { z_ground }]
    }
}
