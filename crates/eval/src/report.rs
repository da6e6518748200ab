//! What an evaluation reports: per scenario and controller, the success rate, falls, contacts
//! and errors (`report.json`, the table printed and written as `table.md`), and every run
//! (`runs.json`).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::{RunResult, Scenario, TaskKind};

/// Which loop an evaluation ran: `deployed` (the node chain without DDS: noisy sensors, the
/// bridge, the estimator, randomised dynamics) or `ideal` (the simulator's ground truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Deployed,
    Ideal,
}

/// The deployed profile's dynamics: `randomized` (the data collection's ranges per seed) or
/// `nominal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dynamics {
    Randomized,
    Nominal,
}

impl std::str::FromStr for Profile {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "deployed" => Ok(Self::Deployed),
            "ideal" => Ok(Self::Ideal),
            _ => bail!("`{s}`: expected deployed or ideal"),
        }
    }
}

impl std::str::FromStr for Dynamics {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "randomized" => Ok(Self::Randomized),
            "nominal" => Ok(Self::Nominal),
            _ => bail!("`{s}`: expected randomized or nominal"),
        }
    }
}

/// The runs of one scenario under one controller, as written to `runs.json`.
#[derive(Debug, Serialize)]
pub struct RunGroup<'a> {
    pub scenario: &'a str,
    pub controller: &'a str,
    pub runs: &'a [RunResult],
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: String,
    pub controller: String,
    /// The evaluation profile and, for the diffusion controller, the latency model.
    pub profile: Profile,
    /// Deployed profile: randomised or nominal dynamics.
    pub dynamics: Option<Dynamics>,
    pub latency: Option<String>,
    pub task: TaskKind,
    pub runs: usize,
    pub successes: usize,
    pub success_rate: f64,
    pub falls: usize,
    pub contacts: u64,
    pub mean_time_s: Option<f64>,
    pub velocity_error_mps: Option<f64>,
    pub yaw_rate_error_rps: Option<f64>,
    pub final_error_m: Option<f64>,
    pub plan_latency_ms_p50: Option<f64>,
    pub plan_latency_ms_p99: Option<f64>,
    pub fresh_plan_share: Option<f64>,
    /// Tours: mean waypoints reached, path error (m), heading error at the waypoints (rad).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waypoints_reached: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_error_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaw_error_rad: Option<f64>,
}

/// The report of `rs`, the runs of scenario `s` under `controller` ("diffusion" or
/// "expert"); `dynamics` (deployed profile) and `latency` (the diffusion controller's latency
/// model) as the evaluation ran them.
pub fn summarise(
    s: &Scenario,
    controller: &str,
    profile: Profile,
    dynamics: Option<Dynamics>,
    latency: Option<String>,
    rs: &[RunResult],
) -> ScenarioReport {
    let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let lat: Vec<f64> = rs
        .iter()
        .flat_map(|r| r.plan_latency_ms.iter().copied())
        .collect();
    ScenarioReport {
        scenario: s.name.clone(),
        controller: controller.into(),
        profile,
        dynamics,
        latency,
        task: s.task,
        runs: rs.len(),
        successes: rs.iter().filter(|r| r.success).count(),
        success_rate: rs.iter().filter(|r| r.success).count() as f64 / rs.len().max(1) as f64,
        falls: rs.iter().filter(|r| r.fell).count(),
        contacts: rs.iter().map(|r| r.contacts).sum(),
        mean_time_s: mean(
            rs.iter()
                .filter(|r| r.success)
                .filter_map(|r| r.time_s)
                .collect(),
        ),
        velocity_error_mps: mean(
            rs.iter()
                .filter_map(|r| r.velocity_error_mps)
                .filter(|v| v.is_finite())
                .collect(),
        ),
        yaw_rate_error_rps: mean(rs.iter().filter_map(|r| r.yaw_rate_error_rps).collect()),
        final_error_m: mean(rs.iter().filter_map(|r| r.final_error_m).collect()),
        plan_latency_ms_p50: g1_control::percentile(&lat, 0.5),
        plan_latency_ms_p99: g1_control::percentile(&lat, 0.99),
        fresh_plan_share: mean(rs.iter().filter_map(|r| r.fresh_share).collect()),
        waypoints_reached: mean(
            rs.iter()
                .filter_map(|r| r.waypoints_reached.map(|n| n as f64))
                .collect(),
        ),
        path_error_m: mean(rs.iter().filter_map(|r| r.path_error_m).collect()),
        yaw_error_rad: mean(rs.iter().filter_map(|r| r.yaw_error_rad).collect()),
    }
}

