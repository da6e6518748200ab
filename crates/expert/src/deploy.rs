//! Unitree's `deploy.yaml` (the policy description written by unitree_rl_lab / mjlab exports).
//!
//! Index conventions of that file, which this loader follows:
//! - `joint_ids_map[i]` is the SDK motor index of policy joint `i`;
//! - `stiffness`, `damping` are in SDK order;
//! - `default_joint_pos`, action `scale`/`offset` and all joint-sized observation terms are in
//!   policy order.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::ExpertError;

#[derive(Debug, Clone, Deserialize)]
pub struct DeployYaml {
    pub joint_ids_map: Vec<usize>,
    pub step_dt: f64,
    pub stiffness: Vec<f64>,
    pub damping: Vec<f64>,
    pub default_joint_pos: Vec<f64>,
    #[serde(default)]
    pub commands: Option<serde_yaml::Value>,
    pub actions: IndexMap<String, ActionCfg>,
    pub observations: IndexMap<String, ObsTermCfg>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActionCfg {
    #[serde(default)]
    pub clip: Option<Vec<f64>>,
    #[serde(default)]
    pub joint_names: Option<Vec<String>>,
    pub scale: ScalarOrVec,
    #[serde(default)]
    pub offset: Option<ScalarOrVec>,
    #[serde(default)]
    pub joint_ids: Option<Vec<usize>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ObsTermCfg {
    #[serde(default)]
    pub params: Option<serde_yaml::Value>,
    #[serde(default)]
    pub clip: Option<Vec<f64>>,
    #[serde(default)]
    pub scale: Option<ScalarOrVec>,
    #[serde(default = "one")]
    pub history_length: usize,
}

fn one() -> usize {
    1
}

/// A YAML number or list of numbers.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ScalarOrVec {
    Scalar(f64),
    Vec(Vec<f64>),
}

impl ScalarOrVec {
    /// Expands to `n` values; a list must have exactly `n`.
    pub fn expand(&self, n: usize, what: &str) -> Result<Vec<f64>, ExpertError> {
        match self {
            ScalarOrVec::Scalar(s) => Ok(vec![*s; n]),
            ScalarOrVec::Vec(v) if v.len() == n => Ok(v.clone()),
            ScalarOrVec::Vec(v) => Err(ExpertError::SizeMismatch {
                what: what.into(),
                expected: n,
                found: v.len(),
            }),
        }
    }
}

/// Velocity command ranges declared under `commands.base_velocity.ranges`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CommandRanges {
    pub lin_vel_x: [f64; 2],
    pub lin_vel_y: [f64; 2],
    pub ang_vel_z: [f64; 2],
}

impl DeployYaml {
    pub fn load(path: &Path) -> Result<Self, ExpertError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExpertError::Io {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        serde_yaml::from_str(&text).map_err(|e| ExpertError::Parse {
            path: path.to_path_buf(),
            why: e.to_string(),
        })
    }

    /// The velocity command ranges, if the policy declares a `base_velocity` command.
    pub fn command_ranges(&self) -> Option<CommandRanges> {
        let r = self
            .commands
            .as_ref()?
            .get("base_velocity")?
            .get("ranges")?;
        let pair = |k: &str| -> Option<[f64; 2]> {
            let s = r.get(k)?.as_sequence()?;
            Some([s.first()?.as_f64()?, s.get(1)?.as_f64()?])
        };
        Some(CommandRanges {
            lin_vel_x: pair("lin_vel_x")?,
            lin_vel_y: pair("lin_vel_y")?,
            ang_vel_z: pair("ang_vel_z")?,
        })
    }
}
