//! `g1_estimator`: the Body-Pos state at 50 Hz on `/g1d/state`, `/odom` and `/tf`
//! (`odom → pelvis`). Mode `kalman` (default) runs the contact-aided Kalman filter of
//! `g1-estimator` on every `/imu` + `/joint_states` sample (the robot's 500 Hz): IMU attitude,
//! accelerometer prediction, leg kinematics and stance-foot constraints; `odom` starts where the
//! robot starts. Mode `ground_truth` takes the pelvis pose and twist from the simulator's
//! `/sim/odom` instead (the paper used motion capture for its obstacle tasks).

use std::time::Duration;

use anyhow::{bail, Result};
use g1::nalgebra::Vector3 as NV;
use g1::{forward_kinematics, RootState, NUM_JOINTS};
use g1_estimator::{ContactKf, KfConfig, Sample};
use g1_msgs::g1d::BodyPosState;
use g1_msgs::geometry_msgs::{
    Pose, PoseWithCovariance, Transform, TransformStamped, Twist, TwistWithCovariance, Vec36,
    Vector3,
};
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::Header;
use g1_msgs::tf2_msgs::TFMessage;
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::{range_check, NodeConfig, ParamError};
use serde::Deserialize;

use crate::io_record::IoRecorder;
use crate::replay::{decode_json, Replayable, Step};
use crate::runtime::Node;
use crate::{pt, quat, v3};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EstimatorConfig {
    /// `kalman` (IMU + encoders) or `ground_truth` (simulator odometry).
    pub mode: String,
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
    pub odom_frame: String,
    pub base_frame: String,
    /// Filter settings (`kalman.accel_noise`, …).
    pub kalman: KfConfig,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        Self {
            mode: "kalman".into(),
            rate_hz: 50.0,
            average_joint_velocities: true,
            average_angular_velocity: false,
            odom_frame: "odom".into(),
            base_frame: "pelvis".into(),
            kalman: KfConfig::default(),
        }
    }
}

