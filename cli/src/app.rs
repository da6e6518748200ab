//! The command line shared by `g1d` and `g1d-torch`: argument parsing and dispatch. `g1d`
//! links no libtorch and hands the commands that need it (training, the libtorch backends and
//! comparisons) to `g1d-torch` beside it; `crate::torch` is the difference between the two.

use crate::{
    bag_cmd, bench, bench_estimator, bench_model, collect_cmd, courses_cmd, dataset_cmd, demo_cmd,
    drive_cmd, eval_cmd, model_cmd, plans_cmd, replay_cmd, robustness_cmd, security_cmd, torch,
    train_cmd, up_cmd, view_cmd,
};
use g1_data::rollout;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use g1_expert::{Expert, MotionSpec};
use g1_sim::{PushConfig, Sim, SimConfig};

#[derive(Parser)]
#[command(
    name = "g1d",
    version,
    about = "Guided state–action diffusion control of the Unitree G1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Stage 1 expert policy on the simulated G1 (headless) and summarise what happened.
    Sim(SimArgs),
    /// Stage 1 robustness: a policy under friction, pushes, motion speed, delay, noise and
    /// start conditions, with tracking metrics, a table, report.json and charts.
    Robustness(robustness_cmd::RobustnessArgs),
    /// Collect Stage 1 expert data (noise, delay, pushes, randomisation) into rosbags.
    Collect(collect_cmd::CollectArgs),
    /// Inspect or repair rosbag2 (MCAP) bags.
    #[command(subcommand)]
    Bag(bag_cmd::BagCommand),
    /// Build training datasets from bags.
    #[command(subcommand)]
    Dataset(dataset_cmd::DatasetCommand),
    /// Train the state–action diffusion model on a dataset (libtorch, CPU or CUDA).
    Train(train_cmd::TrainArgs),
    /// Export a trained model as ONNX + manifest.json.
    Export(train_cmd::ExportArgs),
    /// The simulated G1 under the diffusion controller (one episode).
    Drive(drive_cmd::DriveArgs),
    /// The main job: the diffusion controller walks the G1 to a waypoint around obstacles.
    Demo(demo_cmd::DemoArgs),
    /// The 3-D viewer: a recording or the running node suite in a window, or offscreen
    /// pictures and clips of a recording.
    View(view_cmd::ViewArgs),
    /// Closed-loop evaluation on the paper's protocol (scenario file), with the expert baseline.
    Eval(eval_cmd::EvalArgs),
    /// Generated courses for `g1d eval`: obstacles, waypoints, joystick commands, from seeds.
    #[command(subcommand)]
    Courses(courses_cmd::CoursesCommand),
    /// Check an exported model, or evaluate its unguided plans.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run a launch file's nodes composed in one process, on DDS (no ROS 2 install needed).
    Up(up_cmd::UpArgs),
    /// Replay a node's recorded inputs through it and compare its outputs with the recording.
    Replay(replay_cmd::ReplayArgs),
    /// DDS Security: create a keystore and enclaves (SROS2 layout) for the suite's nodes.
    #[command(subcommand)]
    Security(security_cmd::SecurityCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Simulator + velocity policy loop, one thread: steps/s and × real time, against the same
    /// loop in Python (mujoco + onnxruntime from PyPI).
    Sim(bench::BenchSimArgs),
    /// Denoiser call and full-plan latency (p50, p99) and peak memory for tiny/small/paper,
    /// ONNX Runtime against libtorch in the same command.
    Model(bench_model::BenchModelArgs),
    /// The contact-aided Kalman filter against simulator truth (expert walking with turns).
    Estimator(bench_estimator::BenchEstimatorArgs),
}

