//! The hardware interface's safety core, identical against the robot and the simulator.
//!
//! [`Bridge::tick`] runs once per `rt/lowstate` (500 Hz) and returns the signed `LowCmd` to
//! publish. Rules (each has a test with a scripted fault in `tests/rules.rs`):
//!
//! * start in **damping** (kp = 0, small kd); `L1+A` → **standby**: a PD ramp from the measured
//!   pose to the default pose over `standby_ramp_s`, then holding it; `R1+A` in standby →
//!   **active**: the newest joint targets are executed; `B` → damping from any mode. The same
//!   transitions can be requested by service ([`Bridge::request`]).
//! * a `LowState` with a bad CRC is dropped and counted, never acted on; without a valid
//!   `LowState` for `state_timeout_s` the bridge damps.
//! * the bridge follows one state stream: a `LowState` whose `tick` does not move forward
//!   from the last accepted one (by 1 to [`MAX_TICK_STEP`]) is a second source — a forged or
//!   replayed message, another simulator — and is dropped and counted (`foreign_states`).
//!   After `state_timeout_s` without an accepted state any stream is taken again (a restarted
//!   robot or simulator). A forger who copies the stream's next tick can still get through;
//!   only DDS security closes that (README, "Threat model").
//! * watchdog (active): targets older than `hold_after_s` → hold the last targets; older than
//!   `damping_after_s` → damping (latched until a chord or request).
//! * targets with NaN/Inf, negative gains or of the wrong length are refused and counted; the
//!   last valid targets stay and age (the watchdog holds, then damps, if no valid ones come).
//! * every target is clamped into the joint's position limits and so that the PD torque at the
//!   measured state stays within the motor's effort limit.
//! * the gains that come with targets are clamped to `max_gain_ratio` × the joint table's
//!   (counted), so a message cannot make a joint arbitrarily stiff.
//! * a pelvis tilted more than `fall_tilt_rad` while the bridge drives the joints is a fall:
//!   damping (latched, counted as `fall_damps`).
//! * `standby` and `active` are refused while the pelvis is tilted more than `max_tilt_rad`
//!   from upright (a robot on the floor is not switched on, whoever asks); `active` requested
//!   over the network ([`Bridge::request_network`]) is refused unless `network_active` is set —
//!   the physical remote is the authority that switches the policy on. Refusals are counted
//!   and logged ([`Bridge::refusals`]).
//! * every transition is logged with its reason ([`Bridge::transitions`]).

#![warn(clippy::unwrap_used, clippy::expect_used)]

use g1::{JOINTS, NUM_JOINTS};
use g1_hg::{check_low_state, sign_low_cmd, Buttons, Remote};
use g1_msgs::unitree::{LowCmd, LowState, MotorCmd};
use g1_ros::{range_check, NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

/// The `g1_bridge` node's parameters (`ros__parameters`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BridgeConfig {
    /// Seconds of the standby ramp to the default pose.
    pub standby_ramp_s: f64,
    /// Targets older than this → hold the last ones (s).
    pub hold_after_s: f64,
    /// Targets older than this → damping (s).
    pub damping_after_s: f64,
    /// No valid LowState for this long → damping (s).
    pub state_timeout_s: f64,
    /// Joint damping gain in damping mode (N m s / rad).
    pub damping_kd: f64,
    /// Margin inside the joint position limits (rad).
    pub limit_margin_rad: f64,
    /// Remote chords.
    pub standby_chord: String,
    pub active_chord: String,
    pub damping_chord: String,
    /// Use the gains that come with the targets (true) or the joint table's (false).
    pub gains_from_targets: bool,
    /// Target gains above this multiple of the joint table's kp / kd are clamped to it.
    pub max_gain_ratio: f64,
    /// `standby` / `active` only while the pelvis' tilt from upright is at most this (rad).
    pub max_tilt_rad: f64,
    /// A pelvis tilted more than this from upright while the bridge drives the joints
    /// (standby, active, hold) is a fall: damping, latched (rad; at least `max_tilt_rad`).
    pub fall_tilt_rad: f64,
    /// Accept `active` from the network (`/g1d/bridge/mode_request`); off: only the remote's
    /// chord (or an in-process request) switches the policy on.
    pub network_active: bool,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            standby_ramp_s: 3.0,
            hold_after_s: 0.1,
            damping_after_s: 0.5,
            state_timeout_s: 0.1,
            damping_kd: 4.0,
            limit_margin_rad: 0.0,
            standby_chord: "L1+A".into(),
            active_chord: "R1+A".into(),
            damping_chord: "B".into(),
            gains_from_targets: true,
            max_gain_ratio: 2.0,
            max_tilt_rad: 0.6,
            fall_tilt_rad: 1.0,
            network_active: false,
        }
    }
}

