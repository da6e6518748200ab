//! `g1d drive`: the simulated G1 under the diffusion controller, one episode, with a summary
//! and a top-view PNG.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use g1_control::{ControlConfig, Planner, PlannerConfig, Task};
use g1_sim::{Obstacle, PushConfig, Sim};

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
    /// Planner settings YAML (keys of PlannerConfig); flags override it.
    #[arg(long)]
    pub planner: Option<PathBuf>,
    /// Controller settings YAML (keys of ControlConfig: guidance weights, δ, hold steps).
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Plan from pure noise every time (no rolling inference).
    #[arg(long)]
    pub no_rolling: bool,
    /// Walk with this Stage 1 expert first (diagnostic hand-over: does the model keep going?).
    #[arg(long)]
    pub handover_expert: Option<PathBuf>,
    /// Velocity command `vx,vy,wz` of the hand-over expert.
    #[arg(long, default_value = "0.5,0,0", allow_hyphen_values = true)]
    pub handover_command: String,
    /// Seconds of expert walking before the diffusion controller takes over.
    #[arg(long, default_value_t = 2.0)]
    pub handover_s: f64,
    /// Top-view PNG of the run.
    #[arg(long)]
    pub png: Option<PathBuf>,
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

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    if s.is_empty() {
        return f64::NAN;
    }
    s[((s.len() - 1) as f64 * p).round() as usize]
}

