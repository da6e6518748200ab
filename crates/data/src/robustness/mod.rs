//! Stage 1 robustness: experts measured under friction, pushes, motion speed, delay, noise and
//! start conditions, with tracking metrics.

pub mod metrics;
