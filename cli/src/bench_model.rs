//! `g1d bench model`: batch-1 latency of one denoiser call and of a full unguided 20-step plan,
//! ONNX Runtime against libtorch, for each model size, in one command; with `--shipped`, also
//! the shipped model's plans as the planner node makes them. Each (size, backend) runs in its
//! own child process so its peak memory (VmHWM) is its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use g1_diffusion::{Checkpoint, Denoiser, ModelConfig, OrtDenoiser, OrtDevice, Schedule, Sequence};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[derive(clap::Args)]
pub struct BenchModelArgs {
    /// Model sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "tiny,small,paper")]
    pub configs: Vec<g1_diffusion::ModelSize>,
    /// Denoiser calls measured per (size, backend).
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// Full plans measured per (size, backend).
    #[arg(long, default_value_t = 20)]
    pub plans: usize,
    /// Intra-op threads of both backends.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Backends: ort (ONNX Runtime CPU), torch (libtorch CPU), torch-cuda.
    #[arg(long, value_delimiter = ',', default_value = "ort,torch")]
    pub backends: Vec<String>,
    /// Also measure each (size, backend) symmetrised (`planner.symmetric`: every call a batch
    /// of two, the sequence and its mirror image), beside the plain network.
    #[arg(long)]
    pub symmetric: bool,
    /// Also measure the shipped model (`model` of the parameter file) as the planner node plans
    /// with it: the parameter file's planner settings (rolling plans, calls per plan, the
    /// joystick profile) on ONNX Runtime, one plan per control step, each guided by the task's
    /// costs (built anew for every plan, as the node does) — a waypoint task among the
    /// obstacles of config/scene_forest.yaml and a joystick task. The plan latency budget of
    /// the 50 Hz loop is checked against these rows.
    #[arg(long)]
    pub shipped: bool,
    /// The parameter file for `--shipped` (default: config/g1.params.yaml, as the launch files).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Plans timed per shipped task (after 20 untimed ones).
    #[arg(long, default_value_t = 500)]
    pub shipped_plans: usize,
    #[arg(long)]
    pub json: bool,
    /// Internal: run one measurement (`config:backend:dir[:sym]`) and print it as JSON.
    #[arg(long, hide = true)]
    pub worker: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub config: String,
    pub parameters: usize,
    pub backend: String,
    pub threads: usize,
    /// One denoiser call (none for the shipped rows: their plans are the measure).
    pub call_ms_p50: Option<f64>,
    pub call_ms_p99: Option<f64>,
    pub plan_ms_p50: f64,
    pub plan_ms_p99: f64,
    pub denoiser_calls_per_plan: usize,
    pub peak_rss_mb: f64,
    pub load_s: f64,
}

