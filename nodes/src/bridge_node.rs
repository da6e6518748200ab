//! `g1_bridge`: the hardware interface, identical against the robot and `g1_sim`. Every
//! `/lowstate` runs one tick of the [`g1_bridge::Bridge`] safety core and answers with a
//! signed `/lowcmd`; the measurements go out as `/joint_states` and `/imu` (REP-103 units,
//! frame `pelvis`); joint targets come in on `joint_targets`. With `record_io` set, every input
//! and output is recorded for `g1d replay`. Mode requests (`damping`, `standby`, `active`) come
//! on `/g1d/bridge/mode_request` (`std_msgs/String`), as the remote's chords do; the mode is
//! published on `/g1d/bridge/mode` (latched) at every transition. Requests from the network
//! follow the network's rules ([`g1_bridge::Bridge::request_network`]: no `active` unless
//! `network_active`; no `standby`/`active` while the robot is not upright). Once a second the
//! node's counters (bad CRC, clamps, rejected targets, refused and unreadable requests) go out
//! on `/diagnostics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use g1::JOINTS;
use g1_bridge::{Bridge, BridgeConfig, Mode, Request, Targets};
use g1_msgs::diagnostic_msgs::{DiagnosticArray, DiagnosticStatus, KeyValue};
use g1_msgs::g1d::JointTargets;
use g1_msgs::geometry_msgs::{Quaternion, Vector3};
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::{Header, StringMsg};
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};

use crate::io_record::IoRecorder;
use crate::replay::{decode_json, Replayable, Step};
use crate::runtime::Node;
use crate::stamp;

#[derive(Debug, Clone, Default)]
pub struct BridgeStatus {
    pub mode: Option<Mode>,
    pub ticks: u64,
    pub bad_crc: u64,
    pub transitions: Vec<String>,
}

/// Mode requests in.
pub const MODE_REQUEST_TOPIC: &str = "/g1d/bridge/mode_request";
/// The mode out (latched).
pub const MODE_TOPIC: &str = "/g1d/bridge/mode";

/// A mode request's text (`damping`, `standby` or `active`).
pub fn parse_request(s: &str) -> Option<Request> {
    match s.trim().to_ascii_lowercase().as_str() {
        "damping" | "damp" => Some(Request::Damping),
        "standby" => Some(Request::Standby),
        "active" => Some(Request::Active),
        _ => None,
    }
}

/// The node's processing without DDS: what the node and `g1d replay` both run.
pub struct BridgeCore {
    pub bridge: Bridge,
    joint_names: Vec<String>,
    /// For each joint-target message executed in active mode: the time from the sample its
    /// state was estimated from (the targets' stamp) to the first LowCmd carrying it (s).
    pub state_to_command_s: Vec<f64>,
}

/// One step's outputs, in publication order.
#[derive(Default)]
pub struct BridgeOut {
    pub cmds: Vec<LowCmd>,
    pub joints: Vec<JointState>,
    pub imus: Vec<Imu>,
    /// Mode requests that named no mode.
    pub rejected_requests: Vec<String>,
}

