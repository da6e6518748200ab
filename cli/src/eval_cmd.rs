//! `g1d eval`: the paper's protocol in the simulator, for the diffusion controller and the
//! velocity expert baseline (steered to waypoints by a heading controller).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use g1_control::{ControlConfig, LatencyModel, PlannerConfig};
use g1_eval::report::{self, Dynamics, Profile, RunGroup, ScenarioReport};
use g1_eval::RunResult;
use g1_nodes::deployed::{ChainParams, SensorNoise};
use g1_nodes::evaluation::{Runner, Setup};

/// A controller to compare the diffusion controller with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    /// The shipped velocity policy, steered to waypoints by a heading controller.
    Expert,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// Model directory (default: the shipped model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Scenario file (default: config/eval_scenarios.yaml).
    #[arg(long)]
    pub scenarios: Option<PathBuf>,
    #[arg(long, default_value_t = 50)]
    pub runs: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also run the baseline: `expert` (the velocity policy with a heading controller).
    #[arg(long)]
    pub baseline: Option<Baseline>,
    /// Only the baseline (no model needed).
    #[arg(long)]
    pub baseline_only: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// `deployed` (default): the node chain without DDS — noisy sensors at 500 Hz, the bridge's
    /// safety core, the Kalman estimator, the planner node's controller — on randomised
    /// dynamics; `ideal`: the controller on the simulator's ground truth, nominal dynamics.
    /// [possible values: deployed, ideal]
    #[arg(long, default_value = "deployed")]
    pub profile: Profile,
    /// The node parameter file (the launch files' `config/g1.params.yaml`): the planner's,
    /// controller's, bridge's and estimator's settings.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// When plans land: `fixed:MS`, a latency file (`{"source", "samples_ms"}`; default:
    /// config/plan_latency.json, measured on this project's 2-core machine) or `wall` (each
    /// plan's own compute time: results then depend on the machine's load; writes
    /// latency.json with the measured samples).
    #[arg(long)]
    pub latency: Option<String>,
    /// Deployed profile: the sensor noise, `default`, `none` or a YAML file (keys of
    /// `SensorNoise`: gyro_std, gyro_bias, accel_std, accel_bias, tilt_bias_rad, q_std, dq_std).
    #[arg(long, default_value = "default")]
    pub sensor_noise: String,
    /// Deployed profile: the simulated robot's dynamics, `randomized` (the data collection's
    /// ranges per seed) or `nominal` (to tell what the randomisation costs from what the chain
    /// and the noise cost).
    /// [possible values: randomized, nominal]
    #[arg(long, default_value = "randomized")]
    pub dynamics: Dynamics,
    /// Override the parameter file's planner settings (YAML, keys of PlannerConfig) or
    /// controller settings (ControlConfig), e.g. for screens of one setting.
    #[arg(long)]
    pub planner: Option<PathBuf>,
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Output directory: a top-view PNG per scenario, table.md, report.json, runs.json.
    #[arg(long, default_value = "out/eval")]
    pub out: PathBuf,
    /// 3-D clips (GIF, `clips/` in --out) of the diffusion controller's failed runs and its
    /// first successful one per scenario: each such run is run again with the same seed,
    /// recorded as the node suite would record it, checked to end as the scored run did, and
    /// rendered offscreen (about half a minute per clip on two cores).
    #[arg(long)]
    pub render: bool,
    /// Also write the per-step log of every diffusion run, as `g1d drive --log` writes it
    /// (simulator ground truth, surprise, gate, mode, plan age), to
    /// `DIR/<scenario>_seed<seed>.csv`.
    #[arg(long, value_name = "DIR")]
    pub steps: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// The plan latencies measured on this project's 2-core machine (`g1d eval --latency wall`).
pub fn default_latency_file() -> String {
    g1_sim::default_assets_dir()
        .join("../config/plan_latency.json")
        .display()
        .to_string()
}

