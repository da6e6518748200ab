//! The scenario format of `g1d eval --scenarios` (`config/eval_scenarios.yaml`,
//! `config/eval_courses.yaml`, `g1d courses generate`): metres, in the robot's starting
//! heading frame (the robot starts at the origin facing +x).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use g1_sim::{Obstacle, PushConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    WalkPerturb,
    Joystick,
    Waypoint,
    Obstacles,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub task: TaskKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Goal (m) in the robot's starting heading frame (the robot starts at the origin facing +x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obstacles: Vec<Obstacle>,
    /// Joystick segments: [vx, vy, wz, seconds].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<[f64; 4]>,
    /// Forward speed of walk_perturb (m/s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Pushes (walk_perturb default: U(0, 0.5) m/s every 1 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushes: Option<PushConfig>,
}

/// A scenario file: `scenarios: [...]`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub scenarios: Vec<Scenario>,
}

/// Reach radius (m) and stop speed (m/s) of waypoint success; joystick success threshold.
pub const REACH_M: f64 = 0.3;
pub const STOP_MPS: f64 = 0.2;
pub const JOYSTICK_OK_MPS: f64 = 0.25;

impl Scenario {
    /// Refuses a scenario that cannot run, naming it and the cause.
    pub fn check(&self) -> Result<()> {
        let need_goal = matches!(self.task, TaskKind::Waypoint | TaskKind::Obstacles);
        if need_goal && self.goal.is_none() {
            bail!("scenario {}: task {:?} needs a goal", self.name, self.task);
        }
        if self.task == TaskKind::Joystick && self.commands.is_empty() {
            bail!(
                "scenario {}: joystick needs commands [[vx, vy, wz, seconds], …]",
                self.name
            );
        }
        if self
            .commands
            .iter()
            .any(|c| c[3].is_nan() || c[3] <= 0.0 || c.iter().any(|v| !v.is_finite()))
        {
            bail!(
                "scenario {}: every command needs finite values and seconds > 0",
                self.name
            );
        }
        if let Some(s) = self.seconds {
            if !(s > 0.0 && s <= 300.0) {
                bail!("scenario {}: seconds {s} must be in (0, 300]", self.name);
            }
        }
        Ok(())
    }
    /// How long the scenario runs (s).
    pub fn duration_s(&self) -> f64 {
        match self.task {
            TaskKind::Joystick => self.commands.iter().map(|c| c[3]).sum(),
            // docs/METHOD.md: 15 s of walking under pushes.
            TaskKind::WalkPerturb => self.seconds.unwrap_or(15.0),
            _ => self.seconds.unwrap_or(20.0),
        }
    }
    /// Joystick segment active at time `t`.
    pub fn command_at(&self, t: f64) -> [f64; 3] {
        let mut acc = 0.0;
        for c in &self.commands {
            acc += c[3];
            if t < acc {
                return [c[0], c[1], c[2]];
            }
        }
        self.commands
            .last()
            .map_or([0.0; 3], |c| [c[0], c[1], c[2]])
    }
}

/// The scenarios of the file at `path`, each checked; an empty list is an error.
pub fn load(path: &Path) -> Result<Vec<Scenario>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: ScenarioFile = serde_yaml::from_str(&text)
        .with_context(|| format!("{}: bad scenario file", path.display()))?;
    if file.scenarios.is_empty() {
        bail!("{}: the scenario list is empty", path.display());
    }
    for s in &file.scenarios {
        s.check().with_context(|| path.display().to_string())?;
    }
    Ok(file.scenarios)
}

/// `scenarios` as a scenario file, after `header` (each line written as a YAML comment).
pub fn to_yaml(scenarios: &[Scenario], header: &str) -> Result<String> {
    let body = serde_yaml::to_string(&ScenarioFile {
        scenarios: scenarios.to_vec(),
    })?;
    let mut out: String = header.lines().map(|l| format!("# {l}\n")).collect();
    out.push_str(&body);
    Ok(out)
}
