//! The model manifest (`manifest.json` beside the ONNX file): everything a deployment needs to
//! use the denoiser correctly, checked against this build's robot tables when loaded.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::checkpoint::DataInfo;
use crate::config::ModelConfig;
use crate::schedule::Schedule;
use crate::stats::Stats;

pub const MODEL_FORMAT: &str = "g1d-model";
pub const MODEL_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";
pub const ONNX_FILE: &str = "denoiser.onnx";
/// The same weights for the libtorch backend (safetensors, `model.<parameter>`).
pub const WEIGHTS_FILE: &str = "weights.safetensors";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// ONNX file, relative to the manifest.
    pub onnx: String,
    pub onnx_sha256: String,
    /// Weights file for libtorch, relative to the manifest.
    pub weights: String,
    pub weights_sha256: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub config: ModelConfig,
    pub parameters: usize,
    pub state_dim: usize,
    pub action_dim: usize,
    pub history: usize,
    pub horizon: usize,
    pub control_hz: f64,
    /// The state representation (absent in manifests written before it was recorded: Body-Pos).
    #[serde(default)]
    pub state_layout: g1::StateLayout,
    pub state_layout_version: u32,
    pub state_names: Vec<String>,
    /// SDK/MJCF joint order.
    pub joint_names: Vec<String>,
    /// q_target = action_offset + action_scale · action, per joint.
    pub action_offset: Vec<f64>,
    pub action_scale: Vec<f64>,
    pub stats: Stats,
    pub schedule: Schedule,
    pub training_data: DataInfo,
    pub trained_steps: usize,
    pub code_revision: String,
}

/// Why a model directory cannot be used; [`ModelError::kind`] names the kind.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a g1d model manifest: {source}", path.display())]
    NotAManifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("model {} does not fit this robot: {why}", path.display())]
    Mismatch { path: PathBuf, why: String },
    #[error("{}: ONNX file {} is missing", manifest.display(), onnx.display())]
    MissingOnnx { manifest: PathBuf, onnx: PathBuf },
    #[error(
        "{} is not the file {} was exported with: SHA-256 {actual}, the manifest says {expected} \
         (a swapped or damaged model file; export the model again)",
        file.display(),
        manifest.display()
    )]
    Integrity {
        file: PathBuf,
        manifest: PathBuf,
        actual: String,
        expected: String,
    },
}

impl ModelError {
    /// `io`, `not_a_manifest`, `mismatch`, `missing_onnx` or `integrity`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::Io { .. } => "io",
            ModelError::NotAManifest { .. } => "not_a_manifest",
            ModelError::Mismatch { .. } => "mismatch",
            ModelError::MissingOnnx { .. } => "missing_onnx",
            ModelError::Integrity { .. } => "integrity",
        }
    }
}

/// The SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let io = |action: &'static str| {
        move |source| ModelError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let mut f = std::fs::File::open(path).map_err(io("opening"))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io("reading"))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// Fails, naming the file, unless `path` hashes to `expected` (as its manifest says).
pub fn verify_sha256(path: &Path, expected: &str, manifest: &Path) -> Result<(), ModelError> {
    let actual = sha256_file(path)?;
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(ModelError::Integrity {
            file: path.to_path_buf(),
            manifest: manifest.to_path_buf(),
            actual,
            expected: expected.to_string(),
        });
    }
    Ok(())
}

