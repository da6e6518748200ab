//! `g1_sim_adapter`: the suite on a simulator that speaks the generic ROS 2 robot interface
//! (Isaac Sim's ROS 2 bridge, Gazebo through ros_gz / ros2_control, or any engine publishing
//! these topics), presented to the rest of the suite as the robot and `g1_sim` present it: a
//! signed `/lowstate` per simulator state, `/lowcmd` taken and carried to the simulator. The
//! bridge, estimator, expert and planner run unchanged.
//!
//! | simulator side (under `engine_ns`, default `/engine`) | type | direction |
//! |---|---|---|
//! | `joint_states` | `sensor_msgs/JointState` (named joints, any order; position, velocity, effort) | in |
//! | `imu` | `sensor_msgs/Imu` (pelvis: orientation, angular velocity, specific force) | in |
//! | `odom` | `nav_msgs/Odometry` (ground truth, optional) → `/sim/odom` | in |
//! | `joint_command` | `sensor_msgs/JointState` (SDK joint names) | out |
//! | `/clock` | `rosgraph_msgs/Clock` (the simulator's, for nodes on `use_sim_time`) | — |
//!
//! Commands (`command`): `effort` answers every simulator state with the torques the G1's
//! motor drivers would apply, `kp (q* − q) + kd (dq* − dq) + τ` from the newest LowCmd (its
//! per-message gains carried exactly; stamped with the state they answer, so a simulator can
//! step in lockstep); `position` sends each LowCmd's targets (`position`, `velocity`, `effort`
//! = feed-forward) for a simulator whose joint drives hold them — the drives' gains are set
//! once on the simulator side from the joint table, so a LowCmd's own gains cannot be carried:
//! those that differ from the table by more than 1 % are counted (`gain_mismatches`). The remote
//! is scripted (`remote_script`, as `g1_sim`'s), from the first LowCmd on.

use std::time::Duration;

use anyhow::Result;
use g1::{JOINTS, NUM_JOINTS};
use g1_hg::check_low_cmd;
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::{Float64, Header};
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::{range_check, NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

use crate::runtime::Node;
use crate::sim_node::{low_state_of, motor_command, parse_script, scripted_remote};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimAdapterConfig {
    /// Namespace of the simulator's topics.
    pub engine_ns: String,
    /// `effort` (torques from each LowCmd's PD, per simulator state) or `position` (the
    /// LowCmd's targets for the simulator's own joint drives).
    pub command: String,
    /// Scripted remote, as `g1_sim`'s: `"t:chord"` entries from the first LowCmd.
    pub remote_script: Vec<String>,
    /// `LowState.mode_machine` reported.
    pub mode_machine: i64,
    /// `joint_state`: one `sensor_msgs/JointState` on `<ns>/joint_command` (Isaac Sim's
    /// articulation controller); `per_joint`: one `std_msgs/Float64` per joint on
    /// `<ns>/joint/<name>/cmd_force` (effort) or `cmd_pos` (position), the topics Gazebo's
    /// ApplyJointForce / JointPositionController systems take through ros_gz_bridge.
    pub command_topics: String,
}

impl Default for SimAdapterConfig {
    fn default() -> Self {
        Self {
            engine_ns: "/engine".into(),
            command: "effort".into(),
            remote_script: Vec::new(),
            mode_machine: 5,
            command_topics: "joint_state".into(),
        }
    }
}

impl NodeConfig for SimAdapterConfig {
    fn check(&self) -> Result<(), ParamError> {
        if !matches!(self.command.as_str(), "effort" | "position") {
            return Err(ParamError::Invalid {
                key: "command".into(),
                why: format!("`{}`: expected effort or position", self.command),
            });
        }
        if !matches!(self.command_topics.as_str(), "joint_state" | "per_joint") {
            return Err(ParamError::Invalid {
                key: "command_topics".into(),
                why: format!(
                    "`{}`: expected joint_state or per_joint",
                    self.command_topics
                ),
            });
        }
        if !self.engine_ns.starts_with('/') {
            return Err(ParamError::Invalid {
                key: "engine_ns".into(),
                why: format!("`{}` must be absolute (e.g. /engine)", self.engine_ns),
            });
        }
        range_check("mode_machine", self.mode_machine as f64, 0.0, 255.0)?;
        parse_script(&self.remote_script).map(|_| ())
    }
}

/// The adapter's simulator-side interface for `cfg`: (topic, ROS type, `in` or `out`).
pub fn interface(cfg: &SimAdapterConfig) -> Vec<(String, &'static str, &'static str)> {
    let ns = cfg.engine_ns.trim_end_matches('/');
    let mut v = vec![
        (
            format!("{ns}/joint_states"),
            "sensor_msgs/msg/JointState",
            "in",
        ),
        (format!("{ns}/imu"), "sensor_msgs/msg/Imu", "in"),
        (format!("{ns}/odom"), "nav_msgs/msg/Odometry", "in"),
        ("/clock".to_string(), "rosgraph_msgs/msg/Clock", "in"),
    ];
    if cfg.command_topics == "per_joint" {
        let leaf = if cfg.command == "effort" {
            "cmd_force"
        } else {
            "cmd_pos"
        };
        for r in JOINTS.iter() {
            v.push((
                format!("{ns}/joint/{}/{leaf}", r.model_name()),
                "std_msgs/msg/Float64",
                "out",
            ));
        }
    } else {
        v.push((
            format!("{ns}/joint_command"),
            "sensor_msgs/msg/JointState",
            "out",
        ));
    }
    v
}

/// What the adapter counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AdapterCounters {
    pub states: u64,
    pub commands_out: u64,
    pub lowcmds: u64,
    pub bad_crc: u64,
    /// Simulator states that could not be read (a G1 joint missing, no IMU yet).
    pub unreadable_states: u64,
    pub gain_mismatches: u64,
}

