//! The estimator node's parameters (`g1_estimator: ros__parameters:`).

use anyhow::Result;
use g1_estimator::KfConfig;
use g1_ros::{range_check, NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

/// Where the estimator's pelvis pose and twist come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimatorMode {
    /// The contact-aided Kalman filter on the IMU and the joint encoders (the robot's).
    Kalman,
    /// The simulator's `/sim/odom` (as from motion capture).
    GroundTruth,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EstimatorConfig {
    /// `kalman` (IMU + encoders) or `ground_truth` (simulator odometry).
    pub mode: EstimatorMode,
    pub rate_hz: f64,
    /// The Body-Pos state's joint velocities are the means of the samples since the last
    /// publication (the robot's 500 Hz: 10 per 50 Hz step), not the newest sample alone: √10
    /// less encoder noise for 9 ms of lag (kalman mode).
    pub average_joint_velocities: bool,
    /// The same for the pelvis angular velocity (the gyro). Off by default: the G1's gyro is
    /// far less noisy than its joint velocities, and the pelvis turns fast enough at each foot
    /// strike that the mean lags the truth by more than the noise it removes (docs/EXPERIMENTS.md,
    /// 2026-11-29).
    pub average_angular_velocity: bool,
    /// The same for the filter's pelvis velocity (the mean of its estimates since the last
    /// publication): the deployed evaluation's walk + perturb 90 → 96 %, joystick square
    /// 88 → 94 % (docs/EXPERIMENTS.md, 2026-11-30).
    pub average_linear_velocity: bool,
    pub odom_frame: String,
    pub base_frame: String,
    /// Filter settings (`kalman.accel_noise`, …).
    pub kalman: KfConfig,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        Self {
            mode: EstimatorMode::Kalman,
            rate_hz: 50.0,
            average_joint_velocities: true,
            average_angular_velocity: false,
            average_linear_velocity: true,
            odom_frame: "odom".into(),
            base_frame: "pelvis".into(),
            kalman: KfConfig::default(),
        }
    }
}

impl NodeConfig for EstimatorConfig {
    fn check(&self) -> Result<(), ParamError> {
        range_check("rate_hz", self.rate_hz, 1.0, 500.0)?;
        let k = &self.kalman;
        for (key, v, hi) in [
            ("kalman.accel_noise", k.accel_noise, 100.0),
            ("kalman.stance_foot_noise", k.stance_foot_noise, 10.0),
            ("kalman.swing_foot_noise", k.swing_foot_noise, 100.0),
            ("kalman.kinematics_noise_m", k.kinematics_noise_m, 1.0),
            (
                "kalman.stance_velocity_noise",
                k.stance_velocity_noise,
                10.0,
            ),
            ("kalman.foot_height_noise_m", k.foot_height_noise_m, 1.0),
            ("kalman.impulse_window_s", k.impulse_window_s, 1.0),
            ("kalman.contact_height_m", k.contact_height_m, 0.5),
            ("kalman.contact_speed_mps", k.contact_speed_mps, 10.0),
            ("kalman.gravity", k.gravity, 20.0),
        ] {
            range_check(key, v, 1e-9, hi)?;
        }
        range_check("kalman.sole_height_m", k.sole_height_m, -0.1, 0.1)?;
        range_check("kalman.impulse_mps", k.impulse_mps, 0.0, 10.0)?;
        Ok(())
    }
}
