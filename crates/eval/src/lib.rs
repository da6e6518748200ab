//! Evaluation of the guided controller on the simulated G1.
//!
//! - `harness`: [`drive`], the controller on the simulator's ground truth (the `ideal` profile
//!   of `g1d eval`, and `g1d drive`), and the per-step bookkeeping the deployed harness in
//!   `g1-nodes` shares.
//! - `scenario`: the scenario format of `g1d eval --scenarios`.
//! - `score`: a run's success and errors from its trajectory.
//! - `courses`: generated courses (`g1d courses generate`), each checked feasible.

pub mod courses;
pub mod harness;
pub mod scenario;
pub mod score;

pub use harness::{
    account_step, drive, observe_ground_truth, standing_start, to_shape, DriveOutcome, StepLog,
};
pub use scenario::{Scenario, ScenarioFile, TaskKind, JOYSTICK_OK_MPS, REACH_M, STOP_MPS};
pub use score::{score, EstimateError, RunResult, Sample};
