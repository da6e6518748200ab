//! Normalisation statistics (kept with the model at full precision).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub state_mean: Vec<f64>,
    pub state_std: Vec<f64>,
    pub action_mean: Vec<f64>,
    pub action_std: Vec<f64>,
}

impl Stats {
    pub fn check(&self, state_dim: usize, action_dim: usize) -> Result<()> {
        for (name, v, n) in [
            ("state_mean", &self.state_mean, state_dim),
            ("state_std", &self.state_std, state_dim),
            ("action_mean", &self.action_mean, action_dim),
            ("action_std", &self.action_std, action_dim),
        ] {
            if v.len() != n {
                bail!("{name} has {} entries, expected {n}", v.len());
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                bail!("{name}[{i}] is not finite");
            }
        }
        if let Some(i) = self
            .state_std
            .iter()
            .chain(&self.action_std)
            .position(|s| *s <= 0.0)
        {
            bail!("standard deviation entry {i} is not positive");
        }
        Ok(())
    }

    pub fn norm_state(&self, x: &[f32], out: &mut [f32]) {
        for i in 0..x.len() {
            out[i] = ((x[i] as f64 - self.state_mean[i]) / self.state_std[i]) as f32;
        }
    }
    pub fn denorm_state(&self, x: &[f32], out: &mut [f32]) {
        for i in 0..x.len() {
            out[i] = (x[i] as f64 * self.state_std[i] + self.state_mean[i]) as f32;
        }
    }
    pub fn norm_action(&self, x: &[f32], out: &mut [f32]) {
        for i in 0..x.len() {
            out[i] = ((x[i] as f64 - self.action_mean[i]) / self.action_std[i]) as f32;
        }
    }
    pub fn denorm_action(&self, x: &[f32], out: &mut [f32]) {
        for i in 0..x.len() {
            out[i] = (x[i] as f64 * self.action_std[i] + self.action_mean[i]) as f32;
        }
    }
}
