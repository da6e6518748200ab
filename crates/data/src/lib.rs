//! Stage 1 data: closed-loop expert rollouts, parallel collection into rosbags, and the
//! training-window dataset built from them.

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod collect;
pub mod dataset;
pub mod plot;
pub mod robustness;
pub mod rollout;
