//! `g1d-torch`'s side of libtorch: training, the libtorch backends and denoisers.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use g1_diffusion::checkpoint::CHECKPOINT_FILE;
use g1_diffusion::{BackendKind, ComputeDevice, Denoiser, Manifest, ModelConfig, TensorF32};
use g1_diffusion_tch::train::TrainOptions;
use g1_diffusion_tch::TchDenoiser;

use crate::train_cmd::TrainArgs;

pub const AVAILABLE: bool = true;

fn repo_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `g1d-torch` runs every command itself.
pub fn delegate() -> anyhow::Error {
    anyhow!("g1d-torch runs every command itself")
}

/// Any backend: ONNX Runtime or libtorch.
pub fn open_backend(
    model: &Path,
    kind: BackendKind,
    threads: usize,
) -> Result<(Manifest, Box<dyn Denoiser + Send>)> {
    g1_diffusion_tch::open_backend(model, kind, threads)
}

/// The libtorch denoiser of `config` with weights `w` (CPU, or CUDA), `threads` intra-op.
pub fn weights_denoiser(
    config: &ModelConfig,
    w: &BTreeMap<String, TensorF32>,
    cuda: bool,
    threads: usize,
) -> Result<Box<dyn Denoiser>> {
    tch::set_num_threads(threads.max(1) as i32);
    tch::set_num_interop_threads(1);
    let dev = g1_diffusion_tch::device(if cuda {
        ComputeDevice::Cuda(0)
    } else {
        ComputeDevice::Cpu
    })?;
    Ok(Box::new(TchDenoiser::from_weights(config, w, dev)?))
}

pub fn train(a: TrainArgs) -> Result<()> {
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
    let device = g1_diffusion_tch::device(a.device)?;
    // The state width follows the dataset's layout (training checks the file in full).
    let layout = g1_data::dataset::Dataset::open(&a.data)?.layout;
    let config = ModelConfig {
        state_dim: layout.dim(),
        ..config
    };
    if !a.json {
        eprintln!(
            "training {} ({} parameters, {layout} states) on {} for {} steps, batch {}, {} threads → {}",
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
