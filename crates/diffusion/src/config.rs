//! Named model configurations and the fixed sequence geometry.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Past steps in the history (s_{t−4} … s_t, a_{t−4} … a_{t−1}).
pub const HISTORY: usize = 4;
/// Planned steps (s_{t+1} … s_{t+16}, a_t … a_{t+16}).
pub const HORIZON: usize = 16;
/// Time steps in one window: t−4 … t+16.
pub const STEPS: usize = HISTORY + HORIZON + 1;
/// Tokens in one sequence: one state and one action token per time step, interleaved.
pub const TOKENS: usize = 2 * STEPS;
/// Future actions that carry loss (a_t … a_{t+7}); later ones are masked out of the loss.
pub const ACTION_LOSS_STEPS: usize = 8;
/// Diffusion steps.
pub const K_STEPS: usize = 20;

/// The named model sizes: `tiny` (tests), `small` (the CPU default), `paper` (Diffuse-CLoC's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSize {
    Tiny,
    Small,
    Paper,
}

impl ModelSize {
    pub const ALL: [ModelSize; 3] = [ModelSize::Tiny, ModelSize::Small, ModelSize::Paper];

    pub fn name(self) -> &'static str {
        match self {
            ModelSize::Tiny => "tiny",
            ModelSize::Small => "small",
            ModelSize::Paper => "paper",
        }
    }
}

impl std::fmt::Display for ModelSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ModelSize::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown model size `{s}` (expected tiny, small or paper)"))
    }
}

/// Where training and the libtorch backend compute: `cpu`, `cuda` (device 0) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeDevice {
    Cpu,
    Cuda(usize),
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeDevice::Cpu => f.write_str("cpu"),
            ComputeDevice::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl std::str::FromStr for ComputeDevice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(ComputeDevice::Cpu),
            "cuda" => Ok(ComputeDevice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(ComputeDevice::Cuda)
                .ok_or_else(|| format!("unknown device `{s}` (cpu, cuda or cuda:N)")),
        }
    }
}

/// Transformer size and regularisation. `state_dim`/`action_dim` are the robot's, checked
/// against the G1 tables when a model is loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: String,
    pub layers: usize,
    pub heads: usize,
    pub dim: usize,
    pub ff_dim: usize,
    /// Dropout on attention probabilities (training only).
    pub attn_dropout: f64,
    /// Dropout on residual branches (training only).
    pub dropout: f64,
    pub state_dim: usize,
    pub action_dim: usize,
    pub history: usize,
    pub horizon: usize,
    pub k_steps: usize,
}

impl ModelConfig {
    fn sized(name: &str, layers: usize, heads: usize, dim: usize, attn_dropout: f64) -> Self {
        Self {
            name: name.into(),
            layers,
            heads,
            dim,
            ff_dim: 4 * dim,
            attn_dropout,
            dropout: 0.0,
            state_dim: g1::STATE_DIM,
            action_dim: g1::NUM_JOINTS,
            history: HISTORY,
            horizon: HORIZON,
            k_steps: K_STEPS,
        }
    }

    /// The configuration of a named size.
    pub fn of(size: ModelSize) -> Self {
        match size {
            ModelSize::Tiny => Self::sized("tiny", 2, 2, 32, 0.0),
            ModelSize::Small => Self::sized("small", 4, 4, 128, 0.1),
            ModelSize::Paper => Self::sized("paper", 6, 4, 512, 0.3),
        }
    }

    /// `tiny` (tests), `small` (the CPU default) or `paper` (Diffuse-CLoC size).
    pub fn named(name: &str) -> Result<Self> {
        match name.parse::<ModelSize>() {
            Ok(size) => Ok(Self::of(size)),
            Err(why) => bail!("{why}"),
        }
    }

    pub fn steps(&self) -> usize {
        self.history + self.horizon + 1
    }
    pub fn tokens(&self) -> usize {
        2 * self.steps()
    }

    /// Fails with a message naming the field when the configuration is unusable.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.heads == 0 || !self.dim.is_multiple_of(self.heads) {
            bail!(
                "model dim {} must be a positive multiple of heads {}",
                self.dim,
                self.heads
            );
        }
        if self.layers == 0 || self.ff_dim == 0 {
            bail!("model needs at least one layer and a positive ff_dim");
        }
        if !(0.0..1.0).contains(&self.attn_dropout) || !(0.0..1.0).contains(&self.dropout) {
            bail!("dropout must be in [0, 1)");
        }
        if self.history != HISTORY || self.horizon != HORIZON || self.k_steps != K_STEPS {
            bail!(
                "history/horizon/k_steps {}/{}/{} differ from this build's {HISTORY}/{HORIZON}/{K_STEPS}",
                self.history,
                self.horizon,
                self.k_steps
            );
        }
        Ok(())
    }

    /// Number of parameters (matches the tch model and the ONNX export).
    pub fn num_params(&self) -> usize {
        let d = self.dim;
        let io = (self.state_dim + 1) * d
            + (self.action_dim + 1) * d
            + 2 * (self.k_steps + 1) * d
            + self.tokens() * d
            + (d + 1) * self.state_dim
            + (d + 1) * self.action_dim
            + 2 * d;
        let block =
            4 * d + (d + 1) * 3 * d + (d + 1) * d + (d + 1) * self.ff_dim + (self.ff_dim + 1) * d;
        io + self.layers * block
    }
}

#[cfg(test)]
mod device_tests {
    use super::ComputeDevice;

    #[test]
    fn devices_parse_and_print() {
        assert_eq!("cpu".parse(), Ok(ComputeDevice::Cpu));
        assert_eq!("cuda".parse(), Ok(ComputeDevice::Cuda(0)));
        assert_eq!("cuda:2".parse(), Ok(ComputeDevice::Cuda(2)));
        assert_eq!(ComputeDevice::Cuda(2).to_string(), "cuda:2");
        for bad in ["gpu", "cuda:", "cuda:x", ""] {
            let e = bad.parse::<ComputeDevice>().unwrap_err();
            assert!(e.contains("cpu, cuda or cuda:N"), "{bad}: {e}");
        }
    }
}