/// The bridge's `/diagnostics` status: its mode and every counter of what it refused or
/// changed. WARN while anything was refused, clamped or unreadable; ERROR with bad CRCs.
pub fn diagnostic_status(
    bridge: &Bridge,
    unreadable_requests: u64,
    publish_failures: u64,
) -> DiagnosticStatus {
    let c = &bridge.counters;
    let kv = |k: &str, v: u64| KeyValue {
        key: k.into(),
        value: v.to_string(),
    };
    let refused = c.rejected_targets + c.refused_requests + c.foreign_states + unreadable_requests;
    let clamped = c.position_clamps + c.effort_clamps + c.gain_clamps;
    let (level, message) = if c.bad_crc > 0 {
        (
            DiagnosticStatus::ERROR,
            format!("{} LowStates with a bad CRC dropped", c.bad_crc),
        )
    } else if publish_failures > 0 {
        (
            DiagnosticStatus::ERROR,
            format!("{publish_failures} writes to DDS failed"),
        )
    } else if refused > 0 || clamped > 0 {
        (
            DiagnosticStatus::WARN,
            format!("{refused} inputs refused, {clamped} targets clamped"),
        )
    } else {
        (DiagnosticStatus::OK, bridge.mode().name().to_string())
    };
    let mut values = vec![KeyValue {
        key: "mode".into(),
        value: bridge.mode().name().into(),
    }];
    values.extend([
        kv("states", c.states),
        kv("bad_crc", c.bad_crc),
        kv("commands", c.commands),
        kv("position_clamps", c.position_clamps),
        kv("effort_clamps", c.effort_clamps),
        kv("gain_clamps", c.gain_clamps),
        kv("rejected_targets", c.rejected_targets),
        kv("refused_requests", c.refused_requests),
        kv("foreign_states", c.foreign_states),
        kv("fall_damps", c.fall_damps),
        kv("unreadable_requests", unreadable_requests),
        kv("publish_failures", publish_failures),
    ]);
    DiagnosticStatus {
        level,
        name: "g1_bridge: safety".into(),
        message,
        hardware_id: "g1".into(),
        values,
    }
}

impl BridgeCore {
    pub fn new(cfg: BridgeConfig) -> Result<Self> {
        Ok(Self {
            bridge: Bridge::new(cfg)?,
            joint_names: JOINTS.iter().map(|j| j.model_name()).collect(),
            state_to_command_s: vec![],
        })
    }

    pub fn process(
        &mut self,
        now_s: f64,
        requests: &[StringMsg],
        targets: &[JointTargets],
        states: &[LowState],
    ) -> BridgeOut {
        let mut out = BridgeOut::default();
        for r in requests {
            match parse_request(&r.data) {
                Some(q) => self
                    .bridge
                    .request_network(q, &format!("request `{}` on {MODE_REQUEST_TOPIC}", r.data)),
                None => out.rejected_requests.push(r.data.clone()),
            }
        }
        for t in targets {
            let f = |v: &[f32]| v.iter().map(|x| *x as f64).collect::<Vec<_>>();
            self.bridge.set_targets(Targets {
                q: t.q_target.clone(),
                kp: f(&t.kp),
                kd: f(&t.kd),
                stamp_s: now_s,
            });
        }
        let newest = targets.last().map(|t| t.header.stamp.as_secs_f64());
        for (i, s) in states.iter().enumerate() {
            out.cmds.push(self.bridge.tick(now_s, Some(s)));
            if let (0, Some(stamp), Mode::Active) = (i, newest, self.bridge.mode()) {
                self.state_to_command_s.push(now_s - stamp);
            }
            if let Some(m) = self.bridge.measured() {
                let header = Header::new(stamp(now_s), "pelvis");
                out.joints.push(JointState {
                    header: header.clone(),
                    name: self.joint_names.clone(),
                    position: m.q.to_vec(),
                    velocity: m.dq.to_vec(),
                    effort: m.tau.to_vec(),
                });
                let [w, x, y, z] = m.quat_wxyz;
                out.imus.push(Imu {
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
                });
            }
        }
        if states.is_empty() {
            // No LowState: the watchdog still runs (and damps after the timeout), but nothing
            // is sent — the robot only listens to commands answering its state stream.
            self.bridge.tick(now_s, None);
        }
        out
    }
}

impl Replayable for BridgeCore {
    fn replay_step(&mut self, step: &Step) -> Result<Vec<(String, Vec<u8>)>> {
        let requests = step.inputs_of::<StringMsg>(MODE_REQUEST_TOPIC)?;
        let targets = step.inputs_of::<JointTargets>("/joint_targets")?;
        let states = step.inputs_of::<LowState>("/lowstate")?;
        let out = self.process(step.time_s, &requests, &targets, &states);
        let mut v = Vec::new();
        v.extend(
            out.cmds
                .iter()
                .map(|m| ("/lowcmd".to_string(), g1_msgs::to_cdr(m))),
        );
        v.extend(
            out.joints
                .iter()
                .map(|m| ("/joint_states".to_string(), g1_msgs::to_cdr(m))),
        );
        v.extend(
            out.imus
                .iter()
                .map(|m| ("/imu".to_string(), g1_msgs::to_cdr(m))),
        );
        Ok(v)
    }

