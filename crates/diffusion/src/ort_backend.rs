//! The ONNX Runtime backend (CPU by default; CUDA and TensorRT execution providers by
//! configuration).

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use ort::ep::ExecutionProvider;
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use crate::config::STEPS;
use crate::sampler::{Denoiser, Prediction, Sequence};

/// Where ONNX Runtime runs the denoiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrtDevice {
    Cpu,
    Cuda,
    TensorRt,
}

impl std::str::FromStr for OrtDevice {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            "tensorrt" => Ok(Self::TensorRt),
            o => bail!("unknown ONNX Runtime device `{o}` (cpu, cuda or tensorrt)"),
        }
    }
}

pub struct OrtDenoiser {
    session: Session,
    device: OrtDevice,
    state_dim: usize,
    action_dim: usize,
}

impl OrtDenoiser {
    /// Loads `onnx` for `device` with `threads` intra-op threads. GPU providers fail with a
    /// message saying what is missing instead of silently falling back to the CPU.
    pub fn load(
        onnx: &Path,
        device: OrtDevice,
        threads: usize,
        state_dim: usize,
        action_dim: usize,
    ) -> Result<Self> {
        let env = g1_expert::runtime::environment().map_err(|e| anyhow!("{e}"))?;
        let mut b = Session::builder(env)
            .map_err(|e| anyhow!("{e}"))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| anyhow!("{e}"))?
            .with_inter_threads(1)
            .map_err(|e| anyhow!("{e}"))?;
        match device {
            OrtDevice::Cpu => {}
            OrtDevice::Cuda => {
                let ep = ort::ep::CUDA::default();
                if !ort::ep::CUDA::is_available().unwrap_or(false) {
                    bail!(
                        "the loaded ONNX Runtime library has no CUDA execution provider: install the \
                         onnxruntime-gpu==1.31.1 wheel and the CUDA 13 / cuDNN 9 libraries, and point \
                         ORT_DYLIB_PATH at its libonnxruntime.so (the default CPU wheel cannot run on CUDA)"
                    );
                }
                b = b
                    .with_execution_providers([ep.build().error_on_failure()])
                    .map_err(|e| anyhow!("CUDA execution provider failed to start: {e}"))?;
            }
            OrtDevice::TensorRt => {
                if !ort::ep::TensorRT::is_available().unwrap_or(false) {
                    bail!(
                        "the loaded ONNX Runtime library has no TensorRT execution provider: it needs \
                         the onnxruntime-gpu wheel and NVIDIA's libnvinfer.so.10, which is not \
                         installable from PyPI"
                    );
                }
                b = b
                    .with_execution_providers([ort::ep::TensorRT::default().build().error_on_failure()])
                    .map_err(|e| anyhow!("TensorRT execution provider failed to start (libnvinfer.so.10 present?): {e}"))?;
            }
        }
        let session = b
            .commit_from_file(onnx)
            .map_err(|e| anyhow!("{}: {e}", onnx.display()))?;
        for name in crate::onnx::INPUTS {
            if !session.inputs().iter().any(|i| i.name() == name) {
                bail!("{}: the model has no input `{name}`", onnx.display());
            }
        }
        Ok(Self {
            session,
            device,
            state_dim,
            action_dim,
        })
    }
}

impl Denoiser for OrtDenoiser {
    fn backend(&self) -> String {
        format!(
            "onnxruntime-{}",
            match self.device {
                OrtDevice::Cpu => "cpu",
                OrtDevice::Cuda => "cuda",
                OrtDevice::TensorRt => "tensorrt",
            }
        )
    }

    fn denoise(&mut self, seq: &Sequence) -> Result<Prediction> {
        seq.check()?;
        if seq.state_dim != self.state_dim || seq.action_dim != self.action_dim {
            bail!(
                "sequence dims {}/{} differ from the model's {}/{}",
                seq.state_dim,
                seq.action_dim,
                self.state_dim,
                self.action_dim
            );
        }
        let b = seq.batch;
        let s = ndarray::ArrayView3::from_shape((b, STEPS, self.state_dim), &seq.states)?;
        let a = ndarray::ArrayView3::from_shape((b, STEPS, self.action_dim), &seq.actions)?;
        let ks = ndarray::ArrayView2::from_shape((b, STEPS), &seq.k_states)?;
        let ka = ndarray::ArrayView2::from_shape((b, STEPS), &seq.k_actions)?;
        let out = self.session.run(ort::inputs![
            "states" => TensorRef::from_array_view(s)?,
            "actions" => TensorRef::from_array_view(a)?,
            "k_states" => TensorRef::from_array_view(ks)?,
            "k_actions" => TensorRef::from_array_view(ka)?,
        ])?;
        let get = |name: &str| -> Result<Vec<f32>> {
            let v = out
                .get(name)
                .ok_or_else(|| anyhow!("model has no output `{name}`"))?;
            let (_, d) = v.try_extract_tensor::<f32>()?;
            Ok(d.to_vec())
        };
        Ok(Prediction {
            states: get("states_x0")?,
            actions: get("actions_x0")?,
        })
    }
}

/// Which inference backend runs the denoiser (configuration value, e.g. `ort-cpu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    OrtCpu,
    OrtCuda,
    OrtTensorrt,
    TorchCpu,
    TorchCuda,
}

impl std::str::FromStr for BackendKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "ort" | "ort-cpu" => Self::OrtCpu,
            "ort-cuda" => Self::OrtCuda,
            "ort-tensorrt" => Self::OrtTensorrt,
            "torch" | "torch-cpu" => Self::TorchCpu,
            "torch-cuda" => Self::TorchCuda,
            o => bail!("unknown inference backend `{o}` (ort-cpu, ort-cuda, ort-tensorrt, torch-cpu, torch-cuda)"),
        })
    }
}

impl BackendKind {
    /// The ONNX Runtime device, or None for libtorch backends.
    pub fn ort_device(self) -> Option<OrtDevice> {
        match self {
            Self::OrtCpu => Some(OrtDevice::Cpu),
            Self::OrtCuda => Some(OrtDevice::Cuda),
            Self::OrtTensorrt => Some(OrtDevice::TensorRt),
            _ => None,
        }
    }
}

/// Opens an exported model directory with an ONNX Runtime backend (manifest checked first).
pub fn open_ort(
    model_dir: &Path,
    device: OrtDevice,
    threads: usize,
) -> Result<(crate::Manifest, OrtDenoiser)> {
    let (m, onnx) = crate::Manifest::load(model_dir)?;
    let net = OrtDenoiser::load(&onnx, device, threads, m.state_dim, m.action_dim)?;
    Ok((m, net))
}
