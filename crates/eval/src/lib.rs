//! Evaluation of the guided controller on the simulated G1. `harness`: [`drive`], the
//! controller on the simulator's ground truth (the `ideal` profile of `g1d eval`, and
//! `g1d drive`), and the per-step bookkeeping the deployed harness in `g1-nodes` shares.

pub mod harness;

pub use harness::{
    account_step, drive, observe_ground_truth, standing_start, to_shape, DriveOutcome, StepLog,
};
