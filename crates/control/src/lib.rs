//! The guided diffusion controller, with no simulator and no inference runtime: `planner`
//! (guided, rolling DDPM planning over any `Denoiser`), `controller` (the one controller the
//! planner node and the evaluation run, plans landing by a latency model) and `task` (tasks,
//! settings and their costs). Its harness on the simulator is `g1-eval`.

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod controller;
pub mod planner;
pub mod symmetric;
pub mod task;

pub use controller::{
    Command, Controller, LatencyModel, Observation, PlanInfo, StepInfo, StepMode,
};
pub use planner::{Plan, PlanError, Planner, PlannerConfig};
pub use symmetric::Symmetrised;
pub use task::{build_guidance, ControlConfig, Router, Task};

/// The nearest-rank percentile (`p` in [0, 1]) of `v` — plan latencies p50/p99 in the eval,
/// the drive summary, the model benchmark and the planner node's diagnostics; None when empty.
pub fn percentile(v: &[f64], p: f64) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (!s.is_empty()).then(|| s[((s.len() - 1) as f64 * p).round() as usize])
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentile_is_the_nearest_rank() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(super::percentile(&v, 0.5), Some(3.0));
        assert_eq!(super::percentile(&v, 0.0), Some(1.0));
        assert_eq!(super::percentile(&v, 1.0), Some(5.0));
        assert_eq!(super::percentile(&v, 0.99), Some(5.0));
        assert_eq!(super::percentile(&[], 0.5), None);
    }
}
