//! `g1d-torch`: every `g1d` command, with libtorch — training, the libtorch inference backends
//! and the ONNX Runtime ↔ libtorch comparisons. `g1d` hands those commands to it.

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod bag_cmd;
mod bench;
mod bench_estimator;
mod bench_model;
mod collect_cmd;
mod courses_cmd;
mod dataset_cmd;
mod demo_cmd;
mod drive_cmd;
mod eval_cmd;
mod model_cmd;
mod plans_cmd;
mod progress;
mod replay_cmd;
mod robustness_cmd;
mod ros_tool;
mod security_cmd;
mod train_cmd;
mod up_cmd;
mod view_cmd;

mod app;
#[path = "torch_impl.rs"]
mod torch;

pub(crate) use app::{load_sim_config, parse_command};

fn main() -> std::process::ExitCode {
    app::main()
}
