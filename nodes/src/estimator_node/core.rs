//! The estimator's processing without DDS ([`EstimatorCore`]): samples in, the Body-Pos state,
//! odometry and transform out. The node, `g1d replay` and the deployed evaluation run it.

use anyhow::{bail, Result};
use g1::nalgebra::Vector3 as NV;
use g1::{forward_kinematics, RootState, NUM_JOINTS};
use g1_estimator::{ContactKf, Sample};
use g1_msgs::g1d::BodyPosState;
use g1_msgs::geometry_msgs::{Transform, TransformStamped, Twist};
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::Header;
use g1_msgs::tf2_msgs::TFMessage;

use super::{EstimatorConfig, EstimatorMode};
use crate::replay::{decode_json, Replayable, Step};
use crate::{quat, v3};

use crate::convert::nv;

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
    /// Sum of the filter's pelvis velocity estimates since the last publication (one per
    /// sample: `samples` of them).
    v_sum: NV<f64>,
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
            kf: (cfg.mode == EstimatorMode::Kalman).then(|| ContactKf::new(cfg.kalman.clone())),
            cfg,
            joints: None,
            truth: None,
            estimate: None,
            last_sample_s: None,
            next_publish_s: 0.0,
            dq_sum: [0.0; NUM_JOINTS],
            gyro_sum: NV::zeros(),
            samples: 0,
            v_sum: NV::zeros(),
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
                    tau: (j.effort.len() == NUM_JOINTS)
                        .then(|| std::array::from_fn(|k| j.effort[k])),
                });
                self.estimate = Some(est.root);
                self.v_sum += est.root.lin_vel_w;
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
            if self.cfg.average_linear_velocity {
                root.lin_vel_w = self.v_sum / n;
            }
        }
        self.v_sum = NV::zeros();
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
        let pose = crate::convert::pose_of(&root);
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
        out.odom = Some(crate::convert::odometry(
            &root,
            header.clone(),
            &self.cfg.base_frame,
        ));
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

    /// With `average_linear_velocity` the state's pelvis velocity is the mean of the filter's
    /// estimates over the period (a filter run beside it on the same samples), without it the
    /// newest; the accelerometer's forward reading alternates, so the two differ.
    #[test]
    fn the_state_averages_the_filters_velocity_over_the_period() {
        let q = g1::default_pose();
        let samples: Vec<(JointState, Imu)> = (0..10)
            .map(|i| {
                let t = Time::from_secs_f64(0.002 * i as f64);
                let mut imu = Imu {
                    header: Header::new(t, "pelvis"),
                    ..Default::default()
                };
                imu.orientation.w = 1.0;
                imu.linear_acceleration.x = if i % 2 == 1 { 3.0 } else { -1.0 };
                imu.linear_acceleration.z = 9.81;
                let joints = JointState {
                    header: Header::new(t, "pelvis"),
                    name: vec![],
                    position: q.to_vec(),
                    velocity: vec![0.0; NUM_JOINTS],
                    effort: vec![],
                };
                (joints, imu)
            })
            .collect();
        let cfg = EstimatorConfig::default();
        let mut kf = ContactKf::new(cfg.kalman.clone());
        let v: Vec<f64> = samples
            .iter()
            .map(|(_, i)| {
                let a = &i.linear_acceleration;
                kf.step(&g1_estimator::Sample {
                    dt: 0.002,
                    quat_wxyz: [1.0, 0.0, 0.0, 0.0],
                    gyro_b: [0.0; 3],
                    accel_b: [a.x, a.y, a.z],
                    q,
                    dq: [0.0; NUM_JOINTS],
                    tau: None,
                })
                .root
                .lin_vel_w
                .x
            })
            .collect();
        let (mean, newest) = (v.iter().sum::<f64>() / 10.0, v[9]);
        assert!((mean - newest).abs() > 1e-4, "{mean} {newest}");
        for average in [true, false] {
            let mut core = EstimatorCore::new(EstimatorConfig {
                average_linear_velocity: average,
                ..cfg.clone()
            });
            let (joints, imus): (Vec<_>, Vec<_>) = samples.iter().cloned().unzip();
            let out = core.process(0.02, &joints, &imus, &[]).unwrap();
            let vx = out.odom.unwrap().twist.twist.linear.x;
            let want = if average { mean } else { newest };
            assert!((vx - want).abs() < 1e-12, "{average}: {vx} against {want}");
        }
    }
}