impl Manifest {
    /// The weights file beside a manifest loaded from `path` (directory or manifest file).
    pub fn weights_path(&self, path: &Path) -> PathBuf {
        let dir = if path.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new("."))
        };
        dir.join(&self.weights)
    }

    /// Reads `dir/manifest.json` (or a manifest path) and checks it; returns it with the ONNX path.
    pub fn load(path: &Path) -> Result<(Self, PathBuf), ModelError> {
        let file = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|source| ModelError::Io {
            action: "reading model manifest",
            path: file.clone(),
            source,
        })?;
        let m: Manifest =
            serde_json::from_str(&text).map_err(|source| ModelError::NotAManifest {
                path: file.clone(),
                source,
            })?;
        m.check().map_err(|e| ModelError::Mismatch {
            path: file.clone(),
            why: format!("{e:#}"),
        })?;
        let onnx = file.parent().unwrap_or(Path::new(".")).join(&m.onnx);
        if !onnx.exists() {
            return Err(ModelError::MissingOnnx {
                manifest: file,
                onnx,
            });
        }
        verify_sha256(&onnx, &m.onnx_sha256, &file)?;
        Ok((m, onnx))
    }

    /// Fails unless the model's states are in `layout` (what a caller that reads body
    /// positions, or a comparison between models, needs).
    pub fn expect_layout(&self, layout: g1::StateLayout) -> Result<()> {
        if self.state_layout != layout {
            bail!(
                "the model's states are in the {} layout; {} is expected here",
                self.state_layout,
                layout
            );
        }
        Ok(())
    }

    /// Fails, naming the disagreement, unless the manifest matches the G1 joint table, its
    /// state layout (Body-Pos or joint space) and the noise schedule of this build.
    pub fn check(&self) -> Result<()> {
        if self.format != MODEL_FORMAT || self.version != MODEL_VERSION {
            bail!(
                "format {} v{} (this build reads {MODEL_FORMAT} v{MODEL_VERSION})",
                self.format,
                self.version
            );
        }
        let layout = self.state_layout;
        if self.state_layout_version != layout.version() {
            bail!(
                "{layout} state layout version {} (this build uses version {})",
                self.state_layout_version,
                layout.version()
            );
        }
        if self.state_dim != layout.dim() || self.config.state_dim != layout.dim() {
            bail!(
                "state dimension {} (the {layout} state has {})",
                self.state_dim,
                layout.dim()
            );
        }
        if self.state_names != layout.names() {
            bail!("state index names differ from this build's {layout} layout");
        }
        if self.action_dim != g1::NUM_JOINTS || self.config.action_dim != g1::NUM_JOINTS {
            bail!(
                "action dimension {} (the G1 has {} joints)",
                self.action_dim,
                g1::NUM_JOINTS
            );
        }
        for (i, j) in g1::JOINTS.iter().enumerate() {
            match self.joint_names.get(i) {
                Some(n) if n == j.name => {}
                Some(n) => bail!(
                    "joint {i} is `{n}` in the manifest, `{}` in the joint table",
                    j.name
                ),
                None => bail!(
                    "manifest lists {} joints, the joint table {}",
                    self.joint_names.len(),
                    g1::NUM_JOINTS
                ),
            }
        }
        if self.joint_names.len() != g1::NUM_JOINTS {
            bail!(
                "manifest lists {} joints, the joint table {}",
                self.joint_names.len(),
                g1::NUM_JOINTS
            );
        }
        if self.action_offset.len() != g1::NUM_JOINTS || self.action_scale.len() != g1::NUM_JOINTS {
            bail!("action offset/scale must have {} entries", g1::NUM_JOINTS);
        }
        if self.history != self.config.history || self.horizon != self.config.horizon {
            bail!(
                "history/horizon {}/{} disagree with the configuration",
                self.history,
                self.horizon
            );
        }
        self.config.validate()?;
        self.stats.check(self.state_dim, self.action_dim)?;
        let expected = Schedule::cosine(self.config.k_steps);
        if !self.schedule.same_as(&expected) {
            bail!(
                "noise schedule differs from the cosine schedule with K = {}",
                self.config.k_steps
            );
        }
        Ok(())
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/models/default")
    }

    /// A scratch copy of the shipped model with `edit` applied to its manifest text.
    fn copy(name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("g1d_manifest_{name}_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(shipped().join(ONNX_FILE), dir.join(ONNX_FILE)).unwrap();
        let text = std::fs::read_to_string(shipped().join(MANIFEST_FILE)).unwrap();
        std::fs::write(dir.join(MANIFEST_FILE), edit(text)).unwrap();
        dir
    }

    /// Each way a model directory can be unusable is its own kind, and the message names the
    /// file.
    #[test]
    fn load_errors_have_kinds() {
        let (m, onnx) = Manifest::load(&shipped()).unwrap();
        assert_eq!(m.state_dim, g1::STATE_DIM);
        assert!(onnx.ends_with(ONNX_FILE));

        let e = Manifest::load(Path::new("/nonexistent/model")).unwrap_err();
        assert_eq!(e.kind(), "io");
        assert!(e
            .to_string()
            .contains("reading model manifest /nonexistent/model"));

        let dir = copy("garbage", |_| "{\"format\": 3}".into());
        let e = Manifest::load(&dir).unwrap_err();
        assert_eq!(e.kind(), "not_a_manifest", "{e}");

        let dir2 = copy("dim", |t| {
            t.replace("\"state_dim\": 192", "\"state_dim\": 191")
        });
        let e = Manifest::load(&dir2).unwrap_err();
        assert_eq!(e.kind(), "mismatch", "{e}");
        assert!(e.to_string().contains("state dimension 191"), "{e}");

        let dir3 = copy("swapped", |t| t);
        let mut bytes = std::fs::read(dir3.join(ONNX_FILE)).unwrap();
        bytes.push(0);
        std::fs::write(dir3.join(ONNX_FILE), bytes).unwrap();
        let e = Manifest::load(&dir3).unwrap_err();
        assert_eq!(e.kind(), "integrity", "{e}");
        assert!(e.to_string().contains(ONNX_FILE), "{e}");

        std::fs::remove_file(dir3.join(ONNX_FILE)).unwrap();
        let e = Manifest::load(&dir3).unwrap_err();
        assert_eq!(e.kind(), "missing_onnx", "{e}");

        for d in [dir, dir2, dir3] {
            std::fs::remove_dir_all(d).ok();
        }
    }
}