impl NodeConfig for EstimatorConfig {
    fn check(&self) -> Result<(), ParamError> {
        range_check("rate_hz", self.rate_hz, 1.0, 500.0)?;
        if self.mode != "ground_truth" && self.mode != "kalman" {
            return Err(ParamError::Invalid {
                key: "mode".into(),
                why: format!("`{}` (expected `kalman` or `ground_truth`)", self.mode),
            });
        }
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

fn nv(v: &Vector3) -> NV<f64> {
    NV::new(v.x, v.y, v.z)
}

/// The estimator's processing without DDS (the node and `g1d replay` run it).
pub struct EstimatorCore {
    cfg: EstimatorConfig,
    joints: Option<JointState>,
    truth: Option<Odometry>,
    kf: Option<ContactKf>,
    /// The filter's newest estimate (kalman mode) and the time of the last sample.
    estimate: Option<RootState>,
    last_sample_s: Option<f64>,
    next_publish_s: f64,
    /// Sums of joint velocities and gyro samples since the last publication, and their count.
    dq_sum: [f64; NUM_JOINTS],
    gyro_sum: NV<f64>,
    samples: usize,
    pub published: u64,
}

/// One step's outputs (published together at `rate_hz`).
#[derive(Default)]
pub struct EstimatorOut {
    pub state: Option<BodyPosState>,
    pub odom: Option<Odometry>,
    pub tf: Option<TFMessage>,
}

impl EstimatorCore {
    pub fn new(cfg: EstimatorConfig) -> Self {
        Self {
            kf: (cfg.mode == "kalman").then(|| ContactKf::new(cfg.kalman.clone())),
            cfg,
            joints: None,
            truth: None,
            estimate: None,
            last_sample_s: None,
            next_publish_s: 0.0,
            dq_sum: [0.0; NUM_JOINTS],
            gyro_sum: NV::zeros(),
            samples: 0,
            published: 0,
        }
    }

    /// One processing step: the samples received since the last one, in order.
    pub fn process(
        &mut self,
        now_s: f64,
        joints: &[JointState],
        imus: &[Imu],
        truths: &[Odometry],
    ) -> Result<EstimatorOut> {
        let mut out = EstimatorOut::default();
        for j in joints {
            if j.position.len() != NUM_JOINTS || j.velocity.len() != NUM_JOINTS {
                bail!(
                    "/joint_states has {} positions and {} velocities; the G1 has {NUM_JOINTS}",
                    j.position.len(),
                    j.velocity.len()
                );
            }
        }
        if let Some(kf) = self.kf.as_mut() {
            // The bridge publishes one /joint_states and one /imu per LowState: pair them in
            // order; dt from the joint-state stamps.
            for (j, i) in joints.iter().zip(imus) {
                let t = j.header.stamp.as_secs_f64();
                let dt = self
                    .last_sample_s
                    .map_or(0.002, |t0| (t - t0).clamp(1e-4, 0.05));
                self.last_sample_s = Some(t);
                let o = &i.orientation;
                let (g, a) = (&i.angular_velocity, &i.linear_acceleration);
                let est = kf.step(&Sample {
                    dt,
                    quat_wxyz: [o.w, o.x, o.y, o.z],
                    gyro_b: [g.x, g.y, g.z],
                    accel_b: [a.x, a.y, a.z],
                    q: std::array::from_fn(|k| j.position[k]),
                    dq: std::array::from_fn(|k| j.velocity[k]),
                });
                self.estimate = Some(est.root);
            }
        }
        for (j, i) in joints.iter().zip(imus) {
            for k in 0..NUM_JOINTS {
                self.dq_sum[k] += j.velocity[k];
            }
            self.gyro_sum += nv(&i.angular_velocity);
            self.samples += 1;
        }
        if let Some(j) = joints.last() {
            self.joints = Some(j.clone());
        }
        if let Some(o) = truths.last() {
            self.truth = Some(o.clone());
        }
        if now_s < self.next_publish_s {
            return Ok(out);
        }
        let root = match (&self.kf, &self.truth, &self.estimate) {
            (Some(_), _, Some(e)) => *e,
            (None, Some(o), _) => {
                let p = &o.pose.pose;
                let q = crate::unit_quat(&p.orientation);
                RootState {
                    pos_w: NV::new(p.position.x, p.position.y, p.position.z),
                    quat_w: q,
                    lin_vel_w: q * nv(&o.twist.twist.linear),
                    ang_vel_w: q * nv(&o.twist.twist.angular),
                }
            }
            _ => return Ok(out),
        };
        let Some(j) = &self.joints else {
            return Ok(out);
        };
        // On a fixed grid of the node clock (not `now + period`, which drifts by the polling
        // interval every time). A clock summed from physics steps reaches a grid point a
        // rounding error early (0.0199999…): that counts as the grid point, else the next
        // publication would follow one tick later.
        let period = 1.0 / self.cfg.rate_hz;
        self.next_publish_s = ((now_s / period + 1e-6).floor() + 1.0) * period - 1e-9;
        let qj: [f64; NUM_JOINTS] = std::array::from_fn(|i| j.position[i]);
        let mut dq: [f64; NUM_JOINTS] = std::array::from_fn(|i| j.velocity[i]);
        let mut root = root;
        if self.kf.is_some() && self.samples > 0 {
            let n = self.samples as f64;
            if self.cfg.average_joint_velocities {
                dq = std::array::from_fn(|i| self.dq_sum[i] / n);
            }
            if self.cfg.average_angular_velocity {
                root.ang_vel_w = root.quat_w * (self.gyro_sum / n);
            }
        }
        self.dq_sum = [0.0; NUM_JOINTS];
        self.gyro_sum = NV::zeros();
        self.samples = 0;
        let kin = forward_kinematics(&root, &qj, &dq);
        let s = g1::build_state_self(&kin);
        // Stamped with the time of the sample it describes (the bridge's LowState time), so
        // that downstream latency is measured from the robot's measurement.
        let header = Header {
            stamp: j.header.stamp,
            frame_id: self.cfg.odom_frame.clone(),
        };
        let pose = Pose {
            position: pt(&root.pos_w),
            orientation: quat(&root.quat_w),
        };
        out.state = Some(BodyPosState {
            header: header.clone(),
            layout_version: g1::LAYOUT_VERSION,
            state: s.iter().map(|v| *v as f32).collect(),
            root_pose: pose,
            root_twist: Twist {
                linear: v3(&root.lin_vel_w),
                angular: v3(&root.ang_vel_w),
            },
        });
        let q_inv = root.quat_w.inverse();
        out.odom = Some(Odometry {
            header: header.clone(),
            child_frame_id: self.cfg.base_frame.clone(),
            pose: PoseWithCovariance {
                pose,
                covariance: Vec36::default(),
            },
            // REP-105: the twist in the child frame.
            twist: TwistWithCovariance {
                twist: Twist {
                    linear: v3(&(q_inv * root.lin_vel_w)),
                    angular: v3(&(q_inv * root.ang_vel_w)),
                },
                covariance: Vec36::default(),
            },
        });
        out.tf = Some(TFMessage {
            transforms: vec![TransformStamped {
                header,
                child_frame_id: self.cfg.base_frame.clone(),
                transform: Transform {
                    translation: v3(&root.pos_w),
                    rotation: quat(&root.quat_w),
                },
            }],
        });
        self.published += 1;
        Ok(out)
    }
}

impl Replayable for EstimatorCore {
    fn replay_step(&mut self, step: &Step) -> Result<Vec<(String, Vec<u8>)>> {
        let out = self.process(
            step.time_s,
            &step.inputs_of::<JointState>("/joint_states")?,
            &step.inputs_of::<Imu>("/imu")?,
            &step.inputs_of::<Odometry>("/sim/odom")?,
        )?;
        Ok(out.encoded())
    }

    fn decode(&self, topic: &str, bytes: &[u8]) -> Result<serde_json::Value> {
        match topic {
            "/g1d/state" => decode_json::<BodyPosState>(bytes),
            "/odom" => decode_json::<Odometry>(bytes),
            "/tf" => decode_json::<TFMessage>(bytes),
            other => anyhow::bail!("g1_estimator has no output {other}"),
        }
    }
}

impl EstimatorOut {
    fn encoded(&self) -> Vec<(String, Vec<u8>)> {
        let mut v = Vec::new();
        if let Some(m) = &self.state {
            v.push(("/g1d/state".to_string(), g1_msgs::to_cdr(m)));
        }
        if let Some(m) = &self.odom {
            v.push(("/odom".to_string(), g1_msgs::to_cdr(m)));
        }
        if let Some(m) = &self.tf {
            v.push(("/tf".to_string(), g1_msgs::to_cdr(m)));
        }
        v
    }
}

pub struct EstimatorNode {
    name: String,
    pub core: EstimatorCore,
    joints_sub: Subscription<JointState>,
    imu_sub: Subscription<Imu>,
    truth_sub: Subscription<Odometry>,
    state_pub: Publisher<BodyPosState>,
    odom_pub: Publisher<Odometry>,
    tf_pub: Publisher<TFMessage>,
    recorder: Option<IoRecorder>,
    /// For each state published: from its sample's time (the bridge's LowState) to now (ms).
    pub sample_to_state_ms: Vec<f64>,
}

impl EstimatorNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let mut params = ros.ctx.params.clone();
        let record_io = crate::replay::take_string_param(&mut params, "record_io")?;
        let cfg: EstimatorConfig = g1_ros::load_config(&params)?;
        let recorder = IoRecorder::for_param(&record_io, "g1_estimator", &ros.ctx.params)?;
        Ok(Self {
            name: ros.ctx.names.fqn(),
            joints_sub: ros.subscription("/joint_states", QosPreset::Sensor)?,
            imu_sub: ros.subscription("/imu", QosPreset::Sensor)?,
            truth_sub: ros.subscription("/sim/odom", QosPreset::Sensor)?,
            state_pub: ros.publisher("/g1d/state", QosPreset::Command)?,
            odom_pub: ros.publisher("/odom", QosPreset::Sensor)?,
            tf_pub: ros.publisher("/tf", QosPreset::Sensor)?,
            core: EstimatorCore::new(cfg),
            recorder,
            sample_to_state_ms: vec![],
        })
    }
}

