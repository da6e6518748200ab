//! `g1_sim`: the MuJoCo G1 speaking the robot's own DDS protocol — it subscribes `/lowcmd`
//! (`rt/lowcmd`, CRC checked like the firmware: a bad one is dropped and counted) and
//! publishes `/lowstate` (`rt/lowstate`, signed) after every physics step, `/clock`, and the
//! ground-truth pelvis odometry on `/sim/odom` (the paper's motion capture). A bridge cannot
//! tell it from the robot. Options: a gantry holding the pelvis for the first seconds (a real
//! G1 starts hanging from one), and a scripted wireless remote (`"t:chord"` entries) so
//! button chords can be tested.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use g1::{RootState, NUM_JOINTS};
use g1_hg::{check_low_cmd, sign_low_state, Buttons, Remote};
use g1_msgs::geometry_msgs::{Pose, PoseWithCovariance, Twist, TwistWithCovariance, Vec36};
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::rosgraph_msgs::Clock;
use g1_msgs::std_msgs::Header;
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::{range_check, NodeConfig, ParamError};
use g1_sim::{InitialState, MotorCommand, Sim, SimConfig};
use serde::Deserialize;

use crate::runtime::Node;
use crate::{pt, quat, stamp, v3};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimNodeConfig {
    /// Physics step (s); a LowState is published after each (0.002 s = the robot's 500 Hz).
    pub timestep_s: f64,
    /// Pelvis held by a gantry until this many simulated seconds after the first LowCmd (the
    /// bridge connected; the pelvis hangs until then, however long discovery takes).
    pub gantry_s: f64,
    /// Scripted remote: `"t:chord"` entries, e.g. `"0.5:L1+A"`; each chord is held for
    /// 0.1 s from t simulated seconds after the first LowCmd.
    pub remote_script: Vec<String>,
    /// Ground-truth odometry rate (Hz).
    pub odom_rate_hz: f64,
    /// `LowState.mode_machine` the simulated robot reports.
    pub mode_machine: i64,
    /// Seed of the episode randomisation and pushes.
    pub seed: i64,
    /// Simulator settings YAML (randomisation, pushes, obstacles); empty = defaults.
    pub sim_config: String,
    /// Print a status line every this many simulated seconds (0 = never).
    pub report_s: f64,
    /// Lockstep: after each LowState wait for the LowCmd answering it, and at each 20 ms control
    /// boundary for `joint_targets` stamped at or after the previous boundary (once any have
    /// been seen) — the simulation then runs as fast as the slowest node allows, and a slow
    /// planner slows the simulation down instead of seeing a mis-spaced history. Run the other
    /// nodes with `use_sim_time: true`.
    pub lockstep: bool,
    /// Longest wait for an answer in lockstep before going on (wall seconds).
    pub lockstep_timeout_s: f64,
}

impl Default for SimNodeConfig {
    fn default() -> Self {
        Self {
            timestep_s: 0.002,
            gantry_s: 0.0,
            remote_script: Vec::new(),
            odom_rate_hz: 50.0,
            mode_machine: 5,
            seed: 0,
            sim_config: String::new(),
            report_s: 0.0,
            lockstep: false,
            lockstep_timeout_s: 1.0,
        }
    }
}

impl NodeConfig for SimNodeConfig {
    fn check(&self) -> Result<(), ParamError> {
        range_check("timestep_s", self.timestep_s, 0.0005, 0.005)?;
        range_check("gantry_s", self.gantry_s, 0.0, 600.0)?;
        range_check("odom_rate_hz", self.odom_rate_hz, 1.0, 1000.0)?;
        range_check("mode_machine", self.mode_machine as f64, 0.0, 255.0)?;
        range_check("report_s", self.report_s, 0.0, 3600.0)?;
        range_check("lockstep_timeout_s", self.lockstep_timeout_s, 0.001, 60.0)?;
        parse_script(&self.remote_script).map(|_| ())
    }
}

fn parse_script(entries: &[String]) -> Result<Vec<(f64, u16)>, ParamError> {
    entries
        .iter()
        .map(|e| {
            let err = |why: String| ParamError::Invalid {
                key: "remote_script".into(),
                why: format!("`{e}`: {why}"),
            };
            let (t, chord) = e
                .split_once(':')
                .ok_or_else(|| err("expected `seconds:chord`".into()))?;
            let t: f64 = t.trim().parse().map_err(|_| err("bad time".into()))?;
            Ok((t, Buttons::parse_chord(chord).map_err(err)?))
        })
        .collect()
}

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

/// The simulator's motor command for a `LowCmd` (a motor with mode 0 is unpowered).
pub fn motor_command(c: &LowCmd) -> MotorCommand {
    let m = &c.motor_cmd;
    let on = |j: usize| if m[j].mode == 0 { 0.0 } else { 1.0 };
    MotorCommand {
        q: std::array::from_fn(|j| m[j].q as f64),
        dq: std::array::from_fn(|j| m[j].dq as f64),
        kp: std::array::from_fn(|j| on(j) * m[j].kp as f64),
        kd: std::array::from_fn(|j| on(j) * m[j].kd as f64),
        tau: std::array::from_fn(|j| on(j) * m[j].tau as f64),
    }
}

