//! `g1_bridge`: the hardware interface, identical against the robot and `g1_sim`. Every
//! `/lowstate` runs one tick of the [`g1_bridge::Bridge`] safety core and answers with a
//! signed `/lowcmd`; the measurements go out as `/joint_states` and `/imu` (REP-103 units,
//! frame `pelvis`); joint targets come in on `joint_targets`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use g1::JOINTS;
use g1_bridge::{Bridge, BridgeConfig, Mode, Targets};
use g1_msgs::g1d::JointTargets;
use g1_msgs::geometry_msgs::{Quaternion, Vector3};
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::Header;
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};

use crate::runtime::Node;
use crate::stamp;

#[derive(Debug, Clone, Default)]
pub struct BridgeStatus {
    pub mode: Option<Mode>,
    pub ticks: u64,
    pub bad_crc: u64,
    pub transitions: Vec<String>,
}

pub struct BridgeNode {
    name: String,
    bridge: Bridge,
    joint_names: Vec<String>,
    state_sub: Subscription<LowState>,
    targets_sub: Subscription<JointTargets>,
    cmd_pub: Publisher<LowCmd>,
    joints_pub: Publisher<JointState>,
    imu_pub: Publisher<Imu>,
    logged: usize,
    pub status: Arc<Mutex<BridgeStatus>>,
}

impl BridgeNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: BridgeConfig = ros.ctx.config()?;
        Ok(Self {
            name: ros.ctx.names.fqn(),
            bridge: Bridge::new(cfg)?,
            joint_names: JOINTS.iter().map(|j| j.model_name()).collect(),
            state_sub: ros.subscription("/lowstate", QosPreset::Sensor)?,
            targets_sub: ros.subscription("joint_targets", QosPreset::Command)?,
            cmd_pub: ros.publisher("/lowcmd", QosPreset::Command)?,
            joints_pub: ros.publisher("/joint_states", QosPreset::Sensor)?,
            imu_pub: ros.publisher("/imu", QosPreset::Sensor)?,
            logged: 0,
            status: Arc::new(Mutex::new(BridgeStatus::default())),
        })
    }
}

impl Node for BridgeNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        for t in take_all(&self.targets_sub).0 {
            let f = |v: &[f32]| v.iter().map(|x| *x as f64).collect::<Vec<_>>();
            self.bridge.set_targets(Targets {
                q: t.q_target.clone(),
                kp: f(&t.kp),
                kd: f(&t.kd),
                stamp_s: now_s,
            });
        }
        let (states, _) = take_all(&self.state_sub);
        for s in &states {
            let cmd = self.bridge.tick(now_s, Some(s));
            self.cmd_pub.publish(cmd).ok();
            if let Some(m) = self.bridge.measured() {
                let header = Header::new(stamp(now_s), "pelvis");
                self.joints_pub
                    .publish(JointState {
                        header: header.clone(),
                        name: self.joint_names.clone(),
                        position: m.q.to_vec(),
                        velocity: m.dq.to_vec(),
                        effort: m.tau.to_vec(),
                    })
                    .ok();
                let [w, x, y, z] = m.quat_wxyz;
                self.imu_pub
                    .publish(Imu {
                        header,
                        orientation: Quaternion { x, y, z, w },
                        orientation_covariance: [0.0; 9],
                        angular_velocity: Vector3 {
                            x: m.gyro[0],
                            y: m.gyro[1],
                            z: m.gyro[2],
                        },
                        angular_velocity_covariance: [0.0; 9],
                        linear_acceleration: Vector3 {
                            x: m.accel[0],
                            y: m.accel[1],
                            z: m.accel[2],
                        },
                        linear_acceleration_covariance: [0.0; 9],
                    })
                    .ok();
            }
        }
        if states.is_empty() {
            // No LowState: the watchdog still runs (and damps after the timeout), but nothing
            // is sent — the robot only listens to commands answering its state stream.
            self.bridge.tick(now_s, None);
        }
        let tr = self.bridge.transitions();
        let mut st = self.status.lock().expect("status");
        for t in &tr[self.logged..] {
            let line = format!(
                "[{}] {:.3} s: {} → {} ({})",
                self.name,
                t.time_s,
                t.from.name(),
                t.to.name(),
                t.reason
            );
            eprintln!("{line}");
            st.transitions.push(line);
        }
        self.logged = tr.len();
        st.mode = Some(self.bridge.mode());
        st.ticks += states.len() as u64;
        st.bad_crc = self.bridge.counters.bad_crc;
        Ok(Duration::from_micros(500))
    }
}