impl NodeConfig for BridgeConfig {
    fn check(&self) -> Result<(), ParamError> {
        range_check("standby_ramp_s", self.standby_ramp_s, 0.0, 30.0)?;
        range_check("hold_after_s", self.hold_after_s, 0.0, 5.0)?;
        range_check(
            "damping_after_s",
            self.damping_after_s,
            self.hold_after_s,
            30.0,
        )?;
        range_check("state_timeout_s", self.state_timeout_s, 0.002, 5.0)?;
        range_check("damping_kd", self.damping_kd, 0.0, 20.0)?;
        range_check("limit_margin_rad", self.limit_margin_rad, 0.0, 0.5)?;
        range_check("max_gain_ratio", self.max_gain_ratio, 1.0, 10.0)?;
        range_check("max_tilt_rad", self.max_tilt_rad, 0.05, 1.5)?;
        range_check("fall_tilt_rad", self.fall_tilt_rad, self.max_tilt_rad, 1.6)?;
        for (k, v) in [
            ("standby_chord", &self.standby_chord),
            ("active_chord", &self.active_chord),
            ("damping_chord", &self.damping_chord),
        ] {
            Buttons::parse_chord(v).map_err(|why| ParamError::Invalid { key: k.into(), why })?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Damping,
    Standby,
    Active,
    /// Active, but the targets are stale: the last ones are held.
    Hold,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Damping => "damping",
            Self::Standby => "standby",
            Self::Active => "active",
            Self::Hold => "hold",
        }
    }
}

/// A mode change and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub time_s: f64,
    pub from: Mode,
    pub to: Mode,
    pub reason: String,
}

/// Joint position targets with their PD gains (SDK joint order).
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    pub q: Vec<f64>,
    pub kp: Vec<f64>,
    pub kd: Vec<f64>,
    /// Receive time (s, the bridge's clock).
    pub stamp_s: f64,
}

/// The largest forward step of `LowState.tick` between accepted states (the G1 counts
/// milliseconds; at 500 Hz a step is 2).
pub const MAX_TICK_STEP: u32 = 1000;

/// Mode requests (service or chord).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Damping,
    Standby,
    Active,
}

/// Where a mode request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The physical remote's chord (in the LowState).
    Remote,
    /// The process that runs the bridge (a service call, an evaluation harness).
    Local,
    /// Another participant on the network (`/g1d/bridge/mode_request`).
    Network,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub states: u64,
    pub bad_crc: u64,
    pub commands: u64,
    pub position_clamps: u64,
    pub effort_clamps: u64,
    pub rejected_targets: u64,
    pub gain_clamps: u64,
    pub refused_requests: u64,
    pub foreign_states: u64,
    /// Falls detected (tilt beyond `fall_tilt_rad` while driving the joints) → damping.
    pub fall_damps: u64,
}

/// The measured joint state and IMU the bridge publishes (`/joint_states`, `/imu`).
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
    pub tau: [f64; NUM_JOINTS],
    pub quat_wxyz: [f64; 4],
    pub gyro: [f64; 3],
    pub accel: [f64; 3],
    pub remote: Remote,
    pub tick: u32,
}

impl Measured {
    pub fn from_low_state(s: &LowState) -> Self {
        let m = &s.motor_state;
        let i = &s.imu_state;
        Self {
            q: std::array::from_fn(|j| m[j].q as f64),
            dq: std::array::from_fn(|j| m[j].dq as f64),
            tau: std::array::from_fn(|j| m[j].tau_est as f64),
            quat_wxyz: i.quaternion.map(|v| v as f64),
            gyro: i.gyroscope.map(|v| v as f64),
            accel: i.accelerometer.map(|v| v as f64),
            remote: Remote::decode(&s.wireless_remote),
            tick: s.tick,
        }
    }
}

pub struct Bridge {
    cfg: BridgeConfig,
    chords: [u16; 3],
    mode: Mode,
    targets: Option<Targets>,
    /// Standby ramp: start pose and start time.
    ramp: Option<([f64; NUM_JOINTS], f64)>,
    /// What active/hold last commanded.
    last_q: [f64; NUM_JOINTS],
    last_gains: ([f64; NUM_JOINTS], [f64; NUM_JOINTS]),
    last_state_s: Option<f64>,
    measured: Option<Measured>,
    mode_machine: u8,
    prev_buttons: u16,
    pending: Option<(Request, String, Source)>,
    pub counters: Counters,
    transitions: Vec<Transition>,
    refusals: Vec<String>,
}