pub fn cmd_eval(a: EvalArgs) -> Result<()> {
    let path = a
        .scenarios
        .clone()
        .unwrap_or_else(|| g1_sim::default_assets_dir().join("../config/eval_scenarios.yaml"));
    let scenarios = g1_eval::scenario::load(&path)?;
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let load = |p: &Option<PathBuf>| -> Result<Option<String>> {
        p.as_ref()
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .transpose()
    };
    let params_path = a
        .params
        .clone()
        .unwrap_or_else(|| g1_sim::default_assets_dir().join("../config/g1.params.yaml"));
    let mut params = ChainParams::from_file(&params_path)?;
    if let Some(t) = load(&a.planner)? {
        params.planner.planner = serde_yaml::from_str::<PlannerConfig>(&t).context("--planner")?;
    }
    if let Some(t) = load(&a.control)? {
        params.planner.control = serde_yaml::from_str::<ControlConfig>(&t).context("--control")?;
    }
    params
        .planner
        .control
        .check()
        .context("controller settings")?;
    if let Some(m) = &a.model {
        params.planner.model = m.display().to_string();
    }
    let latency = LatencyModel::parse(a.latency.as_deref().unwrap_or(&default_latency_file()))?;
    let noise = match a.sensor_noise.as_str() {
        "default" => SensorNoise::default(),
        "none" => SensorNoise::none(),
        f => serde_yaml::from_str(
            &std::fs::read_to_string(f).with_context(|| format!("--sensor-noise {f}"))?,
        )
        .with_context(|| format!("--sensor-noise {f}"))?,
    };
    let setup = Setup {
        dynamics: a.dynamics,
        noise,
        profile: a.profile,
        params,
        latency,
    };
    let with_expert = a.baseline.is_some() || a.baseline_only;
    let workers = a
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    if let Some(dir) = &a.steps {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut kinds = vec![];
    if !a.baseline_only {
        kinds.push("diffusion");
    }
    if with_expert {
        kinds.push("expert");
    }
    let n_jobs = (scenarios.len() * kinds.len() * a.runs) as u64;
    let bar = if a.json {
        indicatif::ProgressBar::hidden()
    } else {
        let label = match scenarios.as_slice() {
            [one] => format!("{} / {}", one.name, kinds.join(" + ")),
            many => format!("{} scenarios × {} run(s)", many.len(), a.runs),
        };
        crate::progress::progress_bar(n_jobs, &label)
    };
    // A scenario is summarised, drawn and written as soon as its last run is in (an
    // interrupted eval keeps what it finished).
    let names: Vec<String> = scenarios.iter().map(|s| s.name.clone()).collect();
    let mut reports: Vec<(usize, ScenarioReport)> = vec![];
    let mut all_runs: Vec<(usize, &str, Vec<RunResult>)> = vec![];
    g1_eval::pool::run_jobs(
        &names,
        &kinds,
        a.runs,
        workers,
        |si, kind| Runner::new(kind, &scenarios[si], &setup),
        |r, si, i| {
            let s = &scenarios[si];
            let seed = a.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
            let (result, log) = r.run_logged(s, seed, None)?;
            if let (Some(dir), false) = (&a.steps, log.is_empty()) {
                let path = dir.join(format!("{}_seed{seed}.csv", s.name));
                let f = std::fs::File::create(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                g1_eval::drive_report::write_step_log(f, &log)?;
            }
            Ok(result)
        },
        |si, groups| {
            let s = &scenarios[si];
            for (kind, rs) in &groups {
                let latency = (*kind == "diffusion").then(|| setup.latency.describe());
                let dynamics = (setup.profile == Profile::Deployed).then_some(setup.dynamics);
                let r = report::summarise(s, kind, setup.profile, dynamics, latency, rs);
                reports.push((si, r));
            }
            let views: Vec<(&str, &[RunResult])> =
                groups.iter().map(|(k, r)| (*k, r.as_slice())).collect();
            let png = a.out.join(format!("{}.png", s.name));
            g1_eval::top_view::scenario_picture(&png, s, &views, &setup.params.planner.control)?;
            all_runs.extend(groups.into_iter().map(|(k, rs)| (si, k, rs)));
            reports.sort_by_key(|(si, _)| *si);
            all_runs.sort_by_key(|(si, _, _)| *si);
            write_results(&a.out, &reports, &all_runs, &names)
        },
        || bar.inc(1),
    )?;
    bar.finish_and_clear();
    if a.render {
        render_clips(&a.out, &scenarios, &setup, &all_runs)?;
    }
    let reports: Vec<ScenarioReport> = reports.into_iter().map(|(_, r)| r).collect();
    if setup.latency == LatencyModel::WallClock {
        let source = format!(
            "plan compute times of `g1d eval --latency wall --profile {:?}` with {} worker(s) on {} cores, {} runs per scenario, {}",
            setup.profile,
            workers,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            a.runs,
            path.display()
        );
        let diffusion = all_runs.iter().filter(|(_, k, _)| *k == "diffusion");
        let runs = diffusion.flat_map(|(_, _, rs)| rs.iter());
        report::write_latency_file(&a.out.join("latency.json"), &source.to_lowercase(), runs)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    print!("{}", report::table(&reports));
    println!(
        "\nprofile {:?}: node parameters from {}; plans land by {}",
        setup.profile,
        setup.params.source,
        setup.latency.describe()
    );
    println!(
        "\ntable.md, report.json (as --json), runs.json (every run: seed, fall time, end point) and\none top view per scenario: {}/",
        a.out.display()
    );
    Ok(())
}

/// `--render`: per scenario, the diffusion controller's failed runs and its first successful
/// one, run again recorded and rendered to `out/clips/<scenario>_seed<seed>_<outcome>.gif`.
fn render_clips(
    out: &std::path::Path,
    scenarios: &[g1_eval::Scenario],
    setup: &Setup,
    all_runs: &[(usize, &str, Vec<RunResult>)],
) -> Result<()> {
    let dir = out.join("clips");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let opts = g1_viewer::ViewOptions {
        width: 640,
        height: 480,
        ..crate::view_cmd::view_options(None)?
    };
    let mut chosen: Vec<(usize, &RunResult)> = vec![];
    for (si, _, runs) in all_runs.iter().filter(|(_, k, _)| *k == "diffusion") {
        chosen.extend(runs.iter().filter(|r| !r.success).map(|r| (*si, r)));
        chosen.extend(runs.iter().find(|r| r.success).map(|r| (*si, r)));
    }
    chosen.sort_by_key(|(si, r)| (*si, r.seed));
    let bar = crate::progress::progress_bar(chosen.len() as u64, "clips");
    let mut renderer = g1_viewer::render::Offscreen::new(&opts)?;
    let mut runner: Option<(usize, Runner)> = None;
    let mut written = vec![];
    for (si, scored) in chosen {
        let s = &scenarios[si];
        let timeline = std::sync::Arc::new(std::sync::Mutex::new(g1_viewer::Timeline::new()));
        let tap = crate::view_cmd::timeline_tap(timeline.clone());
        let rec = g1_nodes::run_bag::RunBag::create(None, Default::default(), Some(tap))?;
        // One runner per scenario (the model loads once), as the evaluation's workers do.
        if runner.as_ref().is_none_or(|(i, _)| *i != si) {
            runner = Some((si, Runner::new("diffusion", s, setup)?));
        }
        let (_, r) = runner.as_mut().context("the scenario's runner")?;
        let again = r.run_recorded(s, scored.seed, Some(rec))?;
        let outcome = if scored.success {
            "success"
        } else if scored.fell {
            "fell"
        } else {
            "failed"
        };
        if (again.success, again.fell, again.fall_time_s, again.contacts)
            != (
                scored.success,
                scored.fell,
                scored.fall_time_s,
                scored.contacts,
            )
        {
            eprintln!(
                "warning: {} seed {}: the recorded re-run ended otherwise than the scored run (success {} / {}, fall {:?} / {:?}); its clip shows the re-run",
                s.name, scored.seed, again.success, scored.success, again.fall_time_s, scored.fall_time_s
            );
        }
        let tl = std::mem::take(
            &mut *timeline
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let path = dir.join(format!("{}_seed{}_{outcome}.gif", s.name, scored.seed));
        g1_viewer::render::render_video_on(&mut renderer, &tl, &path, 10, |_, _| {})?;
        written.push(path);
        bar.inc(1);
    }
    bar.finish_and_clear();
    for p in &written {
        println!("clip          {}", p.display());
    }
    Ok(())
}

/// `report.json` (the `--json` output), `runs.json` (every run) and `table.md` in `out`.
fn write_results(
    out: &std::path::Path,
    reports: &[(usize, ScenarioReport)],
    all_runs: &[(usize, &str, Vec<RunResult>)],
    names: &[String],
) -> Result<()> {
    let reports: Vec<ScenarioReport> = reports.iter().map(|(_, r)| r.clone()).collect();
    let groups: Vec<RunGroup> = all_runs
        .iter()
        .map(|(si, k, rs)| RunGroup {
            scenario: &names[*si],
            controller: k,
            runs: rs,
        })
        .collect();
    report::write_results(out, &reports, &groups)
}
