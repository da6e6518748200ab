//! `g1d train`, `g1d export`, `g1d plan-check`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use g1_diffusion::checkpoint::CheckpointMeta;
use g1_diffusion::manifest::{Manifest, MODEL_FORMAT, MODEL_VERSION, ONNX_FILE, WEIGHTS_FILE};
use g1_diffusion::{
    Checkpoint, Denoiser, ModelConfig, OrtDenoiser, OrtDevice, Schedule, Sequence, STEPS,
};
use g1_diffusion_tch::train::{TrainOptions, CHECKPOINT_FILE};
use g1_diffusion_tch::TchDenoiser;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Dataset file from `g1d dataset build`.
    #[arg(long)]
    data: PathBuf,
    /// Model size: tiny (tests), small (the CPU default) or paper (≈20 M parameters).
    #[arg(long, default_value = "small")]
    config: String,
    /// Output directory (checkpoint, CSV log, loss PNG, summary).
    #[arg(long)]
    out: PathBuf,
    /// Optimiser steps (default: the configuration's).
    #[arg(long)]
    steps: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Continue from OUT/checkpoint.safetensors.
    #[arg(long)]
    resume: bool,
    /// Start over in an OUT that already holds a training run (its files are replaced).
    #[arg(long)]
    force: bool,
    /// Training options as YAML (keys of TrainOptions: batch, lr, warmup, weight_decay,
    /// ema_decay, grad_clip, mirror_prob, val_fraction, …); flags override it.
    #[arg(long)]
    options: Option<PathBuf>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// CPU threads for libtorch (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Fine-tune: start from this checkpoint's EMA weights and normalisation statistics.
    #[arg(long, value_name = "CHECKPOINT")]
    init_from: Option<PathBuf>,
    /// Stop (with a checkpoint) after this many steps, as if interrupted; `--resume` continues.
    #[arg(long)]
    stop_after: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn cmd_train(a: TrainArgs) -> Result<()> {
    let config = ModelConfig::named(&a.config)?;
    let mut opts = TrainOptions::defaults(&a.config)?;
    if let Some(p) = &a.options {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let mut v = serde_json::to_value(&opts)?;
        let over: serde_json::Value =
            serde_yaml::from_str(&text).with_context(|| format!("{}: not YAML", p.display()))?;
        let obj = over
            .as_object()
            .with_context(|| format!("{}: expected a mapping of options", p.display()))?;
        for (k, val) in obj {
            if v.get(k).is_none() {
                bail!("{}: unknown training option `{k}`", p.display());
            }
            v[k] = val.clone();
        }
        opts = serde_json::from_value(v)
            .with_context(|| format!("{}: bad option value", p.display()))?;
    }
    if let Some(s) = a.steps {
        opts.steps = s;
    }
    if let Some(b) = a.batch {
        opts.batch = b;
    }
    if let Some(l) = a.lr {
        opts.lr = l;
    }
    if let Some(s) = a.seed {
        opts.seed = s;
    }
    if let Some(t) = a.threads {
        opts.threads = t;
    }
    if let Some(p) = a.init_from {
        opts.init_from = Some(p);
    }
    if a.out.join(CHECKPOINT_FILE).exists() && !a.resume && !a.force {
        bail!(
            "{} already holds a training run ({CHECKPOINT_FILE}): --resume continues it, --force starts over",
            a.out.display()
        );
    }
    let device = g1_diffusion_tch::device(&a.device)?;
    if !a.json {
        eprintln!(
            "training {} ({} parameters) on {} for {} steps, batch {}, {} threads → {}",
            config.name,
            config.num_params(),
            a.data.display(),
            opts.steps,
            opts.batch,
            opts.threads,
            a.out.display()
        );
    }
    let rev = g1_data::collect::git_revision(&repo_dir());
    let s = g1_diffusion_tch::train(
        &a.data,
        &config,
        &opts,
        &a.out,
        device,
        a.resume,
        a.stop_after,
        &rev,
        !a.json,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!(
            "trained {} to step {} in {:.0} s ({:.2} steps/s, {})",
            s.config, s.steps, s.wall_s, s.steps_per_s, s.device
        );
        println!(
            "validation x0-MSE {:.4} → {:.4} ({:.1}× lower); {} train / {} validation windows",
            s.initial_val_loss, s.final_val_loss, s.val_loss_ratio, s.train_windows, s.val_windows
        );
        println!("checkpoint {}", s.checkpoint.display());
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Training directory (uses its checkpoint.safetensors) or a checkpoint file.
    source: PathBuf,
    /// Model directory to write (denoiser.onnx + manifest.json).
    #[arg(long)]
    out: PathBuf,
    /// Export the raw (non-EMA) weights.
    #[arg(long)]
    no_ema: bool,
    /// Replace a model that OUT already holds.
    #[arg(long)]
    force: bool,
}

/// Writes `out/denoiser.onnx` and `out/manifest.json` from a checkpoint.
pub fn export_checkpoint(ck: &Checkpoint, out: &Path, ema: bool) -> Result<Manifest> {
    let w = ck.weights(if ema { "ema" } else { "model" });
    let cfg = &ck.meta.config;
    let rev = ck.meta.code_revision.clone();
    let meta = vec![
        ("g1d.config".to_string(), serde_json::to_string(cfg)?),
        ("g1d.trained_steps".to_string(), ck.meta.step.to_string()),
        (
            "g1d.training_data_sha256".to_string(),
            ck.meta.data.sha256.clone(),
        ),
        ("g1d.code_revision".to_string(), rev.clone()),
    ];
    let bytes = g1_diffusion::onnx::export(cfg, &w, &meta)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let onnx = out.join(ONNX_FILE);
    let tmp = out.join(format!("{ONNX_FILE}.tmp"));
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &onnx)?;
    let weights = out.join(WEIGHTS_FILE);
    Checkpoint {
        meta: CheckpointMeta {
            train: serde_json::Value::Null,
            ..ck.meta.clone()
        },
        tensors: w
            .iter()
            .map(|(k, v)| (format!("model.{k}"), v.clone()))
            .collect(),
    }
    .save(&weights)?;
    let m = Manifest {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        onnx: ONNX_FILE.into(),
        onnx_sha256: g1_diffusion::manifest::sha256_file(&onnx)?,
        weights: WEIGHTS_FILE.into(),
        weights_sha256: g1_diffusion::manifest::sha256_file(&weights)?,
        inputs: g1_diffusion::onnx::INPUTS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        outputs: g1_diffusion::onnx::OUTPUTS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        config: cfg.clone(),
        parameters: cfg.num_params(),
        state_dim: cfg.state_dim,
        action_dim: cfg.action_dim,
        history: cfg.history,
        horizon: cfg.horizon,
        control_hz: 50.0,
        state_layout_version: ck.meta.data.state_layout_version,
        state_names: g1::bodypos::layout::names(),
        joint_names: g1::JOINTS.iter().map(|j| j.name.to_string()).collect(),
        action_offset: ck.meta.data.action_offset.clone(),
        action_scale: ck.meta.data.action_scale.clone(),
        stats: ck.meta.stats.clone(),
        schedule: Schedule::cosine(cfg.k_steps),
        training_data: ck.meta.data.clone(),
        trained_steps: ck.meta.step,
        code_revision: rev,
    };
    m.check()
        .context("the exported model does not fit this robot")?;
    m.save(out)?;
    Ok(m)
}

