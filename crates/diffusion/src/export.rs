//! A model directory from a training checkpoint: `denoiser.onnx` (written by [`crate::onnx`]),
//! `weights.safetensors` (the exported weights, for the libtorch backend) and `manifest.json`
//! (assembled here and checked against the robot before it is written).

use std::path::Path;

use anyhow::{Context as _, Result};

use crate::checkpoint::CheckpointMeta;
use crate::manifest::{Manifest, MODEL_FORMAT, MODEL_VERSION, ONNX_FILE, WEIGHTS_FILE};
use crate::{Checkpoint, Schedule};

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
    let bytes = crate::onnx::export(cfg, &w, &meta)?;
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
        onnx_sha256: crate::manifest::sha256_file(&onnx)?,
        weights: WEIGHTS_FILE.into(),
        weights_sha256: crate::manifest::sha256_file(&weights)?,
        inputs: crate::onnx::INPUTS.iter().map(|s| s.to_string()).collect(),
        outputs: crate::onnx::OUTPUTS.iter().map(|s| s.to_string()).collect(),
        config: cfg.clone(),
        parameters: cfg.num_params(),
        state_dim: cfg.state_dim,
        action_dim: cfg.action_dim,
        history: cfg.history,
        horizon: cfg.horizon,
        control_hz: 50.0,
        state_layout: ck.meta.data.state_layout,
        state_layout_version: ck.meta.data.state_layout_version,
        state_names: ck.meta.data.state_layout.names(),
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
