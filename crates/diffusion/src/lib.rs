//! The state–action diffusion model without libtorch: what the deployed planner needs.
//!
//! - `config`: named sizes (`tiny`, `small`, `paper`) and the sequence geometry.
//! - `tokens`: interleaved state/action tokens and the differentiated attention mask.
//! - `schedule`: cosine β-schedule, forward and posterior coefficients.
//! - `sampler`: the `Denoiser` trait and the DDPM sampler with history inpainting.
//! - `params`, `checkpoint`: parameter names/shapes and safetensors checkpoints.
//! - `onnx`: the denoiser written as ONNX from Rust; `manifest`: what ships beside it;
//!   `export`: a model directory (ONNX, weights, manifest) from a training checkpoint.
//! - `ort_backend`: ONNX Runtime inference (CPU, CUDA, TensorRT).

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod checkpoint;
pub mod config;
pub mod export;
pub mod manifest;
pub mod onnx;
#[cfg(feature = "ort")]
pub mod ort_backend;
pub mod params;
pub mod sampler;
pub mod schedule;
pub mod stats;
pub mod tokens;

pub use checkpoint::{Checkpoint, CheckpointMeta, DataInfo, TensorF32};
pub use config::{
    ComputeDevice, ModelConfig, ModelSize, ACTION_LOSS_STEPS, HISTORY, HORIZON, K_STEPS, STEPS,
    TOKENS,
};
pub use manifest::{Manifest, ModelError};
#[cfg(feature = "ort")]
pub use ort_backend::{open_ort, BackendKind, OrtDenoiser, OrtDevice};
pub use sampler::{Denoiser, Prediction, Sequence};
pub use schedule::Schedule;
pub use stats::Stats;