impl Bridge {
    pub fn new(cfg: BridgeConfig) -> Result<Self, ParamError> {
        cfg.check()?;
        let chord = |key: &str, s: &str| {
            Buttons::parse_chord(s).map_err(|why| ParamError::Invalid {
                key: key.into(),
                why,
            })
        };
        let chords = [
            chord("standby_chord", &cfg.standby_chord)?,
            chord("active_chord", &cfg.active_chord)?,
            chord("damping_chord", &cfg.damping_chord)?,
        ];
        Ok(Self {
            cfg,
            chords,
            mode: Mode::Damping,
            targets: None,
            ramp: None,
            last_q: g1::default_pose(),
            last_gains: (
                std::array::from_fn(|j| JOINTS[j].kp()),
                std::array::from_fn(|j| JOINTS[j].kd()),
            ),
            last_state_s: None,
            measured: None,
            mode_machine: 0,
            prev_buttons: 0,
            pending: None,
            counters: Counters::default(),
            transitions: Vec::new(),
            refusals: Vec::new(),
        })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }
    pub fn measured(&self) -> Option<&Measured> {
        self.measured.as_ref()
    }
    /// Refused mode requests, each with its time and reason (the newest 100).
    pub fn refusals(&self) -> &[String] {
        &self.refusals
    }

    /// The pelvis' tilt from upright (rad) by the measured IMU attitude; None before a
    /// LowState or with a quaternion that is not one.
    pub fn tilt_rad(&self) -> Option<f64> {
        let [w, x, y, z] = self.measured.as_ref()?.quat_wxyz;
        let n = (w * w + x * x + y * y + z * z).sqrt();
        if !(n.is_finite() && (n - 1.0).abs() < 0.1) {
            return None;
        }
        let (x, y) = (x / n, y / n);
        // The body z axis' world z component: 1 − 2(x² + y²).
        Some((1.0 - 2.0 * (x * x + y * y)).clamp(-1.0, 1.0).acos())
    }

    fn go(&mut self, to: Mode, now_s: f64, reason: impl Into<String>) {
        if to == self.mode {
            return;
        }
        if to == Mode::Standby {
            let start = self.measured.as_ref().map_or(g1::default_pose(), |m| m.q);
            self.ramp = Some((start, now_s));
        }
        self.transitions.push(Transition {
            time_s: now_s,
            from: self.mode,
            to,
            reason: reason.into(),
        });
        self.mode = to;
    }

    /// A mode request from this process (a service, a harness); applied at the next tick.
    pub fn request(&mut self, r: Request, why: &str) {
        self.pending = Some((r, why.to_string(), Source::Local));
    }

    /// A mode request from the network; applied at the next tick under the network's rules.
    pub fn request_network(&mut self, r: Request, why: &str) {
        self.pending = Some((r, why.to_string(), Source::Network));
    }

    fn refuse(&mut self, now_s: f64, what: &str, why: &str) {
        self.counters.refused_requests += 1;
        if self.refusals.len() >= 100 {
            self.refusals.remove(0);
        }
        self.refusals
            .push(format!("{now_s:.3} s: {what} refused: {why}"));
    }

    /// New joint targets (from the expert or diffusion node). Malformed ones (wrong length,
    /// NaN/Inf, negative gains) are refused and counted: one bad message, from a faulty node
    /// or anyone on the network, does not drop a walking robot; the watchdog acts when no
    /// valid targets come.
    pub fn set_targets(&mut self, t: Targets) {
        let ok = t.q.len() == NUM_JOINTS
            && t.kp.len() == NUM_JOINTS
            && t.kd.len() == NUM_JOINTS
            && t.q.iter().chain(&t.kp).chain(&t.kd).all(|v| v.is_finite())
            && t.kp.iter().chain(&t.kd).all(|v| *v >= 0.0);
        if ok {
            // Gains above max_gain_ratio × the joint table's are bounded as they arrive (each
            // bounded gain counted once, whether or not newer targets replace these first).
            let mut t = t;
            let ratio = self.cfg.max_gain_ratio;
            for j in (0..NUM_JOINTS).filter(|_| self.cfg.gains_from_targets) {
                for (v, table) in [
                    (&mut t.kp[j], JOINTS[j].kp()),
                    (&mut t.kd[j], JOINTS[j].kd()),
                ] {
                    if *v > ratio * table {
                        *v = ratio * table;
                        self.counters.gain_clamps += 1;
                    }
                }
            }
            self.targets = Some(t);
        } else {
            self.counters.rejected_targets += 1;
        }
    }

