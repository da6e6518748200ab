//! `g1d drive`: the simulated G1 under the diffusion controller, one episode, with a summary
//! and a top-view PNG.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use g1_control::{ControlConfig, Controller, Planner, PlannerConfig, Task};
use g1_eval::drive_report::{drive_picture, write_step_log, DriveSummary};
use g1_nodes::run_bag::RunBag;
use g1_sim::{PushConfig, Sim};

// Command-line switches are bools by nature.
#[allow(clippy::struct_excessive_bools)]
#[derive(clap::Args)]
pub struct DriveArgs {
    /// Model directory (manifest.json + denoiser.onnx).
    #[arg(long)]
    pub model: PathBuf,
    /// Walk to this world position `x,y` (m) and stop.
    #[arg(long, value_parser = parse2, allow_hyphen_values = true)]
    pub goal: Option<[f64; 2]>,
    /// Follow this planar velocity `vx,vy` (m/s, heading frame).
    #[arg(long, value_parser = parse2, allow_hyphen_values = true)]
    pub joystick: Option<[f64; 2]>,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Simulator settings YAML (obstacles, randomisation, pushes).
    #[arg(long)]
    pub sim_config: Option<PathBuf>,
    /// Kick the root: U(0, 0.5) m/s every 1 s.
    #[arg(long)]
    pub pushes: bool,
    /// Inference backend (ort-cpu, ort-cuda, ort-tensorrt, torch-cpu, torch-cuda).
    #[arg(long, default_value = "ort-cpu")]
    pub backend: g1_diffusion::BackendKind,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Guidance step size λ.
    #[arg(long)]
    pub guidance_scale: Option<f64>,
    /// Largest guidance step per state token (normalised units).
    #[arg(long)]
    pub max_guidance_step: Option<f64>,
    /// The node parameter file whose `g1_planner` section gives the planner and controller
    /// settings (default: config/g1.params.yaml, as the launch files).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// When plans land: `fixed:MS`, a latency file, or `wall` (see `g1d eval --latency`;
    /// default: config/plan_latency.json).
    #[arg(long)]
    pub latency: Option<String>,
    /// Planner settings YAML (keys of PlannerConfig) instead of the parameter file's; flags
    /// override it.
    #[arg(long)]
    pub planner: Option<PathBuf>,
    /// Controller settings YAML (keys of ControlConfig: guidance weights, δ, hold steps)
    /// instead of the parameter file's.
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Plan from pure noise every time (no rolling inference).
    #[arg(long)]
    pub no_rolling: bool,
    /// Walk with this Stage 1 expert first (diagnostic hand-over: does the model keep going?).
    #[arg(long)]
    pub handover_expert: Option<PathBuf>,
    /// Velocity command `vx,vy,wz` of the hand-over expert.
    #[arg(long, default_value = "0.5,0,0", value_parser = crate::parse_command, allow_hyphen_values = true)]
    pub handover_command: [f64; 3],
    /// Seconds of expert walking before the diffusion controller takes over.
    #[arg(long, default_value_t = 2.0)]
    pub handover_s: f64,
    /// Top-view PNG of the run.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Record the run as a rosbag2 (MCAP), as the node suite would have: `/joint_states`,
    /// `/sim/odom` (ground truth) and `/joint_targets` at 50 Hz, the executed plans
    /// (`/g1d/plan/markers`, `/g1d/plan/path`), obstacles, goal, route and the controller's
    /// status on `/diagnostics` (what `g1d view --bag` draws). The directory must not exist.
    #[arg(long)]
    pub bag: Option<PathBuf>,
    /// Watch the run in a 3-D window as it is computed (needs a display; see `g1d view`).
    #[arg(long)]
    pub view: bool,
    /// Per-step CSV of the run: time, root position and yaw, planar velocity in the heading
    /// frame, the model's surprise and the disturbance gate, pushes so far, mode, plan age.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// A progress line every this many simulated seconds (0: none).
    #[arg(long, default_value_t = 0.0)]
    pub progress_s: f64,
    #[arg(long)]
    pub json: bool,
}

fn parse2(s: &str) -> Result<[f64; 2], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>().map_err(|e| format!("`{x}`: {e}")))
        .collect::<Result<_, _>>()?;
    if v.len() != 2 || v.iter().any(|x| !x.is_finite()) {
        return Err(format!("expected two finite numbers `a,b`, got `{s}`"));
    }
    Ok([v[0], v[1]])
}

/// The planner and controller settings: the parameter file's `g1_planner` section, or the
/// `--planner`/`--control` files, then the flags.
fn settings(a: &DriveArgs) -> Result<(PlannerConfig, ControlConfig)> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    let params_path = a
        .params
        .clone()
        .unwrap_or_else(|| g1_sim::default_assets_dir().join("../config/g1.params.yaml"));
    let node = g1_nodes::deployed::ChainParams::from_file(&params_path)?.planner;
    let mut pc: PlannerConfig = match &a.planner {
        Some(p) => serde_yaml::from_str(&read(p)?)
            .with_context(|| format!("{}: bad planner settings", p.display()))?,
        None => node.planner,
    };
    pc.seed = a.seed;
    pc.rolling &= !a.no_rolling;
    pc.guidance_scale = a.guidance_scale.unwrap_or(pc.guidance_scale);
    pc.max_guidance_step = a.max_guidance_step.unwrap_or(pc.max_guidance_step);
    let cc: ControlConfig = match &a.control {
        Some(p) => serde_yaml::from_str(&read(p)?)
            .with_context(|| format!("{}: bad control settings", p.display()))?,
        None => node.control,
    };
    cc.check()?;
    Ok((pc, cc))
}

