//! `g1d drive`: the simulated G1 under the diffusion controller, one episode, with a summary
//! and a top-view PNG.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use g1_control::{ControlConfig, Controller, Planner, PlannerConfig, Task};
use g1_sim::{PushConfig, Sim};

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
    #[arg(long, default_value = "0.5,0,0", allow_hyphen_values = true)]
    pub handover_command: String,
    /// Seconds of expert walking before the diffusion controller takes over.
    #[arg(long, default_value_t = 2.0)]
    pub handover_s: f64,
    /// Top-view PNG of the run.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Record the run as a rosbag2 (MCAP): `/joint_states`, `/sim/odom` (ground truth) and
    /// `/joint_targets` at 50 Hz. The directory must not exist.
    #[arg(long)]
    pub bag: Option<PathBuf>,
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

/// The run's recording: what a `g1_recorder` would have taken from the node suite.
struct RunBag {
    w: g1_bag::BagWriter,
    joints: g1_bag::Topic<g1_msgs::sensor_msgs::JointState>,
    odom: g1_bag::Topic<g1_msgs::nav_msgs::Odometry>,
    targets: g1_bag::Topic<g1_msgs::g1d::JointTargets>,
    names: Vec<String>,
}

impl RunBag {
    fn create(
        dir: &std::path::Path,
        run: std::collections::BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut w = g1_bag::BagWriter::create(
            dir,
            g1_bag::WriterOptions {
                run_metadata: run,
                ..Default::default()
            },
        )
        .with_context(|| format!("--bag {}", dir.display()))?;
        Ok(Self {
            joints: w.topic("/joint_states", g1_bag::Qos::Reliable)?,
            odom: w.topic("/sim/odom", g1_bag::Qos::Reliable)?,
            targets: w.topic("/joint_targets", g1_bag::Qos::Reliable)?,
            names: g1::JOINTS.iter().map(|j| j.model_name()).collect(),
            w,
        })
    }

    fn record(&mut self, sim: &Sim) -> Result<()> {
        use g1_msgs::std_msgs::Header;
        let gt = sim.ground_truth();
        let t_ns = (gt.time_s * 1e9).round() as u64;
        let stamp = g1_msgs::builtin_interfaces::Time::from_secs_f64(gt.time_s);
        let tau = sim.sensors().tau;
        self.w.write(
            &self.joints,
            t_ns,
            &g1_msgs::sensor_msgs::JointState {
                header: Header::new(stamp, "pelvis"),
                name: self.names.clone(),
                position: gt.q.to_vec(),
                velocity: gt.dq.to_vec(),
                effort: tau.to_vec(),
            },
        )?;
        // The simulator node's own conversion (REP-105: the twist in the child frame).
        self.w.write(
            &self.odom,
            t_ns,
            &g1_nodes::sim_node::odometry_of(&gt.root, gt.time_s),
        )?;
        let c = sim.command();
        self.w.write(
            &self.targets,
            t_ns,
            &g1_msgs::g1d::JointTargets {
                header: Header::new(stamp, "pelvis"),
                policy_id: "diffusion".into(),
                action: vec![],
                q_target: c.q.to_vec(),
                kp: c.kp.iter().map(|v| *v as f32).collect(),
                kd: c.kd.iter().map(|v| *v as f32).collect(),
            },
        )?;
        Ok(())
    }
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

/// The per-step log as CSV (empty fields where a step had no plan prediction or plan).
fn write_log(file: std::fs::File, log: &[g1_eval::StepLog]) -> Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(file);
    writeln!(
        w,
        "time_s,x_m,y_m,yaw_rad,vx_mps,vy_mps,surprise_mps,gate,pushes,mode,plan_age_steps"
    )?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for l in log {
        writeln!(
            w,
            "{:.3},{:.4},{:.4},{:.4},{:.4},{:.4},{},{:.3},{},{},{}",
            l.time_s,
            l.root_xy[0],
            l.root_xy[1],
            l.yaw,
            l.vel_heading[0],
            l.vel_heading[1],
            opt(l.surprise_mps.map(|v| format!("{v:.4}"))),
            l.gate,
            l.pushes,
            l.mode,
            opt(l.plan_age_steps.map(|v| v.to_string())),
        )?;
    }
    w.flush()?;
    Ok(())
}

fn percentile(v: &[f64], p: f64) -> f64 {
    g1_control::percentile(v, p).unwrap_or(f64::NAN)
}

