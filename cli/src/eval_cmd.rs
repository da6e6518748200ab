//! `g1d eval`: the paper's protocol in the simulator, for the diffusion controller and the
//! velocity expert baseline (steered to waypoints by a heading controller).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};
use g1_control::{ControlConfig, LatencyModel, PlannerConfig, Task};
use g1_eval::score::{score, wrap_pi, Sample};
use g1_eval::{RunResult, Scenario, TaskKind, REACH_M};
use g1_nodes::deployed::{ChainParams, DeployedChain, SensorNoise};
use g1_sim::{MotorCommand, Randomization, Sim, SimConfig};
use serde::{Deserialize, Serialize};

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
    pub baseline: Option<String>,
    /// Only the baseline (no model needed).
    #[arg(long)]
    pub baseline_only: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// `deployed` (default): the node chain without DDS — noisy sensors at 500 Hz, the bridge's
    /// safety core, the Kalman estimator, the planner node's controller — on randomised
    /// dynamics; `ideal`: the controller on the simulator's ground truth, nominal dynamics.
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
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Deployed,
    Ideal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Dynamics {
    Randomized,
    Nominal,
}

/// The runs of one scenario under one controller, as written to `runs.json`.
#[derive(Debug, Serialize)]
struct RunGroup<'a> {
    scenario: &'a str,
    controller: &'a str,
    runs: &'a [RunResult],
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
}

/// The scenario's simulator: the deployed profile randomises the dynamics with the data
/// collection's ranges (`--dynamics`).
fn sim_for(s: &Scenario, setup: &Setup) -> SimConfig {
    let mut cfg = SimConfig {
        obstacles: s.obstacles.clone(),
        ..SimConfig::default()
    };
    if setup.profile == Profile::Deployed && setup.dynamics == Dynamics::Randomized {
        cfg.randomization = Randomization::training();
    }
    if s.task == TaskKind::WalkPerturb {
        cfg.pushes = Some(s.pushes.clone().unwrap_or_default());
    } else {
        cfg.pushes = s.pushes.clone();
    }
    cfg
}

/// What one worker thread loads once and reuses for all its runs of a scenario.
/// What every diffusion run of an evaluation shares.
#[derive(Clone)]
pub struct Setup {
    pub profile: Profile,
    pub dynamics: Dynamics,
    pub noise: SensorNoise,
    pub params: ChainParams,
    pub latency: LatencyModel,
}

enum Worker {
    Ideal {
        core: Box<g1_nodes::planner_node::PlannerCore>,
        sim: Sim,
    },
    Deployed {
        chain: Box<DeployedChain>,
        sim: Sim,
    },
    Expert {
        expert: Box<g1_expert::Expert>,
        sim: Sim,
    },
}

impl Worker {
    fn new(kind: &str, s: &Scenario, setup: &Setup) -> Result<Self> {
        let assets = g1_sim::default_assets_dir();
        Ok(match (kind, setup.profile) {
            ("diffusion", Profile::Ideal) => Worker::Ideal {
                core: Box::new(g1_nodes::planner_node::PlannerCore::new(
                    &setup.params.planner,
                    setup.latency.clone(),
                )?),
                sim: Sim::new(&assets, sim_for(s, setup))?,
            },
            ("diffusion", Profile::Deployed) => Worker::Deployed {
                chain: Box::new(DeployedChain::new(
                    setup.params.clone(),
                    setup.latency.clone(),
                    setup.noise.clone(),
                )?),
                sim: Sim::new(&assets, setup.params.sim_timing(sim_for(s, setup)))?,
            },
            _ => Worker::Expert {
                expert: Box::new(g1_expert::Expert::load(
                    &assets.join("policies/velocity_mjlab"),
                    None,
                )?),
                sim: Sim::new(&assets, sim_for(s, setup))?,
            },
        })
    }