/// `report.json` (the `--json` output), `runs.json` (every run) and `table.md` in `out`.
pub fn write_results(out: &Path, reports: &[ScenarioReport], runs: &[RunGroup]) -> Result<()> {
    let write = |name: &str, text: String| -> Result<()> {
        let p = out.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    write("report.json", serde_json::to_string_pretty(reports)?)?;
    write("runs.json", serde_json::to_string_pretty(runs)?)?;
    write("table.md", table(reports))
}

/// The plan latencies measured in `runs` (`--latency wall`) as a latency file for later
/// evaluations (`--latency FILE`: `{"source", "samples_ms"}`, µs resolution).
pub fn write_latency_file<'a>(
    path: &Path,
    source: &str,
    runs: impl Iterator<Item = &'a RunResult>,
) -> Result<()> {
    let samples: Vec<f64> = runs
        .flat_map(|r| r.plan_latency_ms.iter())
        .map(|v| (v * 1e3).round() / 1e3)
        .collect();
    let text =
        serde_json::to_string(&serde_json::json!({"source": source, "samples_ms": samples}))?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `v` with `d` decimals, or a dash.
fn fmt_opt(v: Option<f64>, d: usize) -> String {
    v.map_or("—".to_string(), |x| format!("{x:.d$}"))
}

/// Each controller of `reports` once, in the order of first appearance (the reports
/// alternate).
fn controllers_in_order<'a>(reports: impl IntoIterator<Item = &'a ScenarioReport>) -> Vec<&'a str> {
    let mut controllers: Vec<&str> = vec![];
    for r in reports {
        if !controllers.contains(&r.controller.as_str()) {
            controllers.push(&r.controller);
        }
    }
    controllers
}

/// The mean of `f` over the reports `rs` that have it, weighted by their runs.
fn weighted(rs: &[&ScenarioReport], f: &dyn Fn(&ScenarioReport) -> Option<f64>) -> Option<f64> {
    let (sum, n) = rs.iter().fold((0.0, 0usize), |(s, n), r| match f(r) {
        Some(v) => (s + v * r.runs as f64, n + r.runs),
        None => (s, n),
    });
    (n > 0).then(|| sum / n as f64)
}

/// The readable table (Markdown).
pub fn table(reports: &[ScenarioReport]) -> String {
    use std::fmt::Write as _;
    let f = fmt_opt;
    let mut t = String::new();
    t.push_str("| scenario | controller | profile | runs | success | falls | contacts | mean time (s) | vel. error (m/s) | yaw-rate error (rad/s) | final error (m) | plan p50/p99 (ms) | fresh plans |\n");
    t.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in reports {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {:.0}% | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.controller,
            match r.profile {
                Profile::Deployed => "deployed",
                Profile::Ideal => "ideal",
            },
            r.runs,
            100.0 * r.success_rate,
            r.falls,
            r.contacts,
            f(r.mean_time_s, 1),
            f(r.velocity_error_mps, 2),
            f(r.yaw_rate_error_rps, 2),
            f(r.final_error_m, 2),
            match (r.plan_latency_ms_p50, r.plan_latency_ms_p99) {
                (Some(a), Some(b)) => format!("{a:.0}/{b:.0}"),
                _ => "—".into(),
            },
            r.fresh_plan_share
                .map_or("—".into(), |v| format!("{:.0}%", 100.0 * v)),
        );
    }
    // Over many scenarios (generated courses): one line per controller for all of them.
    let n_scenarios = reports
        .iter()
        .map(|r| &r.scenario)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if n_scenarios > 1 {
        for c in controllers_in_order(reports) {
            let rs: Vec<&ScenarioReport> = reports.iter().filter(|r| r.controller == c).collect();
            let runs: usize = rs.iter().map(|r| r.runs).sum();
            let weighted = |g: &dyn Fn(&ScenarioReport) -> Option<f64>| weighted(&rs, g);
            let _ = writeln!(
                t,
                "| **all {} scenarios** | {c} | | {runs} | {:.0}% | {} | {} | {} | {} | {} | {} | | |",
                rs.len(),
                100.0 * rs.iter().map(|r| r.successes).sum::<usize>() as f64 / runs.max(1) as f64,
                rs.iter().map(|r| r.falls).sum::<usize>(),
                rs.iter().map(|r| r.contacts).sum::<u64>(),
                f(weighted(&|r| r.mean_time_s), 1),
                f(weighted(&|r| r.velocity_error_mps), 2),
                f(weighted(&|r| r.yaw_rate_error_rps), 2),
                f(weighted(&|r| r.final_error_m), 2),
            );
        }
    }
    t.push_str(&tour_table(reports));
    t
}