pub fn cmd_drive(a: DriveArgs) -> Result<()> {
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
    let (manifest, net) = g1_diffusion_tch::open_backend(&a.model, a.backend, a.threads)?;
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
    if a.no_rolling {
        pc.rolling = false;
    }
    let cc: ControlConfig = match &a.control {
        Some(p) => serde_yaml::from_str(&read(p)?)
            .with_context(|| format!("{}: bad control settings", p.display()))?,
        None => node.control,
    };
    cc.check()?;
    if let Some(s) = a.guidance_scale {
        pc.guidance_scale = s;
    }
    if let Some(s) = a.max_guidance_step {
        pc.max_guidance_step = s;
    }
    let latency = g1_control::LatencyModel::parse(
        a.latency
            .as_deref()
            .unwrap_or(&crate::eval_cmd::default_latency_file()),
    )?;
    let mut ctl = Controller::new(Planner::new(net, manifest, pc)?, cc.clone(), latency)?;
    let assets = g1_sim::default_assets_dir();
    let mut sim = Sim::new(&assets, cfg.clone()).context("building the simulator")?;
    let init = g1_eval::standing_start(&mut sim);
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
    // Created before the run, so that a bad path fails at once, not after it.
    let log_file = a
        .log
        .as_ref()
        .map(|p| std::fs::File::create(p).with_context(|| format!("--log {}", p.display())))
        .transpose()?;
    let mut bag = match &a.bag {
        Some(dir) => {
            let mut run = std::collections::BTreeMap::new();
            run.insert("task".to_string(), serde_json::to_string(&task)?);
            run.insert("model".to_string(), a.model.display().to_string());
            run.insert("seed".to_string(), a.seed.to_string());
            Some(RunBag::create(dir, run)?)
        }
        None => None,
    };
    let mut bag_err: Option<anyhow::Error> = None;
    let every = (a.progress_s / sim.control_dt_s()).round() as u64;
    let clock = std::time::Instant::now();
    let out = g1_eval::drive(&mut sim, &mut ctl, &|_| task.clone(), steps, |k, sim, _| {
        if let Some(b) = bag.as_mut() {
            if bag_err.is_none() {
                bag_err = b.record(sim).err();
            }
        }
        if every > 0 && (k + 1) % every == 0 {
            let gt = sim.ground_truth();
            let (x, y) = (gt.root.pos_w.x, gt.root.pos_w.y);
            let to_goal = match &task {
                Task::Waypoint { goal } => {
                    format!(
                        ", {:.2} m to the goal",
                        ((goal[0] - x).powi(2) + (goal[1] - y).powi(2)).sqrt()
                    )
                }
                _ => String::new(),
            };
            eprintln!(
                "  t {:5.1} s  at [{x:5.2}, {y:5.2}] m, pelvis {:.2} m high{to_goal}",
                gt.time_s, gt.root.pos_w.z
            );
        }
    })?;
    if let Some(e) = bag_err {
        return Err(e.context("recording the run"));
    }
    let bag_dir = match bag {
        Some(b) => Some(b.w.finish()?),
        None => None,
    };
    let wall = clock.elapsed().as_secs_f64();
    let lat = &out.plan_latency_ms;
    let summary = serde_json::json!({
        "task": task,
        "backend": ctl.planner.backend(),
        "latency": ctl.latency.describe(),
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
    if let (Some(p), Some(f)) = (&a.log, log_file) {
        write_log(f, &out.log).with_context(|| format!("writing {}", p.display()))?;
    }
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
        crate::top_view::obstacles(&mut c, &cfg.obstacles, [120, 120, 120]);
        if let Task::Waypoint { goal } = task {
            crate::top_view::route(&mut c, goal, &cfg.obstacles, pts[0], &cc);
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
        println!("task          {:?} on {}", task, ctl.planner.backend());
        println!("latency       {}", ctl.latency.describe());
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
        if let Some(p) = &a.log {
            println!("log           {}", p.display());
        }
        if let Some(d) = &bag_dir {
            println!("bag           {}", d.display());
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Model directory (default: the shipped model, assets/models/default).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory: `top_view.png`, `log.csv` and the rosbag2 `bag/`.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Replace the outputs of a previous run in `--out` (refused otherwise; `make demo` passes
    /// it).
    #[arg(long)]
    pub force: bool,
}

/// `g1d demo`: the main job — the simulated G1 under the diffusion controller (shipped model)
/// walks to the waypoint [4, 0] m through the obstacle course of `config/scene_forest.yaml`
/// (eval scenario `forest_a`), with progress lines, the outcome, a bag and a top-view PNG.
pub fn cmd_demo(a: DemoArgs) -> Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = a
        .model
        .unwrap_or_else(|| g1_sim::default_assets_dir().join("models/default"));
    let outputs = ["bag", "top_view.png", "log.csv"].map(|f| a.out.join(f));
    let existing: Vec<String> = outputs
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !a.force {
        anyhow::bail!(
            "{} exist from an earlier run; pass --force to replace them (or --out another folder)",
            existing.join(", ")
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let bag = a.out.join("bag");
    if bag.exists() {
        std::fs::remove_dir_all(&bag)
            .with_context(|| format!("replacing the previous demo bag {}", bag.display()))?;
    }
    eprintln!(
        "g1d demo: the diffusion controller ({}) walks the simulated G1 to [4, 0] m around 3 obstacles, {} s",
        model.display(),
        a.seconds
    );
    cmd_drive(DriveArgs {
        model,
        goal: Some([4.0, 0.0]),
        joystick: None,
        seconds: a.seconds,
        seed: a.seed,
        sim_config: Some(repo.join("config/scene_forest.yaml")),
        pushes: false,
        backend: g1_diffusion::BackendKind::OrtCpu,
        threads: 1,
        guidance_scale: None,
        max_guidance_step: None,
        params: None,
        latency: None,
        planner: None,
        control: None,
        no_rolling: false,
        handover_expert: None,
        handover_command: "0.5,0,0".into(),
        handover_s: 2.0,
        png: Some(a.out.join("top_view.png")),
        log: Some(a.out.join("log.csv")),
        bag: Some(bag),
        progress_s: 1.0,
        json: false,
    })
}
