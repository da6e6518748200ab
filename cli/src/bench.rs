//! `g1d bench sim`: one simulated G1 with the velocity policy in the loop, one thread, against
//! the same loop written in Python (PyPI `mujoco` + `onnxruntime`), in the same command.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};
use g1_expert::Expert;
use g1_sim::{MotorCommand, Sim, SimConfig};
use serde::Serialize;

use g1_data::rollout;

#[derive(clap::Args)]
pub struct BenchSimArgs {
    /// Simulated seconds per measurement.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Repetitions of each loop (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Python interpreter with mujoco and onnxruntime (default: the repository's .venv).
    #[arg(long)]
    pub python: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct LoopResult {
    physics_steps_per_s: f64,
    realtime_factor: f64,
}

#[derive(Serialize)]
struct BenchReport {
    seconds_simulated: f64,
    timestep_s: f64,
    rust: LoopResult,
    /// The same physics steps with the policy's recorded commands replayed: MuJoCo alone, the
    /// ceiling of any loop around this engine build on this machine.
    physics_only: LoopResult,
    python: Option<LoopResult>,
    rust_over_python: Option<f64>,
    command: String,
}

pub fn bench_sim(a: BenchSimArgs) -> Result<()> {
    if !(a.seconds.is_finite() && a.seconds > 0.0) || a.repeats == 0 {
        anyhow::bail!("--seconds must be positive and --repeats at least 1");
    }
    let assets = g1_sim::default_assets_dir();
    let policy = assets.join("policies/velocity_mjlab");
    let cfg = SimConfig::default();
    let mut sim = Sim::new(&assets, cfg.clone())?;
    let mut expert = Expert::load(&policy, None)?;
    let opts = rollout::RolloutOptions {
        seconds: Some(a.seconds),
        command: [0.5, 0.0, 0.0],
        seed: 0,
    };
    let mut best_rt: f64 = 0.0;
    for _ in 0..a.repeats {
        let s = rollout::run(&mut sim, &mut expert, &opts)?;
        if s.fell {
            anyhow::bail!("the benchmark walk fell; the measurement would not be comparable");
        }
        best_rt = best_rt.max(s.realtime_factor);
    }
    let rust = LoopResult {
        physics_steps_per_s: best_rt / cfg.timestep_s,
        realtime_factor: best_rt,
    };
    let physics = physics_ceiling(&mut sim, &mut expert, &opts, a.repeats)?;

    // The Python loop simulates the exact MJCF this process compiled.
    let dir = std::env::temp_dir().join(format!("g1d_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let xml = dir.join("scene.xml");
    std::fs::write(&xml, sim.scene_xml())?;
    let python = a.python.clone().unwrap_or_else(|| {
        let root = assets.parent().map(|p| p.to_path_buf()).unwrap_or_default();
        root.join(".venv/bin/python")
    });
    let script = assets
        .parent()
        .unwrap_or(&assets)
        .join("scripts/bench_sim.py");
    let mut py_best: Option<LoopResult> = None;
    for _ in 0..a.repeats {
        let out = Command::new(&python)
            .arg(&script)
            .args([
                "--xml".as_ref(),
                xml.as_os_str(),
                "--policy".as_ref(),
                policy.as_os_str(),
            ])
            .args([
                "--seconds",
                &a.seconds.to_string(),
                "--timestep",
                &cfg.timestep_s.to_string(),
            ])
            .args(["--decimation", &cfg.decimation.to_string()])
            .args([
                "--iterations",
                &cfg.solver_iterations.to_string(),
                "--ls-iterations",
                &cfg.ls_iterations.to_string(),
            ])
            .env("OMP_NUM_THREADS", "1")
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let v: serde_json::Value =
                    serde_json::from_slice(&o.stdout).context("Python bench output")?;
                let r = LoopResult {
                    physics_steps_per_s: v["physics_steps_per_s"].as_f64().unwrap_or(0.0),
                    realtime_factor: v["realtime_factor"].as_f64().unwrap_or(0.0),
                };
                if py_best
                    .as_ref()
                    .is_none_or(|b| r.realtime_factor > b.realtime_factor)
                {
                    py_best = Some(r);
                }
            }
            Ok(o) => {
                eprintln!("Python loop failed: {}", String::from_utf8_lossy(&o.stderr));
                break;
            }
            Err(e) => {
                eprintln!(
                    "cannot run {} ({e}); run `make setup` for the Python peer",
                    python.display()
                );
                break;
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    let ratio = py_best
        .as_ref()
        .map(|p| rust.realtime_factor / p.realtime_factor);
    let report = BenchReport {
        seconds_simulated: a.seconds,
        timestep_s: cfg.timestep_s,
        rust,
        physics_only: physics,
        python: py_best,
        rust_over_python: ratio,
        command: format!(
            "g1d bench sim --seconds {} --repeats {}",
            a.seconds, a.repeats
        ),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "G1 + velocity policy, one thread, {} s simulated, {} ms physics steps, best of {}",
            a.seconds,
            cfg.timestep_s * 1e3,
            a.repeats
        );
        println!(
            "  Rust   (mujoco-rs + ort)        {:>8.0} steps/s  {:>6.1}× real time",
            report.rust.physics_steps_per_s, report.rust.realtime_factor
        );
        println!(
            "  MuJoCo alone (commands replayed)  {:>8.0} steps/s  {:>6.1}× real time   (ceiling: policy loop = {:.0} % of it)",
            report.physics_only.physics_steps_per_s,
            report.physics_only.realtime_factor,
            100.0 * report.rust.realtime_factor / report.physics_only.realtime_factor
        );
        if let Some(p) = &report.python {
            println!(
                "  Python (mujoco + onnxruntime)   {:>8.0} steps/s  {:>6.1}× real time",
                p.physics_steps_per_s, p.realtime_factor
            );
        }
        if let Some(r) = ratio {
            println!("  Rust / Python                   {r:.2}×");
        }
        println!("  targets: ≥ 100× real time per core, ≥ 1.5× the Python loop");
    }
    Ok(())
}

/// Replays the walk's motor commands with no policy in the loop (same initial state, seed and
/// commands, so the same trajectory): the physics-only speed of this MuJoCo build.
fn physics_ceiling(
    sim: &mut Sim,
    expert: &mut Expert,
    opts: &rollout::RolloutOptions,
    repeats: usize,
) -> Result<LoopResult> {
    let seconds = opts.seconds.unwrap_or(10.0);
    let steps = (seconds / sim.control_dt_s()).round() as usize;
    let init = rollout::initial_state(sim, expert)?;
    sim.reset(&init, opts.seed)?;
    expert.reset(&rollout::robot_state(sim))?;
    let mut commands = Vec::with_capacity(steps);
    for _ in 0..steps {
        let a = expert.step(&rollout::robot_state(sim), opts.command)?;
        let c = MotorCommand::with_gains(a.q_target, a.kp, a.kd);
        commands.push(c);
        sim.set_command(&c);
        sim.step_control();
    }
    let end = sim.ground_truth().root.pos_w;
    let mut best: f64 = 0.0;
    for _ in 0..repeats {
        sim.reset(&init, opts.seed)?;
        let t0 = std::time::Instant::now();
        for c in &commands {
            sim.set_command(c);
            sim.step_control();
        }
        let wall = t0.elapsed().as_secs_f64();
        let replay_end = sim.ground_truth().root.pos_w;
        if (replay_end - end).norm() > 1e-9 {
            anyhow::bail!("the replayed walk diverged from the recorded one; not the same physics");
        }
        best = best.max(sim.ground_truth().time_s / wall.max(1e-9));
    }
    Ok(LoopResult {
        physics_steps_per_s: best / sim.config().timestep_s,
        realtime_factor: best,
    })
}
