//! `g1d`: the g1_diffusion command-line tool. It links no libtorch: training, the libtorch
//! backends and the ONNX Runtime ↔ libtorch comparisons run in `g1d-torch`, which `g1d` hands
//! those commands to.

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
#[path = "torch_exec.rs"]
mod torch;

pub(crate) use app::{load_sim_config, parse_command};

fn main() -> std::process::ExitCode {
    app::main()
}