/// The tours' own columns (empty without tours): completion, waypoints reached, path and
/// heading errors, per scenario and controller, and over all tours per controller.
fn tour_table(reports: &[ScenarioReport]) -> String {
    use std::fmt::Write as _;
    let tours: Vec<&ScenarioReport> = reports
        .iter()
        .filter(|r| r.task == TaskKind::Tour)
        .collect();
    if tours.is_empty() {
        return String::new();
    }
    let f = fmt_opt;
    let mut t = String::from("\n| tour | controller | runs | completed | falls | waypoints reached | path error (m) | heading error at waypoints (rad) | final error (m) |\n|---|---|---|---|---|---|---|---|---|\n");
    let mut line = |name: &str, c: &str, rs: &[&ScenarioReport]| {
        let runs: usize = rs.iter().map(|r| r.runs).sum();
        let weighted = |g: &dyn Fn(&ScenarioReport) -> Option<f64>| weighted(rs, g);
        let _ = writeln!(
            t,
            "| {name} | {c} | {runs} | {:.0}% | {} | {} | {} | {} | {} |",
            100.0 * rs.iter().map(|r| r.successes).sum::<usize>() as f64 / runs.max(1) as f64,
            rs.iter().map(|r| r.falls).sum::<usize>(),
            f(weighted(&|r| r.waypoints_reached), 1),
            f(weighted(&|r| r.path_error_m), 2),
            f(weighted(&|r| r.yaw_error_rad), 2),
            f(weighted(&|r| r.final_error_m), 2),
        );
    };
    for r in &tours {
        line(&r.scenario, &r.controller, &[*r]);
    }
    let controllers = controllers_in_order(tours.iter().copied());
    if tours.len() > controllers.len() {
        for c in controllers {
            let rs: Vec<&ScenarioReport> = tours
                .iter()
                .copied()
                .filter(|r| r.controller == c)
                .collect();
            line(&format!("**all {} tours**", rs.len()), c, &rs);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ScenarioFile;

    /// With the expert baseline beside it, each controller has one summary line over all
    /// scenarios, whatever the order of the reports.
    #[test]
    fn one_summary_line_per_controller() -> anyhow::Result<()> {
        let file: ScenarioFile = serde_yaml::from_str(
            "scenarios:\n  - {name: a, task: waypoint, goal: [1, 0]}\n  - {name: b, task: waypoint, goal: [2, 0]}\n",
        )?;
        let mut reports = vec![];
        for s in &file.scenarios {
            for c in ["diffusion", "expert"] {
                reports.push(summarise(s, c, Profile::Deployed, None, None, &[]));
            }
        }
        let t = table(&reports);
        for c in ["diffusion", "expert"] {
            let lines = t
                .lines()
                .filter(|l| l.starts_with(&format!("| **all 2 scenarios** | {c} |")))
                .count();
            assert_eq!(lines, 1, "{c}:\n{t}");
        }
        Ok(())
    }

    /// Tours get their own table: a line per tour and controller, and over several tours one
    /// line per controller, with the runs' waypoints reached averaged; other tasks get none.
    #[test]
    fn tours_have_their_own_table() -> anyhow::Result<()> {
        let file: ScenarioFile = serde_yaml::from_str(
            "scenarios:\n  - {name: a, task: tour, waypoints: [[1, 0], [2, 0]]}\n  - {name: b, task: tour, waypoints: [[0, 1]]}\n",
        )?;
        let run = |reached: usize, success: bool| RunResult {
            success,
            waypoints_reached: Some(reached),
            ..RunResult::default()
        };
        let mut reports = vec![];
        for (s, reached) in file.scenarios.iter().zip([[2, 1], [0, 1]]) {
            for c in ["diffusion", "expert"] {
                let rs = [
                    run(reached[0], reached[0] == s.waypoints.len()),
                    run(reached[1], false),
                ];
                reports.push(summarise(s, c, Profile::Deployed, None, None, &rs));
            }
        }
        let t = table(&reports);
        assert!(
            t.contains("| tour | controller | runs | completed |"),
            "{t}"
        );
        // Tour a, diffusion: one of two completed, 1.5 waypoints on average.
        assert!(t.contains("| a | diffusion | 2 | 50% | 0 | 1.5 |"), "{t}");
        // Over both tours: 4 runs, 1 completed, (2 + 1 + 0 + 1) / 4 waypoints.
        assert!(
            t.contains("| **all 2 tours** | expert | 4 | 25% | 0 | 1.0 |"),
            "{t}"
        );
        let not_tours = table(&reports[..0]);
        assert!(!not_tours.contains("| tour |"));
        let wp: ScenarioFile =
            serde_yaml::from_str("scenarios:\n  - {name: w, task: waypoint, goal: [1, 0]}\n")?;
        let w = summarise(
            &wp.scenarios[0],
            "diffusion",
            Profile::Deployed,
            None,
            None,
            &[],
        );
        assert!(!table(&[w]).contains("| tour |"));
        Ok(())
    }
}
