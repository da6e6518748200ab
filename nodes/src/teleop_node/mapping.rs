//! The teleop nodes' parameters and how each source maps to a velocity command.

use anyhow::Result;
use g1_hg::Remote;
use g1_msgs::geometry_msgs::{Twist, Vector3};
use g1_msgs::sensor_msgs::Joy;
use g1_ros::{range_check, NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeleopConfig {
    /// `joy` or `remote` (`g1_teleop`); `keyboard` for `g1_teleop_key`.
    pub source: String,
    /// Joy axis indices for vx, vy and wz (−1: unused).
    pub axis_linear_x: i64,
    pub axis_linear_y: i64,
    pub axis_angular_z: i64,
    /// Command at full stick deflection (m/s, m/s, rad/s).
    pub scale_linear_x: f64,
    pub scale_linear_y: f64,
    pub scale_angular_z: f64,
    /// Joy button that must be held (−1: none).
    pub enable_button: i64,
    /// Stick deflections below this are zero.
    pub deadzone: f64,
    /// Keyboard: increments per key press.
    pub key_step_linear: f64,
    pub key_step_angular: f64,
    /// Limits of the published command.
    pub max_linear_x: f64,
    pub max_linear_y: f64,
    pub max_angular_z: f64,
    pub rate_hz: f64,
}

impl Default for TeleopConfig {
    fn default() -> Self {
        // Axes as `teleop_twist_joy`'s common gamepad layout (left stick y → vx, left stick x →
        // vy, right stick x → wz); limits the velocity expert was trained on.
        Self {
            source: "joy".into(),
            axis_linear_x: 1,
            axis_linear_y: 0,
            axis_angular_z: 3,
            scale_linear_x: 0.6,
            scale_linear_y: 0.4,
            scale_angular_z: 1.0,
            enable_button: -1,
            deadzone: 0.05,
            key_step_linear: 0.1,
            key_step_angular: 0.2,
            max_linear_x: 1.0,
            max_linear_y: 0.5,
            max_angular_z: 1.0,
            rate_hz: 20.0,
        }
    }
}

impl NodeConfig for TeleopConfig {
    /// Scales, dead zone, key steps and limits; the source, axes, button and rate are read at
    /// start.
    fn settable_at_run_time(name: &str) -> bool {
        name.starts_with("scale_")
            || name.starts_with("max_")
            || name.starts_with("key_step_")
            || name == "deadzone"
    }

    fn check(&self) -> Result<(), ParamError> {
        if !["joy", "remote", "keyboard"].contains(&self.source.as_str()) {
            return Err(ParamError::Invalid {
                key: "source".into(),
                why: format!("`{}`: expected joy, remote or keyboard", self.source),
            });
        }
        for (k, v) in [
            ("axis_linear_x", self.axis_linear_x),
            ("axis_linear_y", self.axis_linear_y),
            ("axis_angular_z", self.axis_angular_z),
            ("enable_button", self.enable_button),
        ] {
            range_check(k, v as f64, -1.0, 63.0)?;
        }
        for (k, v) in [
            ("scale_linear_x", self.scale_linear_x),
            ("scale_linear_y", self.scale_linear_y),
            ("scale_angular_z", self.scale_angular_z),
        ] {
            range_check(k, v, -5.0, 5.0)?;
        }
        range_check("deadzone", self.deadzone, 0.0, 0.9)?;
        range_check("key_step_linear", self.key_step_linear, 0.0, 1.0)?;
        range_check("key_step_angular", self.key_step_angular, 0.0, 2.0)?;
        range_check("max_linear_x", self.max_linear_x, 0.0, 3.0)?;
        range_check("max_linear_y", self.max_linear_y, 0.0, 3.0)?;
        range_check("max_angular_z", self.max_angular_z, 0.0, 5.0)?;
        range_check("rate_hz", self.rate_hz, 1.0, 200.0)?;
        Ok(())
    }
}

/// A planar velocity command `[vx, vy, wz]`.
pub type Cmd = [f64; 3];

impl TeleopConfig {
    fn clamp(&self, c: Cmd) -> Cmd {
        let lim = [self.max_linear_x, self.max_linear_y, self.max_angular_z];
        std::array::from_fn(|i| c[i].clamp(-lim[i], lim[i]))
    }

    fn dead(&self, v: f64) -> f64 {
        if v.abs() < self.deadzone {
            0.0
        } else {
            v
        }
    }

    /// The command of a Joy message, or None while the enable button is not held.
    pub fn joy_command(&self, joy: &Joy) -> Option<Cmd> {
        if self.enable_button >= 0
            && joy.buttons.get(self.enable_button as usize).copied() != Some(1)
        {
            return None;
        }
        let axis = |i: i64| -> f64 {
            if i < 0 {
                0.0
            } else {
                let v = joy.axes.get(i as usize).copied().unwrap_or(0.0) as f64;
                if v.is_finite() {
                    self.dead(v)
                } else {
                    0.0
                }
            }
        };
        Some(self.clamp([
            self.scale_linear_x * axis(self.axis_linear_x),
            self.scale_linear_y * axis(self.axis_linear_y),
            self.scale_angular_z * axis(self.axis_angular_z),
        ]))
    }

    /// The command of the G1 remote's sticks: left stick up → forward, left stick right →
    /// rightwards (−y), right stick right → turn clockwise (−z).
    pub fn remote_command(&self, r: &Remote) -> Cmd {
        let f = |v: f32| {
            let v = v as f64;
            if v.is_finite() {
                self.dead(v.clamp(-1.0, 1.0))
            } else {
                0.0
            }
        };
        self.clamp([
            self.scale_linear_x * f(r.ly),
            -self.scale_linear_y * f(r.lx),
            -self.scale_angular_z * f(r.rx),
        ])
    }

    /// A key press applied to the current command (None: the key means nothing).
    pub fn key_command(&self, c: Cmd, key: char) -> Option<Cmd> {
        let (l, a) = (self.key_step_linear, self.key_step_angular);
        let d = match key.to_ascii_lowercase() {
            'w' => [l, 0.0, 0.0],
            's' => [-l, 0.0, 0.0],
            'a' => [0.0, l, 0.0],
            'd' => [0.0, -l, 0.0],
            'q' => [0.0, 0.0, a],
            'e' => [0.0, 0.0, -a],
            ' ' | 'x' => return Some([0.0; 3]),
            _ => return None,
        };
        Some(self.clamp(std::array::from_fn(|i| c[i] + d[i])))
    }
}

pub fn twist(c: Cmd) -> Twist {
    Twist {
        linear: Vector3 {
            x: c[0],
            y: c[1],
            z: 0.0,
        },
        angular: Vector3 {
            x: 0.0,
            y: 0.0,
            z: c[2],
        },
    }
}