pub fn cmd_drive(a: DriveArgs) -> Result<()> {
    if !a.view {
        return run_drive(a, None);
    }
    // The window needs the main thread; the run goes to a worker and feeds the window's
    // timeline with the messages it records.
    let opts = crate::view_cmd::view_options(None)?;
    let timeline = std::sync::Arc::new(std::sync::Mutex::new(g1_viewer::Timeline::new()));
    let tap = crate::view_cmd::timeline_tap(timeline.clone());
    let worker = std::thread::spawn(move || run_drive(a, Some(tap)));
    let shown = g1_viewer::render::run_window(
        g1_viewer::Playback::Growing(timeline),
        &opts,
        "g1d drive",
        None,
    );
    if shown.is_ok() && !worker.is_finished() {
        eprintln!("g1d drive: window closed; the run goes on to its end");
    }
    let ran = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the run's thread panicked"))?;
    shown.and(ran)
}

fn run_drive(a: DriveArgs, tap: Option<g1_nodes::run_bag::Tap>) -> Result<()> {
    if !(a.seconds > 0.0 && a.seconds <= 600.0) {
        bail!("--seconds {} must be in (0, 600]", a.seconds);
    }
    let task = match (a.goal, a.joystick) {
        (Some(g), None) => Task::Waypoint { goal: g },
        (None, Some(v)) => Task::Joystick {
            velocity: v,
            yaw_rate: 0.0,
        },
        (None, None) => Task::Free,
        _ => bail!("give --goal or --joystick, not both"),
    };
    let mut cfg = crate::load_sim_config(a.sim_config.as_deref())?;
    if a.pushes {
        cfg.pushes = Some(PushConfig::default());
    }
    let (manifest, net) = crate::torch::open_backend(&a.model, a.backend, a.threads)?;
    if !cfg.obstacles.is_empty() && manifest.state_layout != g1::StateLayout::BodyPos {
        bail!(
            "the scene has obstacles, whose avoidance needs a Body-Pos model (body positions to keep clear); this model's states are {}",
            manifest.state_layout
        );
    }
    let (pc, cc) = settings(&a)?;
    let latency_file = crate::eval_cmd::default_latency_file();
    let latency = g1_control::LatencyModel::parse(a.latency.as_deref().unwrap_or(&latency_file))?;
    let mut ctl = Controller::new(Planner::new(net, manifest, pc)?, cc.clone(), latency)?;
    let mut sim =
        Sim::new(&g1_sim::default_assets_dir(), cfg.clone()).context("building the simulator")?;
    let init = g1_eval::standing_start(&mut sim);
    sim.reset(&init, a.seed)?;
    if let Some(dir) = &a.handover_expert {
        g1_eval::expert::handover(&mut sim, dir, a.handover_command, a.handover_s)?;
    }
    let steps = (a.seconds / sim.control_dt_s()).round() as u64;
    // Created before the run, so that a bad path fails at once, not after it.
    let log_file = a
        .log
        .as_ref()
        .map(|p| std::fs::File::create(p).with_context(|| format!("--log {}", p.display())))
        .transpose()?;
    let mut bag = if a.bag.is_some() || tap.is_some() {
        let run = [
            ("task", serde_json::to_string(&task)?),
            ("model", a.model.display().to_string()),
            ("seed", a.seed.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v));
        Some(RunBag::create(a.bag.as_deref(), run.into_iter().collect(), tap).context("--bag")?)
    } else {
        None
    };
    let mut bag_err: Option<anyhow::Error> = None;
    let every = (a.progress_s / sim.control_dt_s()).round() as u64;
    let clock = std::time::Instant::now();
    let out = g1_eval::drive(
        &mut sim,
        &mut ctl,
        &|_, _| task.clone(),
        steps,
        |k, sim, _, ctl| {
            if let (Some(b), None) = (bag.as_mut(), &bag_err) {
                bag_err = b.record(sim, ctl, &task, None).err();
            }
            if every > 0 && (k + 1) % every == 0 {
                let gt = sim.ground_truth();
                let (x, y) = (gt.root.pos_w.x, gt.root.pos_w.y);
                let to_goal = match &task {
                    Task::Waypoint { goal } => {
                        format!(", {:.2} m to the goal", (goal[0] - x).hypot(goal[1] - y))
                    }
                    _ => String::new(),
                };
                eprintln!(
                    "  t {:5.1} s  at [{x:5.2}, {y:5.2}] m, pelvis {:.2} m high{to_goal}",
                    gt.time_s, gt.root.pos_w.z
                );
            }
        },
    )?;
    if let Some(e) = bag_err {
        return Err(e.context("recording the run"));
    }
    let bag_dir = bag.map(|b| b.finish()).transpose()?.flatten();
    let summary = DriveSummary::new(
        &task,
        &out,
        (ctl.planner.backend(), ctl.latency.describe()),
        sim.control_dt_s(),
        clock.elapsed().as_secs_f64(),
    );
    if let (Some(p), Some(f)) = (&a.log, log_file) {
        write_step_log(f, &out.log).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &a.png {
        drive_picture(p, &task, &cfg.obstacles, &out.log, &cc)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    summary.lines().iter().for_each(|l| println!("{l}"));
    let files = [("picture", a.png), ("log", a.log), ("bag", bag_dir)];
    for (what, p) in files.iter().filter_map(|(w, p)| Some((w, p.as_ref()?))) {
        println!("{what:<14}{}", p.display());
    }
    Ok(())
}
