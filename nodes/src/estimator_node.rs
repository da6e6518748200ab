//! `g1_estimator`: the Body-Pos state at 50 Hz on `/g1d/state`, `/odom` and `/tf`
//! (`odom → pelvis`). Mode `kalman` (default) runs the contact-aided Kalman filter of
//! `g1-estimator` on every `/imu` + `/joint_states` sample (the robot's 500 Hz): IMU attitude,
//! accelerometer prediction, leg kinematics and stance-foot constraints; `odom` starts where the
//! robot starts. Mode `ground_truth` takes the pelvis pose and twist from the simulator's
//! `/sim/odom` instead (the paper used motion capture for its obstacle tasks).

mod config;
mod core;

pub use config::{EstimatorConfig, EstimatorMode};
pub use core::{EstimatorCore, EstimatorOut};

use std::time::Duration;

use anyhow::Result;
use g1_msgs::g1d::BodyPosState;
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::tf2_msgs::TFMessage;
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};

use crate::io_record::IoRecorder;
use crate::runtime::Node;

pub struct EstimatorNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<EstimatorConfig>,
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
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let recorder = IoRecorder::for_param(&record_io, "g1_estimator", &ros.ctx.params)?;
        Ok(Self {
            params,
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
            _ros: ros,
        })
    }
}

impl Node for EstimatorNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.params.poll(now_s);
        let joints = take_all(&self.joints_sub).0;
        let imus = take_all(&self.imu_sub).0;
        let truths = take_all(&self.truth_sub).0;
        let out = self.core.process(now_s, &joints, &imus, &truths)?;
        let produced = out.state.is_some();
        if let Some(r) = self.recorder.as_mut() {
            if !joints.is_empty() || !imus.is_empty() || !truths.is_empty() || produced {
                r.inputs("/joint_states", now_s, &joints)?;
                r.inputs("/imu", now_s, &imus)?;
                r.inputs("/sim/odom", now_s, &truths)?;
                r.outputs("/g1d/state", now_s, out.state.as_slice())?;
                r.outputs("/odom", now_s, out.odom.as_slice())?;
                r.outputs("/tf", now_s, out.tf.as_slice())?;
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
