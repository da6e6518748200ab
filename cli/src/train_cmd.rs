//! `g1d train` (libtorch) and `g1d export` (ONNX + manifest, written in Rust).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use g1_diffusion::{Checkpoint, ModelConfig};
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
    config: g1_diffusion::ModelSize,
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
    let config = ModelConfig::of(a.config);
    let mut opts = TrainOptions::defaults(a.config);
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
    let m = g1_diffusion::export::export_checkpoint(&ck, &a.out, !a.no_ema)?;
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