/// The motor drivers' torque for one joint (unpowered motors give none), within the effort
/// limit: the simulator's PD law ([`g1_sim::MotorCommand::torque`]).
pub fn pd_torque(cmd: &LowCmd, j: usize, q: f64, dq: f64) -> f64 {
    let c = motor_command(cmd);
    c.torque(j, c.q[j], q, dq)
}

/// For each SDK joint, its index in the simulator's `names` (`None`: a joint is missing).
pub fn sdk_order(names: &[String]) -> Option<[usize; NUM_JOINTS]> {
    let mut out = [0; NUM_JOINTS];
    for (j, o) in out.iter_mut().enumerate() {
        let want = JOINTS[j].model_name();
        *o = names
            .iter()
            .position(|n| *n == want || n.strip_suffix("_joint") == want.strip_suffix("_joint"))?;
    }
    Some(out)
}

pub struct SimAdapterNode {
    name: String,
    _ros: RosNode,
    params: g1_ros::param_server::ParamServer<SimAdapterConfig>,
    log: g1_ros::rosout::NodeLogger,
    cfg: SimAdapterConfig,
    script: Vec<(f64, u16)>,
    joints_sub: Subscription<JointState>,
    imu_sub: Subscription<Imu>,
    odom_sub: Subscription<Odometry>,
    lowcmd_sub: Subscription<LowCmd>,
    lowstate_pub: Publisher<LowState>,
    odom_pub: Publisher<Odometry>,
    command_pub: Publisher<JointState>,
    /// `per_joint` commands: one publisher per joint, SDK order.
    joint_pubs: Vec<Publisher<Float64>>,
    imu: Option<Imu>,
    cmd: Option<LowCmd>,
    /// Simulator time of the first LowCmd (the remote script's origin).
    first_cmd_s: Option<f64>,
    last_state_s: f64,
    tick: u32,
    /// The state count of the next progress line.
    next_report: u64,
    pub counters: AdapterCounters,
}

