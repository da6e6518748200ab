//! `g1d`'s side of libtorch: none. The commands that need it are handed to `g1d-torch`
//! beside the `g1d` executable; ONNX Runtime backends are opened here.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use g1_diffusion::{BackendKind, Denoiser, Manifest, ModelConfig, TensorF32};

use crate::train_cmd::TrainArgs;

pub const AVAILABLE: bool = false;

/// Runs this command line in `g1d-torch` (replacing this process); returns only on failure.
pub fn delegate() -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("g1d-torch")));
    match exe {
        Some(p) if p.exists() => {
            let err = std::process::Command::new(&p)
                .args(std::env::args_os().skip(1))
                .exec();
            anyhow!("running {}: {err}", p.display())
        }
        _ => anyhow!(
            "this command needs libtorch, which g1d does not link: it runs in `g1d-torch`, \
             not found beside this executable (`cargo build --release -p g1d` builds both)"
        ),
    }
}

/// An ONNX Runtime backend; the libtorch ones are `g1d-torch`'s.
pub fn open_backend(
    model: &Path,
    kind: BackendKind,
    threads: usize,
) -> Result<(Manifest, Box<dyn Denoiser + Send>)> {
    let Some(dev) = kind.ort_device() else {
        return Err(delegate());
    };
    let (m, net) = g1_diffusion::open_ort(model, dev, threads)?;
    Ok((m, Box::new(net)))
}

pub fn train(_: TrainArgs) -> Result<()> {
    Err(delegate())
}

pub fn weights_denoiser(
    _: &ModelConfig,
    _: &std::collections::BTreeMap<String, TensorF32>,
    _cuda: bool,
    _threads: usize,
) -> Result<Box<dyn Denoiser>> {
    bail!("the libtorch denoiser is `g1d-torch`'s")
}
