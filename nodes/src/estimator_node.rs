//! `g1_estimator`: the Body-Pos state at 50 Hz on `/g1d/state`, `/odom` and `/tf`
//! (`odom → pelvis`). Mode `ground_truth` takes the pelvis pose and twist from the
//! simulator's `/sim/odom` (the paper used motion capture for its obstacle tasks) and the
//! joints from `/joint_states`, through the project's forward kinematics.

use std::time::Duration;

use anyhow::{bail, Result};
use g1::nalgebra::{Quaternion as NQ, UnitQuaternion, Vector3 as NV};
use g1::{forward_kinematics, RootState, NUM_JOINTS};
use g1_msgs::g1d::BodyPosState;
use g1_msgs::geometry_msgs::{Pose, Transform, TransformStamped, Twist, Vector3};
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::Header;
use g1_msgs::tf2_msgs::TFMessage;
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::{range_check, NodeConfig, ParamError};
use serde::Deserialize;

use crate::runtime::Node;
use crate::{pt, quat, stamp, v3};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EstimatorConfig {
    /// `ground_truth` (simulator odometry). The contact-aided Kalman filter is not built yet:
    /// asking for it is an error, not a silent fallback.
    pub mode: String,
    pub rate_hz: f64,
    pub odom_frame: String,
    pub base_frame: String,
}

impl Default for EstimatorConfig {
    fn default() -> Self {
        Self {
            mode: "ground_truth".into(),
            rate_hz: 50.0,
            odom_frame: "odom".into(),
            base_frame: "pelvis".into(),
        }
    }
}

impl NodeConfig for EstimatorConfig {
    fn check(&self) -> Result<(), ParamError> {
        range_check("rate_hz", self.rate_hz, 1.0, 500.0)?;
        if self.mode != "ground_truth" {
            return Err(ParamError::Invalid {
                key: "mode".into(),
                why: format!(
                    "`{}` is not available (only `ground_truth`; the Kalman filter is not built yet)",
                    self.mode
                ),
            });
        }
        Ok(())
    }
}

pub struct EstimatorNode {
    name: String,
    cfg: EstimatorConfig,
    joints_sub: Subscription<JointState>,
    truth_sub: Subscription<Odometry>,
    state_pub: Publisher<BodyPosState>,
    odom_pub: Publisher<Odometry>,
    tf_pub: Publisher<TFMessage>,
    joints: Option<JointState>,
    truth: Option<Odometry>,
    pub published: u64,
}

impl EstimatorNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: EstimatorConfig = ros.ctx.config()?;
        Ok(Self {
            name: ros.ctx.names.fqn(),
            joints_sub: ros.subscription("/joint_states", QosPreset::Sensor)?,
            truth_sub: ros.subscription("/sim/odom", QosPreset::Sensor)?,
            state_pub: ros.publisher("/g1d/state", QosPreset::Sensor)?,
            odom_pub: ros.publisher("/odom", QosPreset::Sensor)?,
            tf_pub: ros.publisher("/tf", QosPreset::Sensor)?,
            cfg,
            joints: None,
            truth: None,
            published: 0,
        })
    }
}

fn nv(v: &Vector3) -> NV<f64> {
    NV::new(v.x, v.y, v.z)
}

impl Node for EstimatorNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        if let Some(j) = take_all(&self.joints_sub).0.pop() {
            if j.position.len() != NUM_JOINTS || j.velocity.len() != NUM_JOINTS {
                bail!(
                    "/joint_states has {} positions and {} velocities; the G1 has {NUM_JOINTS}",
                    j.position.len(),
                    j.velocity.len()
                );
            }
            self.joints = Some(j);
        }
        if let Some(o) = take_all(&self.truth_sub).0.pop() {
            self.truth = Some(o);
        }
        let period = Duration::from_secs_f64(1.0 / self.cfg.rate_hz);
        let (Some(j), Some(o)) = (&self.joints, &self.truth) else {
            return Ok(period);
        };
        let p = &o.pose.pose;
        let q = UnitQuaternion::from_quaternion(NQ::new(
            p.orientation.w,
            p.orientation.x,
            p.orientation.y,
            p.orientation.z,
        ));
        let root = RootState {
            pos_w: NV::new(p.position.x, p.position.y, p.position.z),
            quat_w: q,
            lin_vel_w: q * nv(&o.twist.twist.linear),
            ang_vel_w: q * nv(&o.twist.twist.angular),
        };
        let qj: [f64; NUM_JOINTS] = std::array::from_fn(|i| j.position[i]);
        let dq: [f64; NUM_JOINTS] = std::array::from_fn(|i| j.velocity[i]);
        let kin = forward_kinematics(&root, &qj, &dq);
        let s = g1::build_state_self(&kin);
        let header = Header::new(stamp(now_s), &self.cfg.odom_frame);
        let pose = Pose {
            position: pt(&root.pos_w),
            orientation: quat(&root.quat_w),
        };
        self.state_pub
            .publish(BodyPosState {
                header: header.clone(),
                layout_version: g1::LAYOUT_VERSION,
                state: s.iter().map(|v| *v as f32).collect(),
                root_pose: pose,
                root_twist: Twist {
                    linear: v3(&root.lin_vel_w),
                    angular: v3(&root.ang_vel_w),
                },
            })
            .ok();
        let mut odom = o.clone();
        odom.header = header.clone();
        odom.child_frame_id = self.cfg.base_frame.clone();
        self.odom_pub.publish(odom).ok();
        self.tf_pub
            .publish(TFMessage {
                transforms: vec![TransformStamped {
                    header,
                    child_frame_id: self.cfg.base_frame.clone(),
                    transform: Transform {
                        translation: v3(&root.pos_w),
                        rotation: quat(&root.quat_w),
                    },
                }],
            })
            .ok();
        self.published += 1;
        Ok(period)
    }
}