impl SimAdapterNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: SimAdapterConfig = ros.ctx.config()?;
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let ns = cfg.engine_ns.trim_end_matches('/').to_string();
        let script = parse_script(&cfg.remote_script)?;
        let mut joint_pubs = Vec::new();
        if cfg.command_topics == "per_joint" {
            for (topic, _, dir) in interface(&cfg) {
                if dir == "out" {
                    joint_pubs.push(ros.publisher(&topic, QosPreset::Command)?);
                }
            }
        }
        Ok(Self {
            joint_pubs,
            params,
            name: ros.ctx.names.fqn(),
            log: ros.logger(),
            script,
            // Reliable, keep 10: a simulator in lockstep waits for every answer.
            joints_sub: ros.subscription(&format!("{ns}/joint_states"), QosPreset::Command)?,
            imu_sub: ros.subscription(&format!("{ns}/imu"), QosPreset::Command)?,
            odom_sub: ros.subscription(&format!("{ns}/odom"), QosPreset::Sensor)?,
            lowcmd_sub: ros.subscription("/lowcmd", QosPreset::Command)?,
            lowstate_pub: ros.publisher("/lowstate", QosPreset::Sensor)?,
            odom_pub: ros.publisher("/sim/odom", QosPreset::Sensor)?,
            command_pub: ros.publisher(&format!("{ns}/joint_command"), QosPreset::Command)?,
            cfg,
            imu: None,
            cmd: None,
            first_cmd_s: None,
            last_state_s: 0.0,
            tick: 0,
            next_report: 5000,
            counters: AdapterCounters::default(),
            _ros: ros,
        })
    }

    fn position_command(&mut self, c: &LowCmd) {
        let m = &c.motor_cmd;
        for (j, row) in JOINTS.iter().enumerate() {
            let off = |a: f64, b: f64| (a - b).abs() > 0.01 * b.abs().max(1e-6);
            if m[j].mode != 0 && (off(m[j].kp as f64, row.kp()) || off(m[j].kd as f64, row.kd())) {
                self.counters.gain_mismatches += 1;
                break;
            }
        }
        if !self.joint_pubs.is_empty() {
            for (p, c) in self.joint_pubs.iter().zip(m.iter()) {
                p.publish(Float64 { data: c.q as f64 }).ok();
            }
            self.counters.commands_out += 1;
            return;
        }
        let js = JointState {
            header: Header::new(crate::stamp(self.last_state_s), ""),
            name: JOINTS.iter().map(|r| r.model_name()).collect(),
            position: m[..NUM_JOINTS].iter().map(|c| c.q as f64).collect(),
            velocity: m[..NUM_JOINTS].iter().map(|c| c.dq as f64).collect(),
            effort: m[..NUM_JOINTS].iter().map(|c| c.tau as f64).collect(),
        };
        if self.command_pub.publish(js).is_ok() {
            self.counters.commands_out += 1;
        }
    }

    /// One simulator state: its LowState, and in effort mode the torques answering it.
    fn state(&mut self, js: &JointState) {
        let (Some(imu), Some(order)) = (self.imu.as_ref(), sdk_order(&js.name)) else {
            self.counters.unreadable_states += 1;
            return;
        };
        let get = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
        let q: [f64; NUM_JOINTS] = std::array::from_fn(|j| get(&js.position, order[j]));
        let dq: [f64; NUM_JOINTS] = std::array::from_fn(|j| get(&js.velocity, order[j]));
        let tau: [f64; NUM_JOINTS] = std::array::from_fn(|j| get(&js.effort, order[j]));
        let (o, g, a) = (
            &imu.orientation,
            &imu.angular_velocity,
            &imu.linear_acceleration,
        );
        let sensors = g1_sim::Sensors {
            imu_quat_wxyz: [o.w, o.x, o.y, o.z],
            gyro_b: [g.x, g.y, g.z],
            accel_b: [a.x, a.y, a.z],
            q,
            dq,
            tau,
        };
        let t = js.header.stamp.as_secs_f64();
        self.last_state_s = t;
        let remote = match self.first_cmd_s {
            Some(t0) => scripted_remote(&self.script, t - t0),
            None => Default::default(),
        };
        self.tick = self.tick.wrapping_add(1);
        let ls = low_state_of(&sensors, self.tick, self.cfg.mode_machine as u8, &remote);
        self.lowstate_pub.publish(ls).ok();
        self.counters.states += 1;
        if self.cfg.command == "effort" {
            let effort: Vec<f64> = match self.cmd.as_ref().map(motor_command) {
                Some(c) => (0..NUM_JOINTS)
                    .map(|j| c.torque(j, c.q[j], q[j], dq[j]))
                    .collect(),
                None => vec![0.0; NUM_JOINTS],
            };
            if !self.joint_pubs.is_empty() {
                for (p, t) in self.joint_pubs.iter().zip(&effort) {
                    p.publish(Float64 { data: *t }).ok();
                }
                self.counters.commands_out += 1;
                return;
            }
            let out = JointState {
                header: js.header.clone(),
                name: JOINTS.iter().map(|r| r.model_name()).collect(),
                position: vec![],
                velocity: vec![],
                effort,
            };
            if self.command_pub.publish(out).is_ok() {
                self.counters.commands_out += 1;
            }
        }
    }
}