    fn decode(&self, topic: &str, bytes: &[u8]) -> Result<serde_json::Value> {
        match topic {
            "/lowcmd" => decode_json::<LowCmd>(bytes),
            "/joint_states" => decode_json::<JointState>(bytes),
            "/imu" => decode_json::<Imu>(bytes),
            other => anyhow::bail!("g1_bridge has no output {other}"),
        }
    }
}

pub struct BridgeNode {
    name: String,
    core: BridgeCore,
    state_sub: Subscription<LowState>,
    targets_sub: Subscription<JointTargets>,
    request_sub: Subscription<StringMsg>,
    mode_pub: Publisher<StringMsg>,
    diagnostics_pub: Publisher<DiagnosticArray>,
    next_diagnostics_s: f64,
    unreadable_requests: u64,
    logged_refusals: usize,
    last_now_s: f64,
    published_mode: Option<Mode>,
    cmd_pub: Publisher<LowCmd>,
    joints_pub: Publisher<JointState>,
    imu_pub: Publisher<Imu>,
    /// The unsecured twin carrying the robot link (kept alive with the node).
    _link: Option<RosNode>,
    /// Failed DDS writes of this node's publishers (both participants).
    publish_failures: Arc<AtomicU64>,
    recorder: Option<IoRecorder>,
    logged: usize,
    pub status: Arc<Mutex<BridgeStatus>>,
}