#[derive(clap::Args)]
struct SimArgs {
    /// Policy directory (deploy.yaml + policy.onnx) or BeyondMimic .onnx file.
    #[arg(long)]
    policy: PathBuf,
    /// Velocity command `vx,vy,wz` (m/s, m/s, rad/s) for velocity policies.
    #[arg(long, value_parser = parse_command, allow_hyphen_values = true, default_value = "0,0,0")]
    command: [f64; 3],
    /// Reference motion CSV for tracking policies (default: the policy's motion.yaml).
    #[arg(long)]
    motion: Option<PathBuf>,
    /// Frame rate of --motion (default: 60 if the file name says 60hz, else 30).
    #[arg(long)]
    motion_fps: Option<f64>,
    /// Simulated seconds (default: 10 s, or the whole clip for tracking policies).
    #[arg(long)]
    seconds: Option<f64>,
    /// Seed of the episode (randomisation and pushes).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Kick the root: U(0, 0.5) m/s horizontal velocity changes every 1 s.
    #[arg(long)]
    pushes: bool,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    json: bool,
    /// Assets directory (default: ./assets, or the repository's).
    #[arg(long)]
    assets: Option<PathBuf>,
    /// Simulator settings (YAML of `SimConfig`: timestep, friction, randomisation, obstacles).
    #[arg(long)]
    sim_config: Option<PathBuf>,
}

/// A velocity command `vx,vy,wz` (three finite numbers).
pub(crate) fn parse_command(s: &str) -> Result<[f64; 3], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>().map_err(|e| format!("`{x}`: {e}")))
        .collect::<Result<_, _>>()?;
    if v.len() != 3 || v.iter().any(|x| !x.is_finite()) {
        return Err(format!("expected three finite numbers vx,vy,wz, got `{s}`"));
    }
    Ok([v[0], v[1], v[2]])
}

fn cmd_sim(a: SimArgs) -> Result<()> {
    let assets = a.assets.unwrap_or_else(g1_sim::default_assets_dir);
    let motion = a
        .motion
        .as_deref()
        .map(|m| MotionSpec::from_csv(m, a.motion_fps));
    let mut expert = Expert::load(&a.policy, motion)
        .with_context(|| format!("loading policy {}", a.policy.display()))?;
    if let Some(r) = expert.command_ranges {
        let [vx, vy, wz] = a.command;
        let inside = |v: f64, r: [f64; 2]| v >= r[0] - 1e-9 && v <= r[1] + 1e-9;
        if !(inside(vx, r.lin_vel_x) && inside(vy, r.lin_vel_y) && inside(wz, r.ang_vel_z)) {
            anyhow::bail!(
                "--command {vx},{vy},{wz} is outside the policy's trained ranges vx {:?}, vy {:?}, wz {:?}",
                r.lin_vel_x,
                r.lin_vel_y,
                r.ang_vel_z
            );
        }
    }
    if let Some(s) = a.seconds {
        if !(s > 0.0 && s <= 3600.0) {
            anyhow::bail!("--seconds {s} must be in (0, 3600]");
        }
    }
    let mut cfg = load_sim_config(a.sim_config.as_deref())?;
    if a.pushes {
        cfg.pushes = Some(PushConfig::default());
    }
    let mut sim = Sim::new(&assets, cfg).context("building the simulator")?;
    let opts = rollout::RolloutOptions {
        seconds: a.seconds,
        command: a.command,
        seed: a.seed,
    };
    let s = rollout::run(&mut sim, &mut expert, &opts)?;
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "policy        {} ({:?}, {})",
            s.policy,
            s.kind,
            expert.observation_layout()
        );
        if s.kind == g1_expert::PolicyKind::Velocity {
            println!(
                "command       vx {:.2} m/s, vy {:.2} m/s, wz {:.2} rad/s",
                s.command[0], s.command[1], s.command[2]
            );
        }
        println!(
            "simulated     {:.2} s ({} control steps, seed {}, {} pushes)",
            s.seconds, s.steps, s.seed, s.pushes
        );
        match s.fall_time_s {
            Some(t) => println!("outcome       FELL at {t:.2} s"),
            None => println!(
                "outcome       stayed up (lowest head height {:.2} m)",
                s.min_head_height_m
            ),
        }
        println!("distance      {:.2} m", s.distance_m);
        println!(
            "mean velocity vx {:.2} m/s, vy {:.2} m/s, wz {:.2} rad/s (heading frame)",
            s.mean_velocity[0], s.mean_velocity[1], s.mean_velocity[2]
        );
        if let Some(e) = s.joint_rmse_rad {
            println!("joint RMSE    {e:.3} rad against the reference");
        }
        println!("speed         {:.0}× real time", s.realtime_factor);
    }
    Ok(())
}