impl Node for SimAdapterNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.params.poll(now_s);
        for c in take_all(&self.lowcmd_sub).0 {
            if check_low_cmd(&c).is_err() {
                self.counters.bad_crc += 1;
                continue;
            }
            self.counters.lowcmds += 1;
            self.first_cmd_s.get_or_insert(self.last_state_s);
            if self.cfg.command == "position" {
                self.position_command(&c);
            }
            self.cmd = Some(c);
        }
        if let Some(o) = take_all(&self.odom_sub).0.pop() {
            self.odom_pub.publish(o).ok();
        }
        // States and IMU samples pair in arrival order (the simulator sends one of each per
        // step); an IMU sample without its state updates the attitude for the next.
        let imus = take_all(&self.imu_sub).0;
        let states = take_all(&self.joints_sub).0;
        let mut imus = imus.into_iter();
        for js in &states {
            if let Some(i) = imus.next() {
                self.imu = Some(i);
            }
            self.state(js);
        }
        if let Some(i) = imus.last() {
            self.imu = Some(i);
        }
        if self.counters.states >= self.next_report {
            self.next_report = self.counters.states + 5000;
            self.log.info(&format!(
                "{} states, {} LowCmds, {} commands out",
                self.counters.states, self.counters.lowcmds, self.counters.commands_out
            ));
        }
        Ok(Duration::from_micros(200))
    }

    fn report(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.counters).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torques_are_the_motor_drivers_pd_and_joints_are_found_by_name() {
        let mut c = LowCmd::default();
        c.motor_cmd[3].mode = 1;
        c.motor_cmd[3].q = 0.5;
        c.motor_cmd[3].kp = 100.0;
        c.motor_cmd[3].kd = 2.0;
        c.motor_cmd[3].tau = 1.0;
        let t = pd_torque(&c, 3, 0.4, 0.5);
        assert!((t - (100.0 * 0.1 + 2.0 * -0.5 + 1.0)).abs() < 1e-4, "{t}");
        assert_eq!(pd_torque(&c, 4, 0.4, 0.5), 0.0, "unpowered");
        c.motor_cmd[3].kp = 1e6;
        assert_eq!(pd_torque(&c, 3, 0.0, 0.0), JOINTS[3].effort_limit_nm());
        let mut names: Vec<String> = JOINTS.iter().map(|r| r.model_name()).collect();
        names.reverse();
        let order = sdk_order(&names).unwrap();
        assert_eq!(order[0], NUM_JOINTS - 1);
        names.pop();
        assert!(sdk_order(&names).is_none());
        let bad = SimAdapterConfig {
            command: "velocity".into(),
            ..Default::default()
        };
        assert!(bad.check().is_err());
    }
}
