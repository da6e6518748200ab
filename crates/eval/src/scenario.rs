//! The scenario format of `g1d eval --scenarios` (`config/eval_scenarios.yaml`,
//! `config/eval_courses.yaml`, `g1d courses generate`): metres, in the robot's starting
//! heading frame (the robot starts at the origin facing +x).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use g1_sim::{ArmWalkConfig, Obstacle, PunchConfig, PushConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    WalkPerturb,
    Joystick,
    Waypoint,
    Obstacles,
    /// Waypoints in turn under punches and an arm random walk (the harsh tour protocol).
    Tour,
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
    /// The scenario's own seed, added to every run's seed for what the run draws (dynamics,
    /// sensor noise, pushes, punches, the arm walk): generated tours carry their course seed,
    /// so one run each of 50 tours meets 50 different disturbances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Tour: the waypoints (m), reached in turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waypoints: Vec<[f64; 2]>,
    /// Punches on random bodies (tour default: [`PunchConfig::default`]; none elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub punches: Option<PunchConfig>,
    /// The arm joints random-walk (tour default: [`ArmWalkConfig::default`]; off elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm_walk: Option<ArmWalkConfig>,
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
        if self.task == TaskKind::Tour && self.waypoints.is_empty() {
            bail!("scenario {}: a tour needs waypoints [[x, y], …]", self.name);
        }
        if self.waypoints.iter().flatten().any(|v| !v.is_finite()) {
            bail!("scenario {}: every waypoint needs finite values", self.name);
        }
        for (key, r) in [
            (
                "punches",
                self.punches.as_ref().map(|p| p.validate()).transpose(),
            ),
            (
                "arm_walk",
                self.arm_walk.as_ref().map(|a| a.validate()).transpose(),
            ),
        ] {
            if let Err(e) = r {
                bail!("scenario {}: {key}: {e}", self.name);
            }
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
            TaskKind::Tour => self.seconds.unwrap_or(60.0),
            _ => self.seconds.unwrap_or(20.0),
        }
    }
    /// What run `seed` of this scenario draws from: `seed` plus the scenario's own.
    pub fn run_seed(&self, seed: u64) -> u64 {
        seed.wrapping_add(self.seed.unwrap_or(0))
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

/// Waypoints of a tour reached so far, after the robot has been at `xy` with `reached` of
/// them behind it: the next one counts as reached within [`REACH_M`] of it.
pub fn tour_advance(waypoints: &[[f64; 2]], reached: usize, xy: [f64; 2]) -> usize {
    match waypoints.get(reached) {
        Some(w) if (w[0] - xy[0]).hypot(w[1] - xy[1]) <= REACH_M => reached + 1,
        _ => reached,
    }
}

/// The waypoint a tour is walking to with `reached` behind it (the last once all are).
pub fn tour_target(waypoints: &[[f64; 2]], reached: usize) -> Option<[f64; 2]> {
    waypoints.get(reached).or(waypoints.last()).copied()
}

/// The tour's waypoint as the robot moves: what the harness gives the controller (and the
/// expert baseline) as its goal, from the simulator's ground truth, as a referee would.
#[derive(Debug, Default)]
pub struct TourProgress {
    reached: std::cell::Cell<usize>,
}

impl TourProgress {
    /// The target with the robot at `xy` (advancing past a waypoint it has reached).
    pub fn target(&self, waypoints: &[[f64; 2]], xy: [f64; 2]) -> Option<[f64; 2]> {
        let r = tour_advance(waypoints, self.reached.get(), xy);
        self.reached.set(r);
        tour_target(waypoints, r)
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
