//! `g1_sim`: the MuJoCo G1 speaking the robot's own DDS protocol — it subscribes `/lowcmd`
//! (`rt/lowcmd`, CRC checked like the firmware: a bad one is dropped and counted) and
//! publishes `/lowstate` (`rt/lowstate`, signed) after every physics step, `/clock`, and the
//! ground-truth pelvis odometry on `/sim/odom` (the paper's motion capture). A bridge cannot
//! tell it from the robot. Options: a gantry holding the pelvis for the first seconds (a real
//! G1 starts hanging from one), and a scripted wireless remote (`"t:chord"` entries) so
//! button chords can be tested.

mod config;
mod protocol;

pub use config::{parse_script, SimNodeConfig};
pub use protocol::{decimation_for, low_state_of, motor_command, scripted_remote};

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, Result};
use g1::{RootState, NUM_JOINTS};
use g1_hg::{check_low_cmd, Remote};
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::rosgraph_msgs::Clock;
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_sim::{InitialState, MotorCommand, Sim, SimConfig};

use crate::runtime::Node;
use crate::stamp;

/// What the simulator node reports to whoever composed it (tests, `g1d up`).
#[derive(Debug, Clone, Default)]
pub struct SimStatus {
    pub time_s: f64,
    /// When the G1 first fell (s), and control periods that ended touching an obstacle.
    pub fall_time_s: Option<f64>,
    pub contact_steps: u64,
    pub root_xyz: [f64; 3],
    pub head_height_m: f64,
    pub fell: bool,
    pub commands: u64,
    pub bad_crc: u64,
    pub steps: u64,
    /// Joint positions (SDK order, rad).
    pub q: Vec<f64>,
}

pub struct SimNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<SimNodeConfig>,
    /// stderr and `/rosout`.
    log: g1_ros::rosout::NodeLogger,
    sim: Sim,
    cfg: SimNodeConfig,
    script: Vec<(f64, u16)>,
    start_root: RootState,
    /// Simulated time of the first valid LowCmd: the gantry and the script count from it.
    connected_s: Option<f64>,
    cmd_sub: Subscription<LowCmd>,
    targets_sub: Subscription<g1_msgs::g1d::JointTargets>,
    /// Lockstep bookkeeping: LowCmds since the last LowState; newest targets stamp seen.
    cmds_since_state: u64,
    newest_targets_s: Option<f64>,
    state_pub: Publisher<LowState>,
    clock_pub: Publisher<Clock>,
    odom_pub: Publisher<Odometry>,
    tick: u32,
    decimation: u32,
    next_odom_s: f64,
    next_report_s: f64,
    pub status: Arc<Mutex<SimStatus>>,
}

impl SimNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: SimNodeConfig = ros.ctx.config()?;
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let mut sc = if cfg.sim_config.is_empty() {
            SimConfig::default()
        } else {
            let text = std::fs::read_to_string(&cfg.sim_config)
                .with_context(|| format!("reading sim_config {}", cfg.sim_config))?;
            serde_yaml::from_str::<SimConfig>(&text)
                .with_context(|| format!("parameter `sim_config`: {}", cfg.sim_config))?
        };
        // The control period stays 20 ms; the physics step is the node's.
        let decimation = decimation_for(cfg.timestep_s)?;
        sc.timestep_s = cfg.timestep_s;
        sc.decimation = decimation;
        let mut sim = Sim::new(&g1_sim::default_assets_dir(), sc)?;
        let decimation_u32 = decimation as u32;
        let mut init = InitialState::standing(0.8);
        sim.place_on_ground(&mut init);
        sim.reset(&init, cfg.seed as u64)?;
        // The robot starts unpowered: zero torque until a LowCmd arrives.
        sim.set_command(&MotorCommand::with_gains(
            init.q,
            [0.0; NUM_JOINTS],
            [0.0; NUM_JOINTS],
        ));
        let script = parse_script(&cfg.remote_script)?;
        Ok(Self {
            params,
            name: ros.ctx.names.fqn(),
            log: ros.logger(),
            cmd_sub: ros.subscription("/lowcmd", QosPreset::Command)?,
            targets_sub: ros.subscription("joint_targets", QosPreset::Command)?,
            cmds_since_state: 0,
            newest_targets_s: None,
            state_pub: ros.publisher("/lowstate", QosPreset::Sensor)?,
            clock_pub: ros.publisher("/clock", QosPreset::Sensor)?,
            odom_pub: ros.publisher("/sim/odom", QosPreset::Sensor)?,
            start_root: init.root,
            sim,
            cfg,
            script,
            connected_s: None,
            tick: 0,
            decimation: decimation_u32,
            next_odom_s: 0.0,
            next_report_s: 0.0,
            status: Arc::new(Mutex::new(SimStatus::default())),
            _ros: ros,
        })
    }

    /// Simulated seconds since the bridge connected (`None` before).
    fn since_connected(&self) -> Option<f64> {
        self.connected_s.map(|c| self.sim.time_s() - c)
    }

    fn low_state(&mut self) -> LowState {
        let remote = match self.since_connected() {
            Some(t) => scripted_remote(&self.script, t),
            None => Remote::default(),
        };
        low_state_of(
            &self.sim.sensors(),
            self.tick,
            self.cfg.mode_machine as u8,
            &remote,
        )
    }
}

