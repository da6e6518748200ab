//! `g1_expert`: a Stage 1 policy (Unitree `deploy.yaml` + ONNX) as a node. At 50 Hz it builds
//! the policy's observation from `/joint_states`, `/imu` and (for terms that need it) the
//! estimator's `/odom`, and publishes `joint_targets` with the policy's gains. The velocity
//! command comes from the `command` parameter and, when published, `cmd_vel`.

use std::time::Duration;

use anyhow::{Context as _, Result};
use g1::NUM_JOINTS;
use g1_expert::{Expert, RobotState};
use g1_msgs::g1d::JointTargets;
use g1_msgs::geometry_msgs::Twist;
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::Header;
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::{NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

use crate::runtime::Node;
use crate::stamp;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpertConfig {
    /// Policy directory (deploy.yaml + policy.onnx); relative to the repository's assets.
    pub policy: String,
    /// Velocity command `[vx, vy, wz]` until `cmd_vel` says otherwise.
    pub command: Vec<f64>,
}

impl Default for ExpertConfig {
    fn default() -> Self {
        Self {
            policy: "policies/velocity_mjlab".into(),
            command: vec![0.0, 0.0, 0.0],
        }
    }
}

impl NodeConfig for ExpertConfig {
    fn check(&self) -> Result<(), ParamError> {
        if self.command.len() != 3 || self.command.iter().any(|v| !v.is_finite()) {
            return Err(ParamError::Invalid {
                key: "command".into(),
                why: "expected three finite numbers [vx, vy, wz]".into(),
            });
        }
        Ok(())
    }
}

pub struct ExpertNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<ExpertConfig>,
    expert: Expert,
    command: [f64; 3],
    joints_sub: Subscription<JointState>,
    imu_sub: Subscription<Imu>,
    odom_sub: Subscription<Odometry>,
    cmd_sub: Subscription<Twist>,
    targets_pub: Publisher<JointTargets>,
    joints: Option<JointState>,
    imu: Option<Imu>,
    odom: Option<Odometry>,
    started: bool,
    pub steps: u64,
    /// `cmd_vel` messages taken.
    commands_received: u64,
}

impl ExpertNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: ExpertConfig = ros.ctx.config()?;
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let dir = crate::asset_path(&cfg.policy);
        let expert = Expert::load(&dir, None)
            .with_context(|| format!("parameter `policy`: {}", dir.display()))?;
        Ok(Self {
            params,
            name: ros.ctx.names.fqn(),
            expert,
            command: [cfg.command[0], cfg.command[1], cfg.command[2]],
            joints_sub: ros.subscription("/joint_states", QosPreset::Sensor)?,
            imu_sub: ros.subscription("/imu", QosPreset::Sensor)?,
            odom_sub: ros.subscription("/odom", QosPreset::Sensor)?,
            cmd_sub: ros.subscription("cmd_vel", QosPreset::Command)?,
            targets_pub: ros.publisher("joint_targets", QosPreset::Command)?,
            joints: None,
            imu: None,
            odom: None,
            started: false,
            steps: 0,
            commands_received: 0,
            _ros: ros,
        })
    }

    fn robot_state(&self) -> Option<RobotState> {
        let (j, i) = (self.joints.as_ref()?, self.imu.as_ref()?);
        if j.position.len() != NUM_JOINTS || j.velocity.len() != NUM_JOINTS {
            return None;
        }
        let o = &i.orientation;
        let g = &i.angular_velocity;
        Some(RobotState {
            imu_quat_wxyz: [o.w, o.x, o.y, o.z],
            gyro_b: [g.x, g.y, g.z],
            q: std::array::from_fn(|k| j.position[k]),
            dq: std::array::from_fn(|k| j.velocity[k]),
            root_pos_w: self.odom.as_ref().map(|o| {
                let p = &o.pose.pose.position;
                [p.x, p.y, p.z]
            }),
            root_lin_vel_b: self.odom.as_ref().map(|o| {
                let v = &o.twist.twist.linear;
                [v.x, v.y, v.z]
            }),
        })
    }
}

impl Node for ExpertNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn report(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "steps": self.steps,
            "cmd_vel_received": self.commands_received,
            "command": self.command,
        }))
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.params.poll(now_s);
        if let Some(j) = take_all(&self.joints_sub).0.pop() {
            self.joints = Some(j);
        }
        if let Some(i) = take_all(&self.imu_sub).0.pop() {
            self.imu = Some(i);
        }
        if let Some(o) = take_all(&self.odom_sub).0.pop() {
            self.odom = Some(o);
        }
        let cmds = take_all(&self.cmd_sub).0;
        self.commands_received += cmds.len() as u64;
        if let Some(c) = cmds.last() {
            self.command = [c.linear.x, c.linear.y, c.angular.z];
        }
        let period = Duration::from_secs_f64(self.expert.step_dt_s);
        let Some(rs) = self.robot_state() else {
            return Ok(period);
        };
        if !self.started {
            self.expert.reset(&rs)?;
            self.started = true;
        }
        let a = self.expert.step(&rs, self.command)?;
        self.targets_pub
            .publish(JointTargets {
                // Stamped with the joint state they answer (a lockstep simulator waits for it).
                header: Header::new(
                    self.joints
                        .as_ref()
                        .map_or(stamp(now_s), |j| j.header.stamp),
                    "pelvis",
                ),
                policy_id: self.expert.name.clone(),
                action: a.normalized.iter().map(|v| *v as f32).collect(),
                q_target: a.q_target.to_vec(),
                kp: a.kp.iter().map(|v| *v as f32).collect(),
                kd: a.kd.iter().map(|v| *v as f32).collect(),
            })
            .ok();
        self.steps += 1;
        Ok(period)
    }
}