    fn run(&mut self, s: &Scenario, seed: u64) -> Result<RunResult> {
        let task = |k: u64| -> Task {
            match s.task {
                TaskKind::WalkPerturb => Task::Joystick {
                    velocity: [s.speed.unwrap_or(0.5), 0.0],
                    yaw_rate: 0.0,
                },
                TaskKind::Joystick => {
                    let c = s.command_at(k as f64 * 0.02);
                    Task::Joystick {
                        velocity: [c[0], c[1]],
                        yaw_rate: c[2],
                    }
                }
                TaskKind::Waypoint | TaskKind::Obstacles => Task::Waypoint {
                    goal: s.goal.expect("checked"),
                },
            }
        };
        let mut estimate_error = None;
        let out = match self {
            Worker::Expert { expert, sim } => return run_expert(s, expert, sim, seed),
            Worker::Ideal { core, sim } => {
                core.reset(seed);
                let init = g1_eval::standing_start(sim);
                sim.reset(&init, seed)?;
                let steps = (s.duration_s() / sim.control_dt_s()).round() as u64;
                g1_eval::drive(sim, &mut core.controller, &task, steps, |_, _, _| {})?
            }
            Worker::Deployed { chain, sim } => {
                let init = g1_eval::standing_start(sim);
                sim.reset(&init, seed)?;
                let steps = (s.duration_s() / sim.control_dt_s()).round() as u64;
                let o = chain.run(sim, seed, &task, steps)?;
                estimate_error = Some(o.estimate_error);
                o.drive
            }
        };
        let log: Vec<Sample> = out
            .log
            .iter()
            .map(|l| Sample {
                t: l.time_s,
                xy: l.root_xy,
                vel: l.vel_heading,
                yaw: l.yaw,
            })
            .collect();
        let mut r = score(s, out.fell, out.obstacle_contact_steps, &log);
        r.seed = seed;
        r.fall_time_s = out.fall_time_s;
        r.plan_latency_ms = out.plan_latency_ms;
        r.fresh_share = Some(out.fresh_plan_steps as f64 / out.steps.max(1) as f64);
        r.estimate_error = estimate_error;
        Ok(r)
    }
}

fn run_expert(
    s: &Scenario,
    expert: &mut g1_expert::Expert,
    sim: &mut Sim,
    seed: u64,
) -> Result<RunResult> {
    let init = g1_data::rollout::initial_state(sim, expert);
    sim.reset(&init, seed)?;
    expert.reset(&g1_data::rollout::robot_state(sim))?;
    let dt = sim.control_dt_s();
    let steps = (s.duration_s() / dt).round() as u64;
    let (mut log, mut contacts, mut fall_time_s) = (vec![], 0u64, None);
    for k in 0..steps {
        let gt = sim.ground_truth();
        let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
        let cmd = match s.task {
            TaskKind::WalkPerturb => [s.speed.unwrap_or(0.5), 0.0, 0.0],
            TaskKind::Joystick => s.command_at(k as f64 * dt),
            TaskKind::Waypoint | TaskKind::Obstacles => {
                // Heading controller: turn toward the goal, walk when roughly facing it, slow down near it.
                let g = s.goal.expect("checked");
                let (dx, dy) = (g[0] - gt.root.pos_w.x, g[1] - gt.root.pos_w.y);
                let dist = (dx * dx + dy * dy).sqrt();
                let err = wrap_pi(dy.atan2(dx) - yaw);
                if dist < 0.15 {
                    [0.0, 0.0, 0.0]
                } else {
                    let v = (0.8 * dist).min(0.8) * (1.0 - (err.abs() / 1.0).min(1.0));
                    [v, 0.0, (2.0 * err).clamp(-1.0, 1.0)]
                }
            }
        };
        let a = expert.step(&g1_data::rollout::robot_state(sim), cmd)?;
        sim.set_command(&MotorCommand::with_gains(a.q_target, a.kp, a.kd));
        sim.step_control();
        let gt = sim.ground_truth();
        if sim.obstacle_contacts() > 0 {
            contacts += 1;
        }
        let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
        let (sy, cy) = yaw.sin_cos();
        let v = gt.root.lin_vel_w;
        log.push(Sample {
            t: gt.time_s,
            xy: [gt.root.pos_w.x, gt.root.pos_w.y],
            vel: [cy * v.x + sy * v.y, -sy * v.x + cy * v.y],
            yaw,
        });
        if gt.fallen() {
            fall_time_s = Some(gt.time_s);
            break;
        }
    }
    let mut r = score(s, fall_time_s.is_some(), contacts, &log);
    r.seed = seed;
    r.fall_time_s = fall_time_s;
    Ok(r)
}

fn summarise(s: &Scenario, controller: &str, setup: &Setup, rs: &[RunResult]) -> ScenarioReport {
    let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let lat: Vec<f64> = rs
        .iter()
        .flat_map(|r| r.plan_latency_ms.iter().copied())
        .collect();
    ScenarioReport {
        scenario: s.name.clone(),
        controller: controller.into(),
        profile: setup.profile,
        dynamics: (setup.profile == Profile::Deployed).then_some(setup.dynamics),
        latency: (controller == "diffusion").then(|| setup.latency.describe()),
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
    }
}