/// `SimConfig` from a YAML file, or the default.
pub(crate) fn load_sim_config(path: Option<&std::path::Path>) -> Result<SimConfig> {
    match path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_yaml::from_str::<SimConfig>(&text)
                .with_context(|| format!("parsing {}", p.display()))
        }
        None => Ok(SimConfig::default()),
    }
}

/// The commands that run libtorch: training, the ONNX Runtime ↔ libtorch comparison, the model
/// benchmark (both backends), and the libtorch inference backends.
fn needs_libtorch(c: &Command) -> bool {
    let torch = |b: g1_diffusion::BackendKind| b.ort_device().is_none();
    match c {
        Command::Train(_) => true,
        Command::Model(model_cmd::ModelCommand::Check(_)) => true,
        Command::Model(model_cmd::ModelCommand::Plans(a)) => torch(a.backend),
        Command::Bench(BenchCommand::Model(_)) => true,
        Command::Drive(a) => torch(a.backend),
        _ => false,
    }
}

/// The commands that render with the viewer offscreen and open no window.
fn renders_offscreen_only(c: &Command) -> bool {
    match c {
        Command::View(a) => a.png.is_some() || a.video.is_some(),
        Command::Demo(a) => !a.view && !a.no_video,
        Command::Eval(a) => a.render,
        _ => false,
    }
}

pub fn main() -> ExitCode {
    // `g1d … | head`: a closed pipe ends the process quietly, as it does any Unix tool,
    // instead of a panic in the next print.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if renders_offscreen_only(&cli.command)
        && std::env::var_os("VK_LOADER_DRIVERS_DISABLE").is_none()
    {
        // Offscreen pictures without a GPU: Mesa's software GL draws them about 3× faster than
        // its software Vulkan (lavapipe), which wgpu would pick first; the Vulkan loader hides
        // lavapipe only (a hardware Vulkan driver stays in use).
        // SAFETY: no other thread exists yet.
        unsafe {
            std::env::set_var("VK_LOADER_DRIVERS_DISABLE", "*lvp*");
        }
    }
    if let Err(e) = g1_ros::dds_log::init_from_env() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if !torch::AVAILABLE && needs_libtorch(&cli.command) {
        let e = torch::delegate();
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let r = match cli.command {
        Command::Sim(a) => cmd_sim(a),
        Command::Robustness(a) => robustness_cmd::cmd_robustness(a),
        Command::Collect(a) => collect_cmd::cmd_collect(a),
        Command::Bag(c) => bag_cmd::cmd_bag(c),
        Command::Dataset(c) => dataset_cmd::cmd_dataset(c),
        Command::Train(a) => train_cmd::cmd_train(a),
        Command::Drive(a) => drive_cmd::cmd_drive(a),
        Command::Demo(a) => demo_cmd::cmd_demo(a),
        Command::View(a) => view_cmd::cmd_view(a),
        Command::Eval(a) => eval_cmd::cmd_eval(a),
        Command::Export(a) => train_cmd::cmd_export(a),
        Command::Model(model_cmd::ModelCommand::Check(a)) => model_cmd::cmd_check(a),
        Command::Model(model_cmd::ModelCommand::Plans(a)) => plans_cmd::cmd_plans(a),
        Command::Bench(BenchCommand::Sim(a)) => bench::bench_sim(a),
        Command::Bench(BenchCommand::Model(a)) => bench_model::bench_model(a),
        Command::Up(a) => up_cmd::cmd_up(a),
        Command::Replay(a) => replay_cmd::cmd_replay(a),
        Command::Security(c) => security_cmd::run(c),
        Command::Courses(c) => courses_cmd::run(c),
        Command::Bench(BenchCommand::Estimator(a)) => bench_estimator::bench_estimator(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