impl BridgeNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        // `record_io` is the node's; the rest configures the safety core.
        let mut params = ros.ctx.params.clone();
        let record_io = crate::replay::take_string_param(&mut params, "record_io")?;
        // The G1's firmware speaks plain DDS: with DDS Security on, `robot_link_security:
        // false` keeps rt/lowstate and rt/lowcmd on an unsecured participant of their own.
        let link_security =
            crate::replay::take_bool_param(&mut params, "robot_link_security")?.unwrap_or(true);
        let cfg: BridgeConfig = g1_ros::load_config(&params)?;
        let mut link = match link_security {
            true => None,
            false => ros.plain_twin()?,
        };
        if link.is_some() {
            eprintln!(
                "[{}] robot link (rt/lowstate, rt/lowcmd) on plain DDS: robot_link_security is false",
                ros.ctx.names.fqn()
            );
        }
        let link_node = link.as_mut().unwrap_or(&mut ros);
        let state_sub = link_node.subscription("/lowstate", QosPreset::Sensor)?;
        let cmd_pub = link_node.publisher("/lowcmd", QosPreset::Command)?;
        let recorder = IoRecorder::for_param(&record_io, "g1_bridge", &ros.ctx.params)?;
        Ok(Self {
            name: ros.ctx.names.fqn(),
            core: BridgeCore::new(cfg)?,
            state_sub,
            _link: link,
            publish_failures: ros.publish_failures(),
            targets_sub: ros.subscription("joint_targets", QosPreset::Command)?,
            request_sub: ros.subscription(MODE_REQUEST_TOPIC, QosPreset::Command)?,
            mode_pub: ros.publisher(MODE_TOPIC, QosPreset::Latched)?,
            diagnostics_pub: ros.publisher("/diagnostics", QosPreset::Command)?,
            next_diagnostics_s: 0.0,
            unreadable_requests: 0,
            logged_refusals: 0,
            last_now_s: 0.0,
            published_mode: None,
            cmd_pub,
            joints_pub: ros.publisher("/joint_states", QosPreset::Sensor)?,
            imu_pub: ros.publisher("/imu", QosPreset::Sensor)?,
            recorder,
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
        self.last_now_s = now_s;
        let requests = take_all(&self.request_sub).0;
        let targets = take_all(&self.targets_sub).0;
        let states = take_all(&self.state_sub).0;
        let before = self.core.bridge.transitions().len();
        let out = self.core.process(now_s, &requests, &targets, &states);
        let changed = self.core.bridge.transitions().len() != before;
        self.unreadable_requests += out.rejected_requests.len() as u64;
        for r in &out.rejected_requests {
            eprintln!(
                "[{}] ignored mode request `{r}` on {MODE_REQUEST_TOPIC} (expected damping, standby or active)",
                self.name
            );
        }
        if let Some(r) = self.recorder.as_mut() {
            if !requests.is_empty() || !targets.is_empty() || !states.is_empty() || changed {
                for q in &requests {
                    r.input(MODE_REQUEST_TOPIC, now_s, q)?;
                }
                for t in &targets {
                    r.input("/joint_targets", now_s, t)?;
                }
                for s in &states {
                    r.input("/lowstate", now_s, s)?;
                }
                for m in &out.cmds {
                    r.output("/lowcmd", now_s, m)?;
                }
                for m in &out.joints {
                    r.output("/joint_states", now_s, m)?;
                }
                for m in &out.imus {
                    r.output("/imu", now_s, m)?;
                }
                r.end_step(now_s)?;
            }
        }
        for c in out.cmds {
            self.cmd_pub.publish(c).ok();
        }
        for j in out.joints {
            self.joints_pub.publish(j).ok();
        }
        for i in out.imus {
            self.imu_pub.publish(i).ok();
        }
        let tr = self.core.bridge.transitions();
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
        let refusals = self.core.bridge.refusals();
        let new = (self.core.bridge.counters.refused_requests as usize)
            .saturating_sub(self.logged_refusals)
            .min(refusals.len());
        for line in &refusals[refusals.len() - new..] {
            let line = format!("[{}] {line}", self.name);
            eprintln!("{line}");
            st.transitions.push(line);
        }
        self.logged_refusals = self.core.bridge.counters.refused_requests as usize;
        if now_s >= self.next_diagnostics_s {
            self.next_diagnostics_s = now_s + 1.0;
            self.diagnostics_pub
                .publish(DiagnosticArray {
                    header: Header::new(stamp(now_s), ""),
                    status: vec![diagnostic_status(
                        &self.core.bridge,
                        self.unreadable_requests,
                        self.publish_failures.load(Ordering::Relaxed),
                    )],
                })
                .ok();
        }
        let mode = self.core.bridge.mode();
        if self.published_mode != Some(mode) {
            self.mode_pub
                .publish(StringMsg {
                    data: mode.name().into(),
                })
                .ok();
            self.published_mode = Some(mode);
        }
        st.mode = Some(self.core.bridge.mode());
        st.ticks += states.len() as u64;
        st.bad_crc = self.core.bridge.counters.bad_crc;
        Ok(Duration::from_micros(500))
    }

    fn report(&self) -> Option<serde_json::Value> {
        let ms: Vec<f64> = self
            .core
            .state_to_command_s
            .iter()
            .map(|s| s * 1e3)
            .collect();
        Some(serde_json::json!({
            "mode": self.core.bridge.mode().name(),
            "bad_crc": self.core.bridge.counters.bad_crc,
            "counters": diagnostic_status(
                &self.core.bridge,
                self.unreadable_requests,
                self.publish_failures.load(Ordering::Relaxed),
            )
                .values
                .iter()
                .skip(1)
                .map(|kv| (kv.key.clone(), serde_json::json!(kv.value.parse::<u64>().unwrap_or(0))))
                .collect::<serde_json::Map<_, _>>(),
            "refusals": self.core.bridge.refusals(),
            "state_to_command_ms_p50": g1_control::percentile(&ms, 0.5),
            "state_to_command_ms_p99": g1_control::percentile(&ms, 0.99),
            "transitions": self.core.bridge.transitions().iter().map(|t| format!("{:.3} s: {} → {} ({})", t.time_s, t.from.name(), t.to.name(), t.reason)).collect::<Vec<_>>(),
        }))
    }

    /// Every exit path the node controls ends with damping: a few signed damping commands
    /// (the robot keeps the newest one until it hears otherwise).
    fn finish(&mut self) -> Result<()> {
        let cmd = self.core.bridge.shutdown(self.last_now_s);
        for _ in 0..3 {
            self.cmd_pub.publish(cmd.clone()).ok();
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(r) = self.recorder.take() {
            r.finish()?;
        }
        Ok(())
    }
}