impl SimNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: SimNodeConfig = ros.ctx.config()?;
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
            name: ros.ctx.names.fqn(),
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
        })
    }

    fn remote_at(&self, t: f64) -> Remote {
        let held = self
            .script
            .iter()
            .filter(|(t0, _)| t >= *t0 && t < t0 + 0.1)
            .fold(0u16, |b, (_, c)| b | c);
        Remote {
            buttons: Buttons(held),
            ..Default::default()
        }
    }

    /// Simulated seconds since the bridge connected (`None` before).
    fn since_connected(&self) -> Option<f64> {
        self.connected_s.map(|c| self.sim.time_s() - c)
    }

    fn low_state(&mut self) -> LowState {
        let remote = match self.since_connected() {
            Some(t) => self.remote_at(t),
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

/// Physics steps per 20 ms control period for the `timestep_s` parameter (it must divide it).
pub fn decimation_for(timestep_s: f64) -> Result<usize> {
    let decimation = (0.02 / timestep_s).round().max(1.0) as usize;
    if ((decimation as f64) * timestep_s - 0.02).abs() > 1e-9 {
        bail!("parameter `timestep_s` ({timestep_s}) must divide the 20 ms control period");
    }
    Ok(decimation)
}

/// The simulator's ground truth as `/sim/odom` (`odom → pelvis`; REP-105: the twist in the
/// child frame).
pub fn odometry_of(r: &g1::RootState, t: f64) -> Odometry {
    Odometry {
        header: Header::new(stamp(t), "odom"),
        child_frame_id: "pelvis".into(),
        pose: PoseWithCovariance {
            pose: Pose {
                position: pt(&r.pos_w),
                orientation: quat(&r.quat_w),
            },
            covariance: Vec36::default(),
        },
        twist: TwistWithCovariance {
            twist: Twist {
                linear: v3(&(r.quat_w.inverse() * r.lin_vel_w)),
                angular: v3(&(r.quat_w.inverse() * r.ang_vel_w)),
            },
            covariance: Vec36::default(),
        },
    }
}

/// The robot's `rt/lowstate` for these sensor readings, signed (what `g1_sim` publishes at
/// every physics step, and the deployed evaluation feeds the bridge).
pub fn low_state_of(s: &g1_sim::Sensors, tick: u32, mode_machine: u8, remote: &Remote) -> LowState {
    let mut m = LowState {
        mode_machine,
        tick,
        ..Default::default()
    };
    for j in 0..NUM_JOINTS {
        let ms = &mut m.motor_state[j];
        ms.mode = 1;
        ms.q = s.q[j] as f32;
        ms.dq = s.dq[j] as f32;
        ms.tau_est = s.tau[j] as f32;
        ms.temperature = [35, 35];
        ms.vol = 58.0;
    }
    let i = &mut m.imu_state;
    i.quaternion = s.imu_quat_wxyz.map(|v| v as f32);
    i.gyroscope = s.gyro_b.map(|v| v as f32);
    i.accelerometer = s.accel_b.map(|v| v as f32);
    let q = g1::quat_from_wxyz(s.imu_quat_wxyz);
    let (r, p, y) = q.euler_angles();
    i.rpy = [r as f32, p as f32, y as f32];
    m.wireless_remote = remote.encode();
    sign_low_state(&mut m);
    m
}

impl Node for SimNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn report(&self) -> Option<serde_json::Value> {
        let st = self.status.lock().expect("status");
        Some(serde_json::json!({
            "time_s": st.time_s,
            "fell": st.fell,
            "fall_time_s": st.fall_time_s,
            "final_xy": [st.root_xyz[0], st.root_xyz[1]],
            "contacts": st.contact_steps,
            "bad_crc": st.bad_crc,
        }))
    }

    fn step(&mut self, _now_s: f64) -> Result<Duration> {
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
        let mut st = self.status.lock().expect("status");
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
            self.odom_pub.publish(odometry_of(&gt.root, t)).ok();
        }
        let mut st = self.status.lock().expect("status");
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
            eprintln!(
                "[{}] t {:6.2} s  pelvis ({:+.2}, {:+.2}, {:.2}) m  head {:.2} m{}  lowcmd {} (bad CRC {})",
                self.name,
                t,
                st.root_xyz[0],
                st.root_xyz[1],
                st.root_xyz[2],
                st.head_height_m,
                if st.fell { "  FALLEN" } else { "" },
                st.commands,
                st.bad_crc
            );
        }
        Ok(if self.cfg.lockstep {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(self.cfg.timestep_s)
        })
    }
}