fn picture(
    path: &Path,
    s: &Scenario,
    runs: &[(&str, &[RunResult])],
    cc: &ControlConfig,
) -> Result<()> {
    let kinds_have_diffusion = runs.iter().any(|(k, _)| *k == "diffusion");
    let mut xs = vec![0.0, 1.0];
    let mut ys = vec![-1.0, 1.0];
    for (_, rs) in runs {
        for r in rs.iter() {
            for p in &r.path {
                xs.push(p[0]);
                ys.push(p[1]);
            }
        }
    }
    if let Some(g) = s.goal {
        xs.push(g[0]);
        ys.push(g[1]);
    }
    let fmin = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let fmax = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut c = g1_data::plot::Canvas::new(
        900,
        600,
        fmin(&xs) - 0.7,
        fmax(&xs) + 0.7,
        fmin(&ys) - 0.7,
        fmax(&ys) + 0.7,
    );
    crate::top_view::obstacles(&mut c, &s.obstacles, [150, 150, 150]);
    if let Some(g) = s.goal {
        c.disc(g[0], g[1], REACH_M, [190, 230, 190]);
        if kinds_have_diffusion {
            crate::top_view::route(&mut c, g, &s.obstacles, [0.0, 0.0], cc);
        }
    }
    for (i, (_, rs)) in runs.iter().enumerate() {
        for r in rs.iter() {
            let col = if r.success {
                g1_data::plot::palette(i)
            } else {
                [220, 40, 40]
            };
            c.path(&r.path, col);
        }
    }
    // Where runs fell: a dark red dot at the end of their path.
    for (_, rs) in runs {
        for r in rs.iter().filter(|r| r.fell) {
            if let Some(p) = r.end_xy {
                c.disc(p[0], p[1], 0.06, [120, 0, 0]);
            }
        }
    }
    c.save_png(path)
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
    if let Some(b) = &a.baseline {
        if b != "expert" {
            bail!("unknown baseline `{b}` (expert)");
        }
    }
    let with_expert = a.baseline.is_some() || a.baseline_only;
    let workers = a
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut kinds = vec![];
    if !a.baseline_only {
        kinds.push("diffusion");
    }
    if with_expert {
        kinds.push("expert");
    }
    // Every (scenario, controller, run) is one job for the worker pool, so many scenarios of a
    // few runs keep every worker busy as well as a few scenarios of many runs. A scenario is
    // summarised, drawn and written as soon as its last run is in (an interrupted eval keeps
    // what it finished).
    let jobs: Vec<(usize, &str, usize)> = (0..scenarios.len())
        .flat_map(|si| {
            let kinds = &kinds;
            kinds
                .iter()
                .flat_map(move |k| (0..a.runs).map(move |i| (si, *k, i)))
        })
        .collect();
    let per_scenario = kinds.len() * a.runs;
    let bar = if a.json {
        indicatif::ProgressBar::hidden()
    } else {
        let label = match scenarios.as_slice() {
            [one] => format!("{} / {}", one.name, kinds.join(" + ")),
            many => format!("{} scenarios × {} run(s)", many.len(), a.runs),
        };
        crate::data_cmds::progress_bar(jobs.len() as u64, &label)
    };
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, &str, usize, Result<RunResult>)>();
    let mut reports: Vec<(usize, ScenarioReport)> = vec![];
    let mut all_runs: Vec<(usize, String, &str, Vec<RunResult>)> = vec![];
    std::thread::scope(|sc| -> Result<()> {
        for _ in 0..workers.min(jobs.len()) {
            let tx = tx.clone();
            let (jobs, next, setup, scenarios) = (&jobs, &next, &setup, &scenarios);
            sc.spawn(move || {
                // The loaded controller of the last (scenario, controller) this worker ran.
                let mut worker: Option<(usize, &str, Result<Worker>)> = None;
                loop {
                    let j = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(si, kind, i)) = jobs.get(j) else {
                        break;
                    };
                    let s = &scenarios[si];
                    if !matches!(&worker, Some((wsi, wk, _)) if *wsi == si && *wk == kind) {
                        worker = Some((si, kind, Worker::new(kind, s, setup)));
                    }
                    let seed = a.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
                    let r = match worker.as_mut().map(|w| &mut w.2) {
                        Some(Ok(w)) => w.run(s, seed),
                        Some(Err(e)) => Err(anyhow::anyhow!("{e:#}")),
                        None => unreachable!("worker set above"),
                    };
                    if tx.send((si, kind, i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: std::collections::BTreeMap<usize, Vec<(&str, usize, RunResult)>> =
            Default::default();
        for (si, kind, i, r) in rx.iter() {
            bar.inc(1);
            let s = &scenarios[si];
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    // The workers finish their runs in hand and take no more.
                    next.store(jobs.len(), Ordering::SeqCst);
                    return Err(e.context(format!("{} / {kind} run {i}", s.name)));
                }
            };
            let done = pending.entry(si).or_default();
            done.push((kind, i, r));
            if done.len() < per_scenario {
                continue;
            }
            let mut done = pending.remove(&si).expect("entry");
            done.sort_by_key(|(k, i, _)| (kinds.iter().position(|x| x == k), *i));
            let mut groups: Vec<(&str, Vec<RunResult>)> = vec![];
            for kind in &kinds {
                let rs: Vec<RunResult> = done
                    .iter()
                    .filter(|(k, _, _)| k == kind)
                    .map(|(_, _, r)| r.clone())
                    .collect();
                reports.push((si, summarise(s, kind, &setup, &rs)));
                groups.push((kind, rs));
            }
            let views: Vec<(&str, &[RunResult])> =
                groups.iter().map(|(k, r)| (*k, r.as_slice())).collect();
            picture(
                &a.out.join(format!("{}.png", s.name)),
                s,
                &views,
                &setup.params.planner.control,
            )?;
            for (kind, rs) in groups {
                all_runs.push((si, s.name.clone(), kind, rs));
            }
            reports.sort_by_key(|(si, _)| *si);
            all_runs.sort_by_key(|(si, _, _, _)| *si);
            write_results(&a.out, &reports, &all_runs)?;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let reports: Vec<ScenarioReport> = reports.into_iter().map(|(_, r)| r).collect();
    let all_runs: Vec<(String, &str, Vec<RunResult>)> = all_runs
        .into_iter()
        .map(|(_, n, k, rs)| (n, k, rs))
        .collect();
    if setup.latency == LatencyModel::WallClock {
        // The measured plan latencies, as a latency file for later runs (`--latency FILE`).
        let samples: Vec<f64> = all_runs
            .iter()
            .filter(|(_, k, _)| *k == "diffusion")
            .flat_map(|(_, _, rs)| rs.iter().flat_map(|r| r.plan_latency_ms.iter().copied()))
            .map(|v| (v * 1e3).round() / 1e3)
            .collect();
        let source = format!(
            "plan compute times of `g1d eval --latency wall --profile {:?}` with {} worker(s) on {} cores, {} runs per scenario, {}",
            setup.profile,
            workers,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            a.runs,
            path.display()
        )
        .to_lowercase();
        let p = a.out.join("latency.json");
        std::fs::write(
            &p,
            serde_json::to_string(&serde_json::json!({"source": source, "samples_ms": samples}))?,
        )
        .with_context(|| format!("writing {}", p.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    print!("{}", table(&reports));
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

/// `report.json` (the `--json` output), `runs.json` (every run) and `table.md` in `out`.
fn write_results(
    out: &Path,
    reports: &[(usize, ScenarioReport)],
    all_runs: &[(usize, String, &str, Vec<RunResult>)],
) -> Result<()> {
    let reports: Vec<ScenarioReport> = reports.iter().map(|(_, r)| r.clone()).collect();
    let groups: Vec<RunGroup> = all_runs
        .iter()
        .map(|(_, s, k, rs)| RunGroup {
            scenario: s,
            controller: k,
            runs: rs,
        })
        .collect();
    let write = |name: &str, text: String| -> Result<()> {
        let p = out.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    write("report.json", serde_json::to_string_pretty(&reports)?)?;
    write("runs.json", serde_json::to_string_pretty(&groups)?)?;
    write("table.md", table(&reports))
}

/// The readable table (Markdown).
fn table(reports: &[ScenarioReport]) -> String {
    use std::fmt::Write as _;
    let f = |v: Option<f64>, d: usize| v.map_or("—".to_string(), |x| format!("{x:.d$}"));
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
        let mut controllers: Vec<&str> = reports.iter().map(|r| r.controller.as_str()).collect();
        controllers.dedup();
        for c in controllers {
            let rs: Vec<&ScenarioReport> = reports.iter().filter(|r| r.controller == c).collect();
            let runs: usize = rs.iter().map(|r| r.runs).sum();
            let weighted = |f: &dyn Fn(&ScenarioReport) -> Option<f64>| {
                let (sum, n) = rs.iter().fold((0.0, 0usize), |(s, n), r| match f(r) {
                    Some(v) => (s + v * r.runs as f64, n + r.runs),
                    None => (s, n),
                });
                (n > 0).then(|| sum / n as f64)
            };
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
    t
}
