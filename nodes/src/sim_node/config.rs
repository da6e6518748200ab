//! The simulator node's parameters (`g1_sim: ros__parameters:`).

use anyhow::Result;
use g1_hg::Buttons;
use g1_ros::{range_check, NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimNodeConfig {
    /// Physics step (s); a LowState is published after each (0.002 s = the robot's 500 Hz).
    pub timestep_s: f64,
    /// Pelvis held by a gantry until this many simulated seconds after the first LowCmd (the
    /// bridge connected; the pelvis hangs until then, however long discovery takes).
    pub gantry_s: f64,
    /// Scripted remote: `"t:chord"` entries, e.g. `"0.5:L1+A"`; each chord is held for
    /// 0.1 s from t simulated seconds after the first LowCmd.
    pub remote_script: Vec<String>,
    /// Ground-truth odometry rate (Hz).
    pub odom_rate_hz: f64,
    /// `LowState.mode_machine` the simulated robot reports.
    pub mode_machine: i64,
    /// Seed of the episode randomisation and pushes.
    pub seed: i64,
    /// Simulator settings YAML (randomisation, pushes, obstacles); empty = defaults.
    pub sim_config: String,
    /// Print a status line every this many simulated seconds (0 = never).
    pub report_s: f64,
    /// Lockstep: after each LowState wait for the LowCmd answering it, and at each 20 ms control
    /// boundary for `joint_targets` stamped at or after the previous boundary (once any have
    /// been seen) — the simulation then runs as fast as the slowest node allows, and a slow
    /// planner slows the simulation down instead of seeing a mis-spaced history. Run the other
    /// nodes with `use_sim_time: true`.
    pub lockstep: bool,
    /// Longest wait for an answer in lockstep before going on (wall seconds).
    pub lockstep_timeout_s: f64,
}

impl Default for SimNodeConfig {
    fn default() -> Self {
        Self {
            timestep_s: 0.002,
            gantry_s: 0.0,
            remote_script: Vec::new(),
            odom_rate_hz: 50.0,
            mode_machine: 5,
            seed: 0,
            sim_config: String::new(),
            report_s: 0.0,
            lockstep: false,
            lockstep_timeout_s: 1.0,
        }
    }
}

impl NodeConfig for SimNodeConfig {
    fn check(&self) -> Result<(), ParamError> {
        range_check("timestep_s", self.timestep_s, 0.0005, 0.005)?;
        range_check("gantry_s", self.gantry_s, 0.0, 600.0)?;
        range_check("odom_rate_hz", self.odom_rate_hz, 1.0, 1000.0)?;
        range_check("mode_machine", self.mode_machine as f64, 0.0, 255.0)?;
        range_check("report_s", self.report_s, 0.0, 3600.0)?;
        range_check("lockstep_timeout_s", self.lockstep_timeout_s, 0.001, 60.0)?;
        parse_script(&self.remote_script).map(|_| ())
    }
}

pub fn parse_script(entries: &[String]) -> Result<Vec<(f64, u16)>, ParamError> {
    entries
        .iter()
        .map(|e| {
            let err = |why: String| ParamError::Invalid {
                key: "remote_script".into(),
                why: format!("`{e}`: {why}"),
            };
            let (t, chord) = e
                .split_once(':')
                .ok_or_else(|| err("expected `seconds:chord`".into()))?;
            let t: f64 = t.trim().parse().map_err(|_| err("bad time".into()))?;
            Ok((t, Buttons::parse_chord(chord).map_err(err)?))
        })
        .collect()
}