    fn apply_request(&mut self, r: Request, now_s: f64, why: &str, source: Source) {
        if r != Request::Damping {
            let what = if r == Request::Active {
                "active"
            } else {
                "standby"
            };
            if r == Request::Active && source == Source::Network && !self.cfg.network_active {
                self.refuse(
                    now_s,
                    what,
                    &format!("{why}: `active` from the network is off (network_active)"),
                );
                return;
            }
            match self.tilt_rad() {
                Some(t) if t <= self.cfg.max_tilt_rad => {}
                Some(t) => {
                    self.refuse(
                        now_s,
                        what,
                        &format!(
                            "{why}: the pelvis is tilted {t:.2} rad from upright (max_tilt_rad {})",
                            self.cfg.max_tilt_rad
                        ),
                    );
                    return;
                }
                None if self.measured.is_some() => {
                    self.refuse(now_s, what, &format!("{why}: no valid IMU attitude"));
                    return;
                }
                None => {}
            }
        }
        match r {
            Request::Damping => self.go(Mode::Damping, now_s, why),
            Request::Standby => {
                if self.measured.is_some() {
                    self.go(Mode::Standby, now_s, why)
                }
            }
            Request::Active => {
                let fresh = self
                    .targets
                    .as_ref()
                    .is_some_and(|t| now_s - t.stamp_s <= self.cfg.hold_after_s);
                let ramp_done = self
                    .ramp
                    .is_some_and(|(_, t0)| now_s - t0 >= self.cfg.standby_ramp_s);
                if self.mode == Mode::Standby && ramp_done && fresh {
                    self.go(Mode::Active, now_s, why)
                }
            }
        }
    }

    /// The bridge is stopping (its node exits, whatever the reason): damping, and the signed
    /// damping command to send as its last word.
    pub fn shutdown(&mut self, now_s: f64) -> LowCmd {
        self.go(Mode::Damping, now_s, "the bridge is stopping");
        self.command(now_s)
    }

    /// One control tick at time `now_s` with the newest `LowState` (None if none arrived).
    /// Returns the signed command to publish.
    pub fn tick(&mut self, now_s: f64, state: Option<&LowState>) -> LowCmd {
        if let Some(s) = state {
            self.counters.states += 1;
            let following = self
                .last_state_s
                .is_some_and(|t| now_s - t <= self.cfg.state_timeout_s);
            let in_stream = !following
                || self
                    .measured
                    .as_ref()
                    .is_none_or(|m| (1..=MAX_TICK_STEP).contains(&s.tick.wrapping_sub(m.tick)));
            match check_low_state(s) {
                Ok(()) if !in_stream => self.counters.foreign_states += 1,
                Ok(()) => {
                    self.last_state_s = Some(now_s);
                    self.mode_machine = s.mode_machine;
                    self.measured = Some(Measured::from_low_state(s));
                }
                Err(_) => self.counters.bad_crc += 1,
            }
        }
        let state_ok = self
            .last_state_s
            .is_some_and(|t| now_s - t <= self.cfg.state_timeout_s);
        if !state_ok && self.mode != Mode::Damping {
            self.go(
                Mode::Damping,
                now_s,
                "no valid LowState (timeout or bad CRC)",
            );
        }
        // Remote chords, on the press (rising edge of the whole chord).
        if let Some(m) = &self.measured {
            let b = m.remote.buttons.0;
            let pressed = |c: u16| Buttons(b).holds(c) && !Buttons(self.prev_buttons).holds(c);
            let [standby, active, damping] = self.chords;
            let req = if pressed(damping) {
                Some((Request::Damping, "remote: damping chord"))
            } else if pressed(standby) {
                Some((Request::Standby, "remote: standby chord"))
            } else if pressed(active) {
                Some((Request::Active, "remote: active chord"))
            } else {
                None
            };
            self.prev_buttons = b;
            if let Some((r, why)) = req {
                self.apply_request(r, now_s, why, Source::Remote);
            }
        }
        if let Some((r, why, source)) = self.pending.take() {
            self.apply_request(r, now_s, &format!("request: {why}"), source);
        }
        // Watchdog.
        if matches!(self.mode, Mode::Active | Mode::Hold) {
            let age = self.targets.as_ref().map(|t| now_s - t.stamp_s);
            match age {
                Some(a) if a <= self.cfg.hold_after_s => {
                    if self.mode == Mode::Hold {
                        self.go(Mode::Active, now_s, "fresh targets again");
                    }
                }
                Some(a) if a <= self.cfg.damping_after_s => {
                    if self.mode == Mode::Active {
                        self.go(Mode::Hold, now_s, format!("targets {:.0} ms old", a * 1e3));
                    }
                }
                _ => self.go(
                    Mode::Damping,
                    now_s,
                    format!(
                        "watchdog: no targets for more than {} s",
                        self.cfg.damping_after_s
                    ),
                ),
            }
        }
        // A fall: stop driving the joints into the floor.
        if self.mode != Mode::Damping {
            if let Some(t) = self.tilt_rad().filter(|t| *t > self.cfg.fall_tilt_rad) {
                self.counters.fall_damps += 1;
                self.go(
                    Mode::Damping,
                    now_s,
                    format!(
                        "fall: the pelvis is tilted {t:.2} rad from upright (fall_tilt_rad {})",
                        self.cfg.fall_tilt_rad
                    ),
                );
            }
        }
        self.command(now_s)
    }

