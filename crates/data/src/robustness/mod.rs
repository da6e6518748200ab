//! Stage 1 robustness: experts measured under friction, pushes, motion speed, delay, noise and
//! start conditions, with tracking metrics.

pub mod conditions;
pub mod metrics;
pub mod report;
pub mod runner;

pub use conditions::{Condition, Criteria, RobustnessConfig};
pub use report::{ConditionReport, RobustnessReport};
pub use runner::{run, EpisodeResult, Progress, RobustnessOptions};
