//! `g1d train`, `g1d export`, `g1d plan-check`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use g1_diffusion::manifest::{Manifest, MODEL_FORMAT, MODEL_VERSION, ONNX_FILE};
use g1_diffusion::{Checkpoint, ModelConfig, Schedule};
use g1_diffusion_tch::train::{TrainOptions, CHECKPOINT_FILE};

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
        &a.data, &config, &opts, &a.out, device, a.resume, &rev, !a.json,
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
}

fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
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
    let m = Manifest {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        onnx: ONNX_FILE.into(),
        onnx_sha256: sha256_file(&onnx)?,
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