impl Node for EstimatorNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        let joints = take_all(&self.joints_sub).0;
        let imus = take_all(&self.imu_sub).0;
        let truths = take_all(&self.truth_sub).0;
        let out = self.core.process(now_s, &joints, &imus, &truths)?;
        let produced = out.state.is_some();
        if let Some(r) = self.recorder.as_mut() {
            if !joints.is_empty() || !imus.is_empty() || !truths.is_empty() || produced {
                for m in &joints {
                    r.input("/joint_states", now_s, m)?;
                }
                for m in &imus {
                    r.input("/imu", now_s, m)?;
                }
                for m in &truths {
                    r.input("/sim/odom", now_s, m)?;
                }
                if let Some(m) = &out.state {
                    r.output("/g1d/state", now_s, m)?;
                }
                if let Some(m) = &out.odom {
                    r.output("/odom", now_s, m)?;
                }
                if let Some(m) = &out.tf {
                    r.output("/tf", now_s, m)?;
                }
                r.end_step(now_s)?;
            }
        }
        if let Some(m) = out.state {
            self.sample_to_state_ms
                .push((now_s - m.header.stamp.as_secs_f64()) * 1e3);
            self.state_pub.publish(m).ok();
        }
        if let Some(m) = out.odom {
            self.odom_pub.publish(m).ok();
        }
        if let Some(m) = out.tf {
            self.tf_pub.publish(m).ok();
        }
        Ok(Duration::from_millis(2))
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(r) = self.recorder.take() {
            r.finish()?;
        }
        Ok(())
    }

    fn report(&self) -> Option<serde_json::Value> {
        let ms = &self.sample_to_state_ms;
        Some(serde_json::json!({
            "states": ms.len(),
            "sample_to_state_ms_p50": g1_control::percentile(ms, 0.5),
            "sample_to_state_ms_p99": g1_control::percentile(ms, 0.99),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use g1_msgs::builtin_interfaces::Time;

    /// Ten 500 Hz samples per 50 Hz state: with `average_angular_velocity` the state's pelvis
    /// angular velocity is their mean, without it the newest sample's, and the same for the
    /// joint velocities with `average_joint_velocities`; the state is stamped with the newest
    /// sample's time.
    #[test]
    fn the_state_averages_the_periods_velocity_samples() {
        let run = |average_w: bool, average_dq: bool| {
            let mut core = EstimatorCore::new(EstimatorConfig {
                average_angular_velocity: average_w,
                average_joint_velocities: average_dq,
                ..EstimatorConfig::default()
            });
            let q = g1::default_pose();
            let (mut joints, mut imus) = (vec![], vec![]);
            for i in 0..10 {
                let t = Time::from_secs_f64(0.002 * i as f64);
                joints.push(JointState {
                    header: Header::new(t, "pelvis"),
                    name: vec![],
                    position: q.to_vec(),
                    // Joint 0 alternating 0 and 1 rad/s: mean 0.5, newest 1.
                    velocity: (0..NUM_JOINTS)
                        .map(|j| if j == 0 && i % 2 == 1 { 1.0 } else { 0.0 })
                        .collect(),
                    effort: vec![],
                });
                // Yaw rate alternating 0 and 0.2 rad/s: mean 0.1, newest 0.2.
                let mut imu = Imu {
                    header: Header::new(t, "pelvis"),
                    ..Default::default()
                };
                imu.orientation.w = 1.0;
                imu.angular_velocity.z = if i % 2 == 1 { 0.2 } else { 0.0 };
                imu.linear_acceleration.z = 9.81;
                imus.push(imu);
            }
            let out = core.process(0.02, &joints, &imus, &[]).unwrap();
            let state = out.state.expect("published");
            assert_eq!(state.header.stamp, joints[9].header.stamp);
            // The state's joint velocities: the state rebuilt from its own root with joint 0 at
            // the mean or the newest velocity.
            let (p, t) = (&state.root_pose, &state.root_twist);
            let root = RootState {
                pos_w: NV::new(p.position.x, p.position.y, p.position.z),
                quat_w: crate::unit_quat(&p.orientation),
                lin_vel_w: nv(&t.linear),
                ang_vel_w: nv(&t.angular),
            };
            let dq_of = |v: f64| {
                let mut dq = [0.0; NUM_JOINTS];
                dq[0] = v;
                g1::build_state_self(&forward_kinematics(&root, &g1::default_pose(), &dq))
                    .iter()
                    .map(|x| *x as f32)
                    .collect::<Vec<_>>()
            };
            let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
            let dq0 = if close(&state.state, &dq_of(0.5)) {
                0.5
            } else if close(&state.state, &dq_of(1.0)) {
                1.0
            } else {
                f64::NAN
            };
            (out.odom.unwrap().twist.twist.angular.z, dq0)
        };
        for (w, dq) in [(true, true), (true, false), (false, true), (false, false)] {
            let (yaw_rate, dq0) = run(w, dq);
            assert!(
                (yaw_rate - if w { 0.1 } else { 0.2 }).abs() < 1e-9,
                "{w} {dq}: {yaw_rate}"
            );
            assert_eq!(dq0, if dq { 0.5 } else { 1.0 }, "{w} {dq}");
        }
    }
}
