//! The state–action diffusion model in libtorch (tch): the network (`model`), training
//! (`train`, `data`) and the libtorch inference backend (`backend`).

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod backend;
pub mod data;
pub mod model;
pub mod train;

pub use backend::{device, open_backend, TchDenoiser};
pub use model::Net;
pub use train::{train, TrainOptions, TrainSummary};