pub fn cmd_drive(a: DriveArgs) -> Result<()> {
    if !(a.seconds > 0.0 && a.seconds <= 600.0) {
        bail!("--seconds {} must be in (0, 600]", a.seconds);
    }
    let task = match (a.goal, a.joystick) {
        (Some(g), None) => Task::Waypoint { goal: g },
        (None, Some(v)) => Task::Joystick { velocity: v },
        (None, None) => Task::Free,
        _ => bail!("give --goal or --joystick, not both"),
    };
    let mut cfg = crate::load_sim_config(a.sim_config.as_deref())?;
    if a.pushes {
        cfg.pushes = Some(PushConfig::default());
    }
    let (manifest, net) = g1_diffusion_tch::open_backend(&a.model, a.backend, a.threads)?;
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    let mut pc: PlannerConfig = match &a.planner {
        Some(p) => serde_yaml::from_str(&read(p)?)
            .with_context(|| format!("{}: bad planner settings", p.display()))?,
        None => PlannerConfig::default(),
    };
    pc.seed = a.seed;
    if a.no_rolling {
        pc.rolling = false;
    }
    let cc: ControlConfig = match &a.control {
        Some(p) => serde_yaml::from_str(&read(p)?)
            .with_context(|| format!("{}: bad control settings", p.display()))?,
        None => ControlConfig::default(),
    };
    if let Some(s) = a.guidance_scale {
        pc.guidance_scale = s;
    }
    if let Some(s) = a.max_guidance_step {
        pc.max_guidance_step = s;
    }
    let mut planner = Planner::new(net, manifest, pc)?;
    let assets = g1_sim::default_assets_dir();
    let mut sim = Sim::new(&assets, cfg.clone()).context("building the simulator")?;
    let init = g1_control::drive::standing_start(&mut sim);
    sim.reset(&init, a.seed)?;
    if let Some(dir) = &a.handover_expert {
        let cmd: Vec<f64> = a
            .handover_command
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .context("--handover-command")?;
        if cmd.len() != 3 {
            bail!("--handover-command needs vx,vy,wz");
        }
        let mut expert = g1_expert::Expert::load(dir, None)?;
        expert.reset(&g1_data::rollout::robot_state(&sim))?;
        for _ in 0..(a.handover_s / sim.control_dt_s()).round() as usize {
            let act = expert.step(
                &g1_data::rollout::robot_state(&sim),
                [cmd[0], cmd[1], cmd[2]],
            )?;
            sim.set_command(&g1_sim::MotorCommand::with_gains(
                act.q_target,
                act.kp,
                act.kd,
            ));
            sim.step_control();
        }
    }
    let steps = (a.seconds / sim.control_dt_s()).round() as u64;
    let clock = std::time::Instant::now();
    let out = g1_control::drive(
        &mut sim,
        &mut planner,
        &|_| task.clone(),
        &cc,
        steps,
        |_, _| {},
    )?;
    let wall = clock.elapsed().as_secs_f64();
    let lat = &out.plan_latency_ms;
    let summary = serde_json::json!({
        "task": task,
        "backend": planner.backend(),
        "seconds": out.steps as f64 * sim.control_dt_s(),
        "fell": out.fell,
        "fall_time_s": out.fall_time_s,
        "final_xy": out.final_xy,
        "goal_error_m": match task { Task::Waypoint { goal } => Some(((out.final_xy[0]-goal[0]).powi(2) + (out.final_xy[1]-goal[1]).powi(2)).sqrt()), _ => None },
        "obstacle_contact_steps": out.obstacle_contact_steps,
        "plans": out.plans,
        "plan_latency_ms_p50": percentile(lat, 0.5),
        "plan_latency_ms_p99": percentile(lat, 0.99),
        "denoiser_calls_mean": out.denoiser_calls.iter().sum::<usize>() as f64 / out.denoiser_calls.len().max(1) as f64,
        "fresh_plan_share": out.fresh_plan_steps as f64 / out.steps.max(1) as f64,
        "hold_steps": out.hold_steps,
        "damping_steps": out.damping_steps,
        "wall_s": wall,
    });
    if let Some(p) = &a.png {
        let pts: Vec<[f64; 2]> = out.log.iter().map(|l| l.root_xy).collect();
        let mut xs: Vec<f64> = pts.iter().map(|p| p[0]).collect();
        let mut ys: Vec<f64> = pts.iter().map(|p| p[1]).collect();
        if let Task::Waypoint { goal } = task {
            xs.push(goal[0]);
            ys.push(goal[1]);
        }
        for o in &cfg.obstacles {
            let c = o.center_3d();
            xs.push(c[0]);
            ys.push(c[1]);
        }
        let (x0, x1) = (
            xs.iter().cloned().fold(f64::INFINITY, f64::min) - 1.0,
            xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max) + 1.0,
        );
        let (y0, y1) = (
            ys.iter().cloned().fold(f64::INFINITY, f64::min) - 1.0,
            ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max) + 1.0,
        );
        let mut c = g1_data::plot::Canvas::new(800, 600, x0, x1, y0, y1);
        for o in &cfg.obstacles {
            let ctr = o.center_3d();
            match o {
                Obstacle::Sphere { radius, .. } | Obstacle::Cylinder { radius, .. } => {
                    c.disc(ctr[0], ctr[1], *radius, [120, 120, 120])
                }
                Obstacle::Box {
                    half_extents, yaw, ..
                } => {
                    let (s, co) = yaw.sin_cos();
                    let n = 12;
                    for i in -n..=n {
                        for j in -n..=n {
                            let (u, v) = (
                                half_extents[0] * i as f64 / n as f64,
                                half_extents[1] * j as f64 / n as f64,
                            );
                            c.disc(
                                ctr[0] + co * u - s * v,
                                ctr[1] + s * u + co * v,
                                0.02,
                                [120, 120, 120],
                            );
                        }
                    }
                }
            }
        }
        c.path(&pts, g1_data::plot::palette(0));
        if let Task::Waypoint { goal } = task {
            c.disc(goal[0], goal[1], 0.3, [60, 170, 60]);
        }
        c.disc(pts[0][0], pts[0][1], 0.05, [0, 0, 0]);
        c.save_png(p)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("task          {:?} on {}", task, planner.backend());
        match out.fall_time_s {
            Some(t) => println!("outcome       FELL at {t:.2} s"),
            None => println!(
                "outcome       no fall in {:.1} s",
                out.steps as f64 * sim.control_dt_s()
            ),
        }
        println!(
            "final xy      [{:.2}, {:.2}] m",
            out.final_xy[0], out.final_xy[1]
        );
        if let Some(e) = summary["goal_error_m"].as_f64() {
            println!("goal error    {e:.2} m");
        }
        println!(
            "contacts      {} control steps touching an obstacle",
            out.obstacle_contact_steps
        );
        println!(
            "planning      {} plans, latency p50 {:.1} ms / p99 {:.1} ms, {:.1} denoiser calls each, {:.0}% of steps from a plan < 100 ms old",
            out.plans,
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            summary["denoiser_calls_mean"].as_f64().unwrap_or(0.0),
            100.0 * summary["fresh_plan_share"].as_f64().unwrap_or(0.0)
        );
        println!(
            "fallbacks     {} hold steps, {} damping steps; wall {wall:.1} s",
            out.hold_steps, out.damping_steps
        );
        if let Some(p) = &a.png {
            println!("picture       {}", p.display());
        }
    }
    Ok(())
}
