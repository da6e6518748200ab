//! `g1d train` (libtorch) and `g1d export` (ONNX + manifest, written in Rust).

use std::path::PathBuf;

use anyhow::{bail, Result};
use g1_diffusion::checkpoint::CHECKPOINT_FILE;
use g1_diffusion::Checkpoint;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Dataset file from `g1d dataset build`.
    #[arg(long)]
    pub data: PathBuf,
    /// Model size: tiny (tests), small (the CPU default) or paper (≈20 M parameters).
    #[arg(long, default_value = "small")]
    pub config: g1_diffusion::ModelSize,
    /// Output directory (checkpoint, CSV log, loss PNG, summary).
    #[arg(long)]
    pub out: PathBuf,
    /// Optimiser steps (default: the configuration's).
    #[arg(long)]
    pub steps: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: g1_diffusion::ComputeDevice,
    /// Continue from OUT/checkpoint.safetensors.
    #[arg(long)]
    pub resume: bool,
    /// Start over in an OUT that already holds a training run (its files are replaced).
    #[arg(long)]
    pub force: bool,
    /// Training options as YAML (keys of TrainOptions: batch, lr, warmup, weight_decay,
    /// ema_decay, grad_clip, mirror_prob, val_fraction, …); flags override it.
    #[arg(long)]
    pub options: Option<PathBuf>,
    #[arg(long)]
    pub batch: Option<usize>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// CPU threads for libtorch (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Fine-tune: start from this checkpoint's EMA weights and normalisation statistics.
    #[arg(long, value_name = "CHECKPOINT")]
    pub init_from: Option<PathBuf>,
    /// Stop (with a checkpoint) after this many steps, as if interrupted; `--resume` continues.
    #[arg(long)]
    pub stop_after: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_train(a: TrainArgs) -> Result<()> {
    crate::torch::train(a)
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
