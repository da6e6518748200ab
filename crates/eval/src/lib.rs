//! Evaluation of the guided controller on the simulated G1.
//!
//! - `harness`: [`drive`], the controller on the simulator's ground truth (the `ideal` profile
//!   of `g1d eval`, and `g1d drive`), and the per-step bookkeeping the deployed harness in
//!   `g1-nodes` shares.
//! - `scenario`: the scenario format of `g1d eval --scenarios`.
//! - `score`: a run's success and errors from its trajectory.
//! - `courses`: generated courses (`g1d courses generate`), each checked feasible.
//! - `drive_report`: one drive's summary, per-step CSV log and top view (`g1d drive`).
//! - `expert`: the expert baseline (the velocity policy with a heading controller).
//! - `pool`: the worker pool that runs every (scenario, controller, run).
//! - `report`: success rates and errors per scenario and controller; `report.json`, `runs.json`,
//!   `table.md`.
//! - `top_view`: top-view pictures of scenarios and runs.

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod courses;
pub mod drive_report;
pub mod expert;
pub mod harness;
pub mod pool;
pub mod report;
pub mod scenario;
pub mod score;
pub mod top_view;

pub use harness::{
    account_step, drive, observe_ground_truth, standing_start, to_shape, DriveOutcome, StepLog,
};
pub use scenario::{Scenario, ScenarioFile, TaskKind, JOYSTICK_OK_MPS, REACH_M, STOP_MPS};
pub use score::{score, EstimateError, RunResult, Sample};