impl Node for SimNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn report(&self) -> Option<serde_json::Value> {
        let st = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        Some(serde_json::json!({
            "time_s": st.time_s,
            "fell": st.fell,
            "fall_time_s": st.fall_time_s,
            "final_xy": [st.root_xyz[0], st.root_xyz[1]],
            "contacts": st.contact_steps,
            "bad_crc": st.bad_crc,
        }))
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.params.poll(now_s);
        let mut cmds = take_all(&self.cmd_sub).0;
        if self.cfg.lockstep {
            let t = self.sim.time_s();
            let boundary = self.tick > 0 && self.tick.is_multiple_of(self.decimation);
            let wait_start = std::time::Instant::now();
            let timeout = Duration::from_secs_f64(self.cfg.lockstep_timeout_s);
            loop {
                for tg in take_all(&self.targets_sub).0 {
                    let ts = tg.header.stamp.as_secs_f64();
                    self.newest_targets_s = Some(self.newest_targets_s.map_or(ts, |n| n.max(ts)));
                }
                self.cmds_since_state += cmds.len() as u64;
                let answered = self.tick == 0 || self.cmds_since_state > 0;
                let planned = !boundary
                    || self
                        .newest_targets_s
                        .is_none_or(|n| n + 1e-6 >= t - self.sim.control_dt_s());
                if (answered && planned) || wait_start.elapsed() > timeout {
                    break;
                }
                std::thread::sleep(Duration::from_micros(50));
                let more = take_all(&self.cmd_sub).0;
                cmds.extend(more);
            }
            self.cmds_since_state = 0;
        }
        let mut st = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = cmds.iter().rev().find(|c| check_low_cmd(c).is_ok()) {
            self.sim.set_command(&motor_command(c));
            self.connected_s.get_or_insert(self.sim.time_s());
        }
        st.bad_crc += cmds.iter().filter(|c| check_low_cmd(c).is_err()).count() as u64;
        st.commands += cmds.len() as u64;
        drop(st);
        if self.cfg.gantry_s > 0.0 && self.since_connected().is_none_or(|t| t < self.cfg.gantry_s) {
            self.sim.pin_root(&self.start_root);
        }
        self.sim.step_physics();
        self.tick = self.tick.wrapping_add(1);
        let t = self.sim.time_s();
        let ls = self.low_state();
        self.state_pub.publish(ls).ok();
        self.clock_pub.publish(Clock { clock: stamp(t) }).ok();
        let gt = self.sim.ground_truth();
        if t + 1e-9 >= self.next_odom_s {
            self.next_odom_s += 1.0 / self.cfg.odom_rate_hz;
            self.odom_pub
                .publish(crate::convert::sim_odometry(&gt.root, t))
                .ok();
        }
        let mut st = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        st.time_s = t;
        st.root_xyz = [gt.root.pos_w.x, gt.root.pos_w.y, gt.root.pos_w.z];
        st.head_height_m = gt.head_height_m;
        if gt.fallen() && !st.fell {
            st.fell = true;
            st.fall_time_s = Some(t);
        }
        if self.tick.is_multiple_of(self.decimation) && self.sim.obstacle_contacts() > 0 {
            st.contact_steps += 1;
        }
        st.steps += 1;
        st.q = gt.q.to_vec();
        if self.cfg.report_s > 0.0 && t + 1e-9 >= self.next_report_s {
            self.next_report_s += self.cfg.report_s;
            self.log.info(&format!(
                "t {:6.2} s  pelvis ({:+.2}, {:+.2}, {:.2}) m  head {:.2} m{}  lowcmd {} (bad CRC {})",
                t,
                st.root_xyz[0],
                st.root_xyz[1],
                st.root_xyz[2],
                st.head_height_m,
                if st.fell { "  FALLEN" } else { "" },
                st.commands,
                st.bad_crc
            ));
        }
        Ok(if self.cfg.lockstep {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(self.cfg.timestep_s)
        })
    }
}