pub fn cmd_export(a: ExportArgs) -> Result<()> {
    let ck_path = if a.source.is_dir() {
        a.source.join(CHECKPOINT_FILE)
    } else {
        a.source.clone()
    };
    if a.out.join(g1_diffusion::manifest::MANIFEST_FILE).exists() && !a.force {
        bail!(
            "{} already holds a model: --force replaces it",
            a.out.display()
        );
    }
    let ck = Checkpoint::load(&ck_path)?;
    let m = export_checkpoint(&ck, &a.out, !a.no_ema)?;
    println!(
        "exported {} ({} parameters, step {}) → {}/{} + manifest.json",
        m.config.name,
        m.parameters,
        m.trained_steps,
        a.out.display(),
        m.onnx
    );
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// Check an exported model: manifest against this robot, ONNX Runtime against libtorch on
    /// random and real inputs (fails above --tolerance).
    Check(CheckArgs),
    /// Unguided plans from held-out recorded histories against the recorded futures, with a
    /// constant-velocity extrapolation baseline.
    Plans(PlansArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Model directory (manifest.json + denoiser.onnx).
    model: PathBuf,
    /// Training checkpoint (or directory) whose EMA weights libtorch runs (default: the model
    /// directory's weights.safetensors).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Dataset for real inputs (windows noised as in training).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f64,
    /// Write the inputs and both backends' outputs as raw little-endian files (for
    /// scripts/check_onnx_python.py).
    #[arg(long)]
    dump: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn write_raw<T: Copy>(path: &Path, v: &[T], to_bytes: impl Fn(T) -> Vec<u8>) -> Result<()> {
    let bytes: Vec<u8> = v.iter().flat_map(|x| to_bytes(*x)).collect();
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Normalised clean windows of `ws` as a batch, plus the window indices used.
fn real_sequence(
    ds: &g1_data::dataset::Dataset,
    ws: &[usize],
    stats: &g1_diffusion::Stats,
) -> Result<Sequence> {
    let (sd, ad) = (g1::STATE_DIM, g1::NUM_JOINTS);
    let mut seq = Sequence::zeros(ws.len(), sd, ad);
    for (b, &w) in ws.iter().enumerate() {
        let (s, a) = ds.window(w)?;
        for i in 0..STEPS {
            let r = b * STEPS + i;
            stats.norm_state(&s[i], &mut seq.states[r * sd..(r + 1) * sd]);
            stats.norm_action(&a[i], &mut seq.actions[r * ad..(r + 1) * ad]);
        }
    }
    Ok(seq)
}

pub fn cmd_check(a: CheckArgs) -> Result<()> {
    let (m, onnx) = Manifest::load(&a.model)?;
    let (ck_path, prefix) = match &a.checkpoint {
        Some(p) if p.is_dir() => (p.join(CHECKPOINT_FILE), "ema"),
        Some(p) => (p.clone(), "ema"),
        None => (m.weights_path(&a.model), "model"),
    };
    let ck = Checkpoint::load(&ck_path)?;
    if ck.meta.config != m.config {
        bail!(
            "checkpoint {} is configuration {}, the model {}",
            ck_path.display(),
            ck.meta.config.name,
            m.config.name
        );
    }
    let mut ort = OrtDenoiser::load(&onnx, OrtDevice::Cpu, 1, m.state_dim, m.action_dim)?;
    let mut torch = TchDenoiser::from_weights(&m.config, &ck.weights(prefix), tch::Device::Cpu)?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Random inputs at random levels.
    let rand_seq = Sequence::random(
        4,
        m.state_dim,
        m.action_dim,
        m.config.k_steps as i64,
        &mut rng,
    );
    let pr_o = ort.denoise(&rand_seq)?;
    let pr_t = torch.denoise(&rand_seq)?;
    let d_rand = pr_o.max_abs_diff(&pr_t) as f64;
    // Real windows: clean history, planned tokens noised to random levels.
    let mut d_real = None;
    let mut real = None;
    if let Some(data) = &a.data {
        let ds = g1_data::dataset::Dataset::open(data)?;
        let n = ds.num_windows();
        let ws: Vec<usize> = (0..8).map(|_| rng.gen_range(0..n)).collect();
        let mut seq = real_sequence(&ds, &ws, &m.stats)?;
        let sched = Schedule::cosine(m.config.k_steps);
        let clean = seq.clone();
        g1_diffusion::sampler::noise_future(&mut seq, &sched, m.history, &mut rng);
        for b in 0..seq.batch {
            let k = rng.gen_range(1..=m.config.k_steps);
            let (c0, cn) = sched.forward_coefs(k);
            for i in m.history + 1..STEPS {
                let r = b * STEPS + i;
                seq.k_states[r] = k as i64;
                for d in r * m.state_dim..(r + 1) * m.state_dim {
                    seq.states[d] =
                        (c0 * clean.states[d] as f64 + cn * seq.states[d] as f64) as f32;
                }
            }
            for i in m.history..STEPS {
                let r = b * STEPS + i;
                seq.k_actions[r] = k as i64;
                for d in r * m.action_dim..(r + 1) * m.action_dim {
                    seq.actions[d] =
                        (c0 * clean.actions[d] as f64 + cn * seq.actions[d] as f64) as f32;
                }
            }
        }
        let po = ort.denoise(&seq)?;
        let pt = torch.denoise(&seq)?;
        d_real = Some(po.max_abs_diff(&pt) as f64);
        real = Some((seq, po, pt));
    }
    if let Some(dir) = &a.dump {
        std::fs::create_dir_all(dir)?;
        let (seq, po, pt) = real
            .as_ref()
            .map_or((&rand_seq, &pr_o, &pr_t), |(s, o, t)| (s, o, t));
        let f = |x: f32| x.to_le_bytes().to_vec();
        write_raw(&dir.join("states.f32"), &seq.states, f)?;
        write_raw(&dir.join("actions.f32"), &seq.actions, f)?;
        write_raw(&dir.join("k_states.i64"), &seq.k_states, |x: i64| {
            x.to_le_bytes().to_vec()
        })?;
        write_raw(&dir.join("k_actions.i64"), &seq.k_actions, |x: i64| {
            x.to_le_bytes().to_vec()
        })?;
        write_raw(&dir.join("ort_states_x0.f32"), &po.states, f)?;
        write_raw(&dir.join("ort_actions_x0.f32"), &po.actions, f)?;
        write_raw(&dir.join("torch_states_x0.f32"), &pt.states, f)?;
        write_raw(&dir.join("torch_actions_x0.f32"), &pt.actions, f)?;
        let shapes = serde_json::json!({
            "batch": seq.batch, "steps": STEPS, "state_dim": seq.state_dim, "action_dim": seq.action_dim,
            "onnx": onnx.canonicalize()?.display().to_string(),
        });
        std::fs::write(dir.join("shapes.json"), shapes.to_string())?;
    }
    let worst = d_rand.max(d_real.unwrap_or(0.0));
    let report = serde_json::json!({
        "model": a.model.display().to_string(),
        "config": m.config.name,
        "manifest_ok": true,
        "max_abs_diff_random": d_rand,
        "max_abs_diff_real": d_real,
        "tolerance": a.tolerance,
        "ok": worst <= a.tolerance,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "manifest      ok ({} , layout v{}, {} joints)",
            m.config.name,
            m.state_layout_version,
            m.joint_names.len()
        );
        println!("ORT vs torch  max |Δ| {d_rand:.2e} on random inputs");
        if let Some(d) = d_real {
            println!("ORT vs torch  max |Δ| {d:.2e} on real windows");
        }
    }
    if worst > a.tolerance {
        bail!(
            "ONNX Runtime and libtorch differ by {worst:.3e} (> {:.1e})",
            a.tolerance
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct PlansArgs {
    /// Model directory (manifest.json + denoiser.onnx).
    model: PathBuf,
    /// The dataset the model was trained on (its held-out episodes are used).
    #[arg(long)]
    data: PathBuf,
    /// Held-out windows to plan from.
    #[arg(long, default_value_t = 200)]
    windows: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Inference backend: ort-cpu, ort-cuda, ort-tensorrt, torch-cpu, torch-cuda.
    #[arg(long, default_value = "ort-cpu")]
    backend: g1_diffusion::BackendKind,
    /// Intra-op threads of the backend.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct PlansReport {
    model: String,
    backend: String,
    windows: usize,
    horizon_steps: usize,
    model_root_error_m: Stat,
    constant_velocity_root_error_m: Stat,
    model_over_baseline: f64,
    model_first_action_rmse: f64,
    hold_action_rmse: f64,
    plans_per_s: f64,
}

#[derive(serde::Serialize)]
struct Stat {
    mean: f64,
    median: f64,
    p90: f64,
}

fn stat(v: &mut [f64]) -> Stat {
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Stat {
        mean: v.iter().sum::<f64>() / v.len() as f64,
        median: q(0.5),
        p90: q(0.9),
    }
}

pub fn cmd_plans(a: PlansArgs) -> Result<()> {
    let (m, mut net) = g1_diffusion_tch::open_backend(&a.model, a.backend, a.threads)?;
    if a.windows == 0 {
        bail!("--windows must be at least 1");
    }
    let ds = g1_data::dataset::Dataset::open(&a.data)?;
    let windows = ds.i64s("windows")?;
    let offsets = ds.i64s("episode_offsets")?;
    let ids = ds.i64s("episode_ids")?;
    let held_out = &m.training_data.val_episode_ids;
    let mut cand: Vec<usize> = (0..windows.len())
        .filter(|&w| {
            let e = offsets.partition_point(|&o| o <= windows[w]) - 1;
            held_out.contains(&ids[e])
        })
        .collect();
    if cand.is_empty() {
        bail!(
            "{}: none of the model's held-out episodes ({} ids) are in this dataset",
            a.data.display(),
            held_out.len()
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    cand.shuffle(&mut rng);
    cand.truncate(a.windows);
    let sched = Schedule::cosine(m.config.k_steps);
    let (sd, ad, h) = (m.state_dim, m.action_dim, m.history);
    let dt = 1.0 / m.control_hz;
    let last = STEPS - 1;
    let (mut e_model, mut e_cv, mut a_model, mut a_hold) = (vec![], vec![], 0.0, 0.0);
    let clock = std::time::Instant::now();
    for chunk in cand.chunks(50) {
        let truth = real_sequence(&ds, chunk, &m.stats)?;
        let mut seq = truth.clone();
        g1_diffusion::sampler::sample(net.as_mut(), &sched, &mut seq, h, &mut rng)?;
        for b in 0..chunk.len() {
            let phys = |x: &[f32]| -> Vec<f32> {
                let mut o = vec![0.0; sd];
                m.stats.denorm_state(x, &mut o);
                o
            };
            let pred = phys(seq.state(b, last));
            let rec = phys(truth.state(b, last));
            let now = phys(truth.state(b, h));
            let horizon_s = (last - h) as f64 * dt;
            let cv = [
                now[0] as f64 + now[6] as f64 * horizon_s,
                now[1] as f64 + now[7] as f64 * horizon_s,
            ];
            let err =
                |x: f64, y: f64| ((x - rec[0] as f64).powi(2) + (y - rec[1] as f64).powi(2)).sqrt();
            e_model.push(err(pred[0] as f64, pred[1] as f64));
            e_cv.push(err(cv[0], cv[1]));
            // First planned action a_t against the recorded one, and against holding a_{t−1}.
            let mut pa = vec![0.0; ad];
            let mut ra = vec![0.0; ad];
            let mut prev = vec![0.0; ad];
            m.stats.denorm_action(seq.action(b, h), &mut pa);
            m.stats.denorm_action(truth.action(b, h), &mut ra);
            m.stats.denorm_action(truth.action(b, h - 1), &mut prev);
            for j in 0..ad {
                let s = m.action_scale[j];
                a_model += ((pa[j] - ra[j]) as f64 * s).powi(2);
                a_hold += ((prev[j] - ra[j]) as f64 * s).powi(2);
            }
        }
    }
    let n = e_model.len();
    let wall = clock.elapsed().as_secs_f64();
    let mm = e_model.iter().sum::<f64>() / n as f64;
    let mc = e_cv.iter().sum::<f64>() / n as f64;
    let r = PlansReport {
        model: a.model.display().to_string(),
        backend: net.backend(),
        windows: n,
        horizon_steps: last - h,
        model_root_error_m: stat(&mut e_model),
        constant_velocity_root_error_m: stat(&mut e_cv),
        model_over_baseline: mm / mc,
        model_first_action_rmse: (a_model / (n * ad) as f64).sqrt(),
        hold_action_rmse: (a_hold / (n * ad) as f64).sqrt(),
        plans_per_s: n as f64 / wall,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} held-out windows, root position after {} steps ({:.2} s):",
            n,
            r.horizon_steps,
            r.horizon_steps as f64 * dt
        );
        println!(
            "  diffusion plan          mean {:.3} m  median {:.3} m  p90 {:.3} m",
            r.model_root_error_m.mean, r.model_root_error_m.median, r.model_root_error_m.p90
        );
        println!(
            "  constant velocity       mean {:.3} m  median {:.3} m  p90 {:.3} m",
            r.constant_velocity_root_error_m.mean,
            r.constant_velocity_root_error_m.median,
            r.constant_velocity_root_error_m.p90
        );
        println!("  model / baseline        {:.2}", r.model_over_baseline);
        println!(
            "first action (q target)   RMSE {:.3} rad (holding the last action: {:.3} rad)",
            r.model_first_action_rmse, r.hold_action_rmse
        );
    }
    Ok(())
}
