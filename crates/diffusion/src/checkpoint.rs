//! Named f32 tensors in safetensors files: training checkpoints (model, EMA and optimiser
//! state) and the weights the exporter and the libtorch backend read.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::stats::Stats;

/// The training run's checkpoint file inside its output directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

pub const CHECKPOINT_FORMAT: &str = "g1d-checkpoint";
pub const CHECKPOINT_VERSION: u32 = 1;

/// A dense f32 tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorF32 {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl TensorF32 {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?}"
        );
        Self { shape, data }
    }
}

/// Where the training data came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    pub path: String,
    pub sha256: String,
    pub windows: usize,
    pub train_windows: usize,
    pub val_windows: usize,
    /// Episodes held out for validation (an episode and its mirror share an id).
    pub val_episode_ids: Vec<i64>,
    pub hours: f64,
    pub state_layout_version: u32,
    /// The state representation (absent in checkpoints written before it was recorded:
    /// Body-Pos).
    #[serde(default)]
    pub state_layout: g1::StateLayout,
    /// Action convention: q_target = offset + scale · action (SDK joint order).
    pub action_offset: Vec<f64>,
    pub action_scale: Vec<f64>,
}

/// Checkpoint metadata (the safetensors `g1d` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format: String,
    pub version: u32,
    pub config: ModelConfig,
    pub step: usize,
    pub total_steps: usize,
    pub seed: u64,
    pub stats: Stats,
    pub data: DataInfo,
    /// Training options as given (for resume and the model card).
    pub train: serde_json::Value,
    pub code_revision: String,
    pub best_val_loss: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub meta: CheckpointMeta,
    pub tensors: BTreeMap<String, TensorF32>,
}

impl Checkpoint {
    /// Writes atomically (temporary file + rename): a crash never leaves a half checkpoint.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(k, t)| {
                let b: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
                (k.clone(), t.shape.clone(), b)
            })
            .collect();
        let views: Vec<(String, TensorView)> = bytes
            .iter()
            .map(|(k, s, b)| Ok((k.clone(), TensorView::new(Dtype::F32, s.clone(), b)?)))
            .collect::<Result<_, safetensors::SafeTensorError>>()
            .map_err(|e| anyhow!("{e:?}"))?;
        let mut md = std::collections::HashMap::new();
        md.insert("g1d".to_string(), serde_json::to_string(&self.meta)?);
        let tmp = path.with_extension("safetensors.tmp");
        safetensors::serialize_to_file(views, &Some(md), &tmp)
            .map_err(|e| anyhow!("writing {}: {e:?}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let (_, md) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| anyhow!("{}: not a safetensors file ({e:?})", path.display()))?;
        let text = md
            .metadata()
            .as_ref()
            .and_then(|m| m.get("g1d").cloned())
            .ok_or_else(|| anyhow!("{}: not a g1d checkpoint (no g1d metadata)", path.display()))?;
        let meta: CheckpointMeta = serde_json::from_str(&text)
            .with_context(|| format!("{}: unreadable checkpoint metadata", path.display()))?;
        if meta.format != CHECKPOINT_FORMAT || meta.version != CHECKPOINT_VERSION {
            bail!(
                "{}: checkpoint format {} v{} (this build reads {CHECKPOINT_FORMAT} v{CHECKPOINT_VERSION})",
                path.display(),
                meta.format,
                meta.version
            );
        }
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| anyhow!("{}: {e:?}", path.display()))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                bail!(
                    "{}: tensor {name} is {:?}, expected F32",
                    path.display(),
                    view.dtype()
                );
            }
            let data: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.insert(name, TensorF32::new(view.shape().to_vec(), data));
        }
        Ok(Self { meta, tensors })
    }

    /// The weights under `prefix.` (e.g. "ema", "model"), with the prefix removed.
    /// A checkpoint of random weights (`model.*`) for `config`, states in `layout`, identity
    /// normalisation and the joint table's action convention: for benchmarks and tests that
    /// need a model without training one. `source` is recorded as its data path.
    pub fn random(config: &ModelConfig, seed: u64, layout: g1::StateLayout, source: &str) -> Self {
        let c = config;
        let meta = CheckpointMeta {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            config: c.clone(),
            step: 0,
            total_steps: 0,
            seed,
            stats: Stats {
                state_mean: vec![0.0; c.state_dim],
                state_std: vec![1.0; c.state_dim],
                action_mean: vec![0.0; c.action_dim],
                action_std: vec![1.0; c.action_dim],
            },
            data: DataInfo {
                path: source.into(),
                sha256: String::new(),
                windows: 0,
                train_windows: 0,
                val_windows: 0,
                val_episode_ids: vec![],
                hours: 0.0,
                state_layout: layout,
                state_layout_version: layout.version(),
                action_offset: g1::JOINTS.iter().map(|j| j.default_pos_rad).collect(),
                action_scale: g1::JOINTS.iter().map(|j| j.action_scale()).collect(),
            },
            train: serde_json::Value::Null,
            code_revision: String::new(),
            best_val_loss: None,
        };
        let tensors = crate::params::random(c, seed)
            .into_iter()
            .map(|(k, v)| (format!("model.{k}"), v))
            .collect();
        Self { meta, tensors }
    }

    pub fn weights(&self, prefix: &str) -> BTreeMap<String, TensorF32> {
        let p = format!("{prefix}.");
        self.tensors
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&p).map(|n| (n.to_string(), v.clone())))
            .collect()
    }
}

/// Checks a weight map against the parameter shapes of `config`, naming the first mismatch.
pub fn check_weights(config: &ModelConfig, w: &BTreeMap<String, TensorF32>) -> Result<()> {
    let expected = crate::params::shapes(config);
    for (name, shape) in &expected {
        match w.get(name) {
            None => bail!(
                "weights lack parameter {name} (configuration {})",
                config.name
            ),
            Some(t) if &t.shape != shape => bail!(
                "parameter {name} has shape {:?}, configuration {} expects {shape:?}",
                t.shape,
                config.name
            ),
            Some(t) if t.data.iter().any(|v| !v.is_finite()) => {
                bail!("parameter {name} holds NaN or Inf")
            }
            _ => {}
        }
    }
    if let Some(extra) = w.keys().find(|k| !expected.contains_key(*k)) {
        bail!(
            "unexpected parameter {extra} for configuration {}",
            config.name
        );
    }
    Ok(())
}