    fn command(&mut self, now_s: f64) -> LowCmd {
        let mut cmd = LowCmd {
            mode_pr: 0,
            mode_machine: self.mode_machine,
            ..Default::default()
        };
        let (q, kp, kd): ([f64; NUM_JOINTS], [f64; NUM_JOINTS], [f64; NUM_JOINTS]) = match self.mode
        {
            Mode::Damping => (
                self.measured.as_ref().map_or([0.0; NUM_JOINTS], |m| m.q),
                [0.0; NUM_JOINTS],
                [self.cfg.damping_kd; NUM_JOINTS],
            ),
            Mode::Standby => {
                let (start, t0) = self.ramp.unwrap_or((g1::default_pose(), now_s));
                let r = if self.cfg.standby_ramp_s > 0.0 {
                    ((now_s - t0) / self.cfg.standby_ramp_s).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let def = g1::default_pose();
                (
                    std::array::from_fn(|j| start[j] + r * (def[j] - start[j])),
                    std::array::from_fn(|j| JOINTS[j].kp()),
                    std::array::from_fn(|j| JOINTS[j].kd()),
                )
            }
            Mode::Active => match self.targets.as_ref() {
                // Active is only entered with targets; without them the last command is held.
                None => (self.last_q, self.last_gains.0, self.last_gains.1),
                Some(t) => {
                    let q: [f64; NUM_JOINTS] = std::array::from_fn(|j| t.q[j]);
                    let (kp, kd) = if self.cfg.gains_from_targets {
                        (
                            std::array::from_fn(|j| t.kp[j]),
                            std::array::from_fn(|j| t.kd[j]),
                        )
                    } else {
                        (
                            std::array::from_fn(|j| JOINTS[j].kp()),
                            std::array::from_fn(|j| JOINTS[j].kd()),
                        )
                    };
                    self.last_q = q;
                    self.last_gains = (kp, kd);
                    (q, kp, kd)
                }
            },
            Mode::Hold => (self.last_q, self.last_gains.0, self.last_gains.1),
        };
        for j in 0..NUM_JOINTS {
            let qt = if self.mode == Mode::Damping {
                q[j]
            } else {
                self.clamp(j, q[j], kp[j], kd[j])
            };
            cmd.motor_cmd[j] = MotorCmd {
                mode: 1,
                q: qt as f32,
                dq: 0.0,
                tau: 0.0,
                kp: kp[j] as f32,
                kd: kd[j] as f32,
                reserve: 0,
            };
        }
        self.counters.commands += 1;
        sign_low_cmd(&mut cmd);
        cmd
    }

    /// Position limits, then the effort limit of the PD torque at the measured state.
    fn clamp(&mut self, j: usize, q: f64, kp: f64, kd: f64) -> f64 {
        let info = &JOINTS[j];
        let m = self.cfg.limit_margin_rad;
        let (lo, hi) = (info.pos_limits_rad[0] + m, info.pos_limits_rad[1] - m);
        let mut qt = q;
        if qt < lo || qt > hi {
            qt = qt.clamp(lo, hi);
            self.counters.position_clamps += 1;
        }
        if let (Some(meas), true) = (&self.measured, kp > 0.0) {
            let lim = info.effort_limit_nm();
            let tau = kp * (qt - meas.q[j]) - kd * meas.dq[j];
            if tau.abs() > lim {
                let tau_c = tau.clamp(-lim, lim);
                qt = meas.q[j] + (tau_c + kd * meas.dq[j]) / kp;
                self.counters.effort_clamps += 1;
            }
        }
        qt
    }
}
