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
//! on `/diagnostics`. The same requests come as a service, `~/set_mode`
//! (`g1_diffusion/srv/SetMode`), answered after the tick that applied them with the mode
//! reached or the reason it was refused.

mod core;

pub use core::{diagnostic_status, BridgeCore, BridgeOut};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Result;
use g1_bridge::{BridgeConfig, Mode, Request};
use g1_msgs::diagnostic_msgs::DiagnosticArray;
use g1_msgs::g1d::srv::{SetModeRequest, SetModeResponse};
use g1_msgs::g1d::JointTargets;
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::{Header, StringMsg};
use g1_msgs::unitree::{LowCmd, LowState};
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};
use g1_ros::service::{RequestId, Service};

use crate::io_record::IoRecorder;
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

/// The mode service, under the node's name.
pub const MODE_SERVICE: &str = "~/set_mode";

/// A mode request's text (`damping`, `standby` or `active`).
pub fn parse_request(s: &str) -> Option<Request> {
    match s.trim().to_ascii_lowercase().as_str() {
        "damping" | "damp" => Some(Request::Damping),
        "standby" => Some(Request::Standby),
        "active" => Some(Request::Active),
        _ => None,
    }
}

pub struct BridgeNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<BridgeConfig>,
    /// stderr and `/rosout`.
    log: g1_ros::rosout::NodeLogger,
    core: BridgeCore,
    state_sub: Subscription<LowState>,
    targets_sub: Subscription<JointTargets>,
    request_sub: Subscription<StringMsg>,
    mode_srv: Service<SetModeRequest, SetModeResponse>,
    mode_pub: Publisher<StringMsg>,
    diagnostics_pub: Publisher<DiagnosticArray>,
    next_diagnostics_s: f64,
    unreadable_requests: u64,
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
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let mut link = match link_security {
            true => None,
            false => ros.plain_twin()?,
        };
        if link.is_some() {
            ros.logger().warn(
                "robot link (rt/lowstate, rt/lowcmd) on plain DDS: robot_link_security is false",
            );
        }
        let link_node = link.as_mut().unwrap_or(&mut ros);
        let state_sub = link_node.subscription("/lowstate", QosPreset::Sensor)?;
        let cmd_pub = link_node.publisher("/lowcmd", QosPreset::Command)?;
        let recorder = IoRecorder::for_param(&record_io, "g1_bridge", &ros.ctx.params)?;
        Ok(Self {
            params,
            name: ros.ctx.names.fqn(),
            log: ros.logger(),
            core: BridgeCore::new(cfg)?,
            state_sub,
            _link: link,
            publish_failures: ros.publish_failures(),
            targets_sub: ros.subscription("joint_targets", QosPreset::Command)?,
            request_sub: ros.subscription(MODE_REQUEST_TOPIC, QosPreset::Command)?,
            mode_srv: Service::new(&ros, MODE_SERVICE, "g1_diffusion/srv/SetMode")?,
            mode_pub: ros.publisher(MODE_TOPIC, QosPreset::Latched)?,
            diagnostics_pub: ros.publisher("/diagnostics", QosPreset::Command)?,
            next_diagnostics_s: 0.0,
            unreadable_requests: 0,
            last_now_s: 0.0,
            published_mode: None,
            cmd_pub,
            joints_pub: ros.publisher("/joint_states", QosPreset::Sensor)?,
            imu_pub: ros.publisher("/imu", QosPreset::Sensor)?,
            recorder,
            status: Arc::new(Mutex::new(BridgeStatus::default())),
            _ros: ros,
        })
    }
}

impl Node for BridgeNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.params.poll(now_s);
        self.last_now_s = now_s;
        let mut requests = take_all(&self.request_sub).0;
        // Service requests join the topic's, after them (the newest request wins), so that a
        // recording replays them; each is answered once the tick has applied it.
        let mut asked: Vec<(RequestId, Request)> = Vec::new();
        for r in self.mode_srv.take() {
            match r {
                Ok((id, q)) => match parse_request(&q.mode) {
                    Some(req) => {
                        requests.push(StringMsg { data: q.mode });
                        asked.push((id, req));
                    }
                    None => {
                        self.unreadable_requests += 1;
                        let resp = SetModeResponse {
                            success: false,
                            mode: self.core.bridge.mode().name().into(),
                            message: format!(
                                "unknown mode `{}` (expected damping, standby or active)",
                                q.mode
                            ),
                        };
                        self.mode_srv.reply(&id, &resp).ok();
                    }
                },
                Err(e) => {
                    self.unreadable_requests += 1;
                    self.log.warn(&format!("{MODE_SERVICE}: {e:#}"));
                }
            }
        }
        let targets = take_all(&self.targets_sub).0;
        let states = take_all(&self.state_sub).0;
        let before = self.core.bridge.transitions().len();
        let refused_before = self.core.bridge.counters.refused_requests;
        let out = self.core.process(now_s, &requests, &targets, &states);
        for (id, req) in asked {
            let mode = self.core.bridge.mode();
            let wanted = match req {
                Request::Damping => Mode::Damping,
                Request::Standby => Mode::Standby,
                Request::Active => Mode::Active,
            };
            let message = if mode == wanted {
                String::new()
            } else if self.core.bridge.counters.refused_requests > refused_before {
                let newest = self.core.bridge.refusals().last();
                newest.cloned().unwrap_or_default()
            } else {
                format!("the bridge is in {} (a newer request came)", mode.name())
            };
            let resp = SetModeResponse {
                success: mode == wanted,
                mode: mode.name().into(),
                message,
            };
            self.mode_srv.reply(&id, &resp).ok();
        }
        let changed = self.core.bridge.transitions().len() != before;
        self.unreadable_requests += out.rejected_requests.len() as u64;
        for r in &out.rejected_requests {
            self.log.warn(&format!(
                "ignored mode request `{r}` on {MODE_REQUEST_TOPIC} (expected damping, standby or active)"
            ));
        }
        if let Some(r) = self.recorder.as_mut() {
            if !requests.is_empty() || !targets.is_empty() || !states.is_empty() || changed {
                r.inputs(MODE_REQUEST_TOPIC, now_s, &requests)?;
                r.inputs("/joint_targets", now_s, &targets)?;
                r.inputs("/lowstate", now_s, &states)?;
                r.outputs("/lowcmd", now_s, &out.cmds)?;
                r.outputs("/joint_states", now_s, &out.joints)?;
                r.outputs("/imu", now_s, &out.imus)?;
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
        let mut st = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        for line in self.core.new_log_lines(&self.name) {
            let prefix = format!("[{}] ", self.name);
            self.log.info(line.strip_prefix(&prefix).unwrap_or(&line));
            st.transitions.push(line);
        }
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
