//! The bridge node's processing without DDS ([`BridgeCore`]): one tick of the safety core
//! per LowState, and the node's `/diagnostics` status.

use anyhow::Result;
use g1::JOINTS;
use g1_bridge::{Bridge, BridgeConfig, Mode, Targets};
use g1_msgs::diagnostic_msgs::{DiagnosticStatus, KeyValue};
use g1_msgs::g1d::JointTargets;
use g1_msgs::geometry_msgs::{Quaternion, Vector3};
use g1_msgs::sensor_msgs::{Imu, JointState};
use g1_msgs::std_msgs::{Header, StringMsg};
use g1_msgs::unitree::{LowCmd, LowState};

use crate::replay::{decode_json, Replayable, Step};
use crate::stamp;

use super::{parse_request, MODE_REQUEST_TOPIC};

/// The node's processing without DDS: what the node and `g1d replay` both run.
pub struct BridgeCore {
    pub bridge: Bridge,
    joint_names: Vec<String>,
    /// For each joint-target message executed in active mode: the time from the sample its
    /// state was estimated from (the targets' stamp) to the first LowCmd carrying it (s).
    pub state_to_command_s: Vec<f64>,
    /// Transitions and refusals already handed out by [`Self::new_log_lines`].
    logged_transitions: usize,
    logged_refusals: u64,
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
            logged_transitions: 0,
            logged_refusals: 0,
        })
    }

    /// The mode transitions and refused requests since the last call, as log lines of the
    /// node `name`.
    pub fn new_log_lines(&mut self, name: &str) -> Vec<String> {
        let tr = self.bridge.transitions();
        let mut lines: Vec<String> = tr[self.logged_transitions..]
            .iter()
            .map(|t| {
                format!(
                    "[{name}] {:.3} s: {} → {} ({})",
                    t.time_s,
                    t.from.name(),
                    t.to.name(),
                    t.reason
                )
            })
            .collect();
        self.logged_transitions = tr.len();
        let refusals = self.bridge.refusals();
        let refused = self.bridge.counters.refused_requests;
        let new = (refused.saturating_sub(self.logged_refusals) as usize).min(refusals.len());
        lines.extend(
            refusals[refusals.len() - new..]
                .iter()
                .map(|l| format!("[{name}] {l}")),
        );
        self.logged_refusals = refused;
        lines
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