fn percentile(v: &[f64], p: f64) -> f64 {
    g1_control::percentile(v, p).unwrap_or(f64::NAN)
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A random clean history (the planned tokens are noised by the sampler).
fn random_history(c: &ModelConfig, rng: &mut ChaCha8Rng) -> Sequence {
    Sequence::random(1, c.state_dim, c.action_dim, 0, rng)
}

/// The shipped model planning a `task` (`waypoint` or `joystick`) with the parameter file's
/// settings: 20 warm-up plans, then `a.shipped_plans` timed ones, one per control step, each
/// rolled from the one before, guidance built and applied as the planner node does.
fn shipped_worker(task: &str, a: &BenchModelArgs) -> Result<Row> {
    use g1_control::{build_guidance, Planner, Router, Task};
    let config = g1_sim::default_assets_dir().join("../config");
    let params = a
        .params
        .clone()
        .unwrap_or_else(|| config.join("g1.params.yaml"));
    let params = g1_nodes::deployed::ChainParams::from_file(&params)?;
    let node = &params.planner;
    let dir = g1_nodes::asset_path(&node.model);
    let t0 = Instant::now();
    let (manifest, net) = g1_diffusion::open_ort(&dir, OrtDevice::Cpu, a.threads)
        .with_context(|| format!("the parameter file's model, {}", dir.display()))?;
    let shapes: Vec<g1_guidance::Shape> =
        crate::load_sim_config(Some(&config.join("scene_forest.yaml")))?
            .obstacles
            .iter()
            .map(g1_eval::harness::to_shape)
            .collect();
    let (task, shapes) = match task {
        "waypoint" => (Task::Waypoint { goal: [4.0, 0.0] }, shapes),
        "joystick" => (
            Task::Joystick {
                velocity: [0.5, 0.0],
                yaw_rate: 0.0,
            },
            vec![],
        ),
        o => bail!("unknown shipped task `{o}`"),
    };
    let hist_s = vec![manifest.stats.state_mean.clone(); g1_diffusion::HISTORY + 1];
    let mut a_mean = [0.0; g1::NUM_JOINTS];
    a_mean.copy_from_slice(&manifest.stats.action_mean[..g1::NUM_JOINTS]);
    let hist_a = vec![a_mean; g1_diffusion::HISTORY];
    let dt = 1.0 / manifest.control_hz;
    let mut planner = Planner::new(Box::new(net), manifest, node.planner.clone())?;
    let load_s = t0.elapsed().as_secs_f64();
    planner.set_task(task.joystick_command());
    let frame = g1::bodypos::CharacterFrame::from_root(
        &g1::nalgebra::Vector3::zeros(),
        &g1::nalgebra::UnitQuaternion::identity(),
    );
    let mut router = Router::default();
    let mut previous: Option<g1_control::Plan> = None;
    const WARM_UP: u64 = 20;
    let (mut plans, mut calls) = (Vec::with_capacity(a.shipped_plans), 0);
    for step in 0..WARM_UP + a.shipped_plans as u64 {
        let t = Instant::now();
        let guidance = build_guidance(
            &task,
            &node.control,
            &shapes,
            &frame,
            &mut router,
            ([0.0; 2], 1.0, dt),
        );
        let plan = planner
            .plan(step, &hist_s, &hist_a, &guidance, previous.as_ref())
            .map_err(|e| anyhow::anyhow!("plan {step}: {e}"))?;
        if step >= WARM_UP {
            plans.push(t.elapsed().as_secs_f64() * 1e3);
            calls = calls.max(plan.denoiser_calls);
        }
        previous = Some(plan);
    }
    Ok(Row {
        config: format!("shipped, {} ({calls} calls a plan)", task.kind()),
        parameters: planner.manifest.parameters,
        backend: planner.backend(),
        threads: a.threads,
        call_ms_p50: None,
        call_ms_p99: None,
        plan_ms_p50: percentile(&plans, 0.5),
        plan_ms_p99: percentile(&plans, 0.99),
        denoiser_calls_per_plan: calls,
        peak_rss_mb: vm_hwm_mb(),
        load_s,
    })
}

fn worker(spec: &str, a: &BenchModelArgs) -> Result<Row> {
    if let Some(task) = spec.strip_prefix("shipped:") {
        return shipped_worker(task, a);
    }
    let (spec, symmetric) = match spec.strip_suffix(":sym") {
        Some(s) => (s, true),
        None => (spec, false),
    };
    let mut it = spec.splitn(3, ':');
    let (name, backend, dir) = (
        it.next().unwrap_or(""),
        it.next().unwrap_or(""),
        PathBuf::from(it.next().unwrap_or(".")),
    );
    let c = ModelConfig::named(name)?;
    let t0 = Instant::now();
    let mut net: Box<dyn Denoiser> = match backend {
        "ort" => Box::new(OrtDenoiser::load(
            &dir.join(format!("{name}.onnx")),
            OrtDevice::Cpu,
            a.threads,
            c.state_dim,
            c.action_dim,
        )?),
        "torch" | "torch-cuda" => {
            let ck = Checkpoint::load(&dir.join(format!("{name}.safetensors")))?;
            crate::torch::weights_denoiser(
                &c,
                &ck.weights("model"),
                backend == "torch-cuda",
                a.threads,
            )?
        }
        o => bail!("unknown backend `{o}` (ort, torch, torch-cuda)"),
    };
    if symmetric {
        // Unit statistics: the mirror's cost does not depend on their values.
        let unit = |n: usize, v: f64| vec![v; n];
        let stats = g1_diffusion::Stats {
            state_mean: unit(c.state_dim, 0.0),
            state_std: unit(c.state_dim, 1.0),
            action_mean: unit(c.action_dim, 0.0),
            action_std: unit(c.action_dim, 1.0),
        };
        net = Box::new(g1_control::Symmetrised::new(
            net,
            g1::StateLayout::BodyPos,
            &stats,
        )?);
    }
    let load_s = t0.elapsed().as_secs_f64();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let sched = Schedule::cosine(c.k_steps);
    let mut seq = random_history(&c, &mut rng);
    g1_diffusion::sampler::noise_future(&mut seq, &sched, c.history, &mut rng);
    for _ in 0..5 {
        net.denoise(&seq)?;
    }
    let mut calls = Vec::with_capacity(a.calls);
    for _ in 0..a.calls.max(1) {
        let t = Instant::now();
        std::hint::black_box(net.denoise(&seq)?);
        calls.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut plans = Vec::with_capacity(a.plans);
    let mut n_calls = 0;
    for _ in 0..a.plans.max(1) {
        let mut s = random_history(&c, &mut rng);
        let t = Instant::now();
        n_calls = g1_diffusion::sampler::sample(net.as_mut(), &sched, &mut s, c.history, &mut rng)?;
        plans.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(Row {
        config: name.into(),
        parameters: c.num_params(),
        backend: net.backend(),
        threads: a.threads,
        call_ms_p50: Some(percentile(&calls, 0.5)),
        call_ms_p99: Some(percentile(&calls, 0.99)),
        plan_ms_p50: percentile(&plans, 0.5),
        plan_ms_p99: percentile(&plans, 0.99),
        denoiser_calls_per_plan: n_calls,
        peak_rss_mb: vm_hwm_mb(),
        load_s,
    })
}

/// Writes random-weight models of `name` for both backends into `dir`.
fn prepare(name: &str, dir: &Path) -> Result<()> {
    let c = ModelConfig::named(name)?;
    let ck = Checkpoint::random(
        &c,
        11,
        g1::StateLayout::BodyPos,
        "random weights (benchmark)",
    );
    std::fs::write(
        dir.join(format!("{name}.onnx")),
        g1_diffusion::onnx::export(&c, &ck.weights("model"), &[])?,
    )?;
    ck.save(&dir.join(format!("{name}.safetensors")))
}

pub fn bench_model(a: BenchModelArgs) -> Result<()> {
    if let Some(spec) = &a.worker {
        let row = worker(spec, &a)?;
        println!("{}", serde_json::to_string(&row)?);
        return Ok(());
    }
    if a.threads == 0 || a.calls == 0 || a.plans == 0 || a.shipped_plans == 0 {
        bail!("--threads, --calls, --plans and --shipped-plans must be positive");
    }
    let dir = std::env::temp_dir().join(format!("g1d_bench_model_{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let exe = std::env::current_exe()?;
    // One measurement in its own process: `spec` as `--worker` takes it.
    let measure = |spec: String, what: &str| -> Result<Row> {
        let mut cmd = Command::new(&exe);
        cmd.args(["bench", "model", "--calls", &a.calls.to_string()])
            .args(["--plans", &a.plans.to_string()])
            .args(["--shipped-plans", &a.shipped_plans.to_string()])
            .args(["--threads", &a.threads.to_string()]);
        if let Some(p) = &a.params {
            cmd.arg("--params").arg(p);
        }
        let out = cmd
            .arg("--worker")
            .arg(spec)
            .output()
            .context("running the benchmark worker")?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let err = err.trim();
            bail!("{what}: {}", err.strip_prefix("error: ").unwrap_or(err));
        }
        serde_json::from_slice::<Row>(&out.stdout).context("worker output")
    };
    let mut rows = vec![];
    for name in a.configs.iter().map(|c| c.name()) {
        prepare(name, &dir)?;
        let variants: &[&str] = if a.symmetric { &["", ":sym"] } else { &[""] };
        for (backend, variant) in a
            .backends
            .iter()
            .flat_map(|b| variants.iter().map(move |v| (b, *v)))
        {
            if !a.json {
                eprintln!(
                    "measuring {name} on {backend}{variant} ({} calls, {} plans, {} threads)…",
                    a.calls, a.plans, a.threads
                );
            }
            let spec = format!("{name}:{backend}:{}{variant}", dir.display());
            rows.push(measure(spec, &format!("{name} on {backend}"))?);
        }
    }
    if a.shipped {
        for task in ["waypoint", "joystick"] {
            if !a.json {
                eprintln!(
                    "measuring the shipped model's {task} plans ({} plans, {} threads)…",
                    a.shipped_plans, a.threads
                );
            }
            rows.push(measure(
                format!("shipped:{task}"),
                &format!("shipped, {task}"),
            )?);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    let command = format!(
        "g1d bench model --configs {} --backends {} --threads {} --calls {} --plans {}{}",
        a.configs
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(","),
        a.backends.join(","),
        a.threads,
        a.calls,
        a.plans,
        if a.symmetric { " --symmetric" } else { "" }
    ) + &if a.shipped {
        format!(" --shipped --shipped-plans {}", a.shipped_plans)
    } else {
        String::new()
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "command": command, "rows": rows }))?
        );
        return Ok(());
    }
    println!("`{command}`\n");
    println!("| config | parameters | backend | threads | call p50 (ms) | call p99 (ms) | plan p50 (ms) | plan p99 (ms) | peak RSS (MB) | plan p50 vs ORT |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let base = rows
            .iter()
            .find(|o| o.config == r.config && o.backend == "onnxruntime-cpu");
        let ratio = base.map_or("—".to_string(), |b| {
            format!("{:.2}×", r.plan_ms_p50 / b.plan_ms_p50)
        });
        let call = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
        println!(
            "| {} | {:.2} M | {} | {} | {} | {} | {:.2} | {:.2} | {:.0} | {} |",
            r.config,
            r.parameters as f64 / 1e6,
            r.backend,
            r.threads,
            call(r.call_ms_p50),
            call(r.call_ms_p99),
            r.plan_ms_p50,
            r.plan_ms_p99,
            r.peak_rss_mb,
            ratio
        );
    }
    Ok(())
}
