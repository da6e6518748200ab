//! Joystick goal publishers: `cmd_vel` (`geometry_msgs/Twist`, REP-103: x forward, y left,
//! z up; m/s and rad/s) for the planner or the expert, from one of three sources.
//!
//! - `g1_teleop` with `source: joy` — a gamepad's `sensor_msgs/Joy` on `joy` (as published by
//!   the `joy` package's `joy_node`), axes and scales by parameter, an optional enable
//!   (dead-man) button; releasing it publishes one zero command, as `teleop_twist_joy` does.
//! - `g1_teleop` with `source: remote` — the G1's own wireless remote, read from the
//!   `wireless_remote` bytes of `/lowstate` (left stick: walk, right stick x: turn); a LowState
//!   with a bad CRC is dropped and counted, never acted on.
//! - `g1_teleop_key` — keyboard teleoperation in a terminal (w/s forward/back, a/d left/right,
//!   q/e turn, space stop); standard input is read key by key when it is a terminal, line by line
//!   otherwise (so scripts and tests can drive it).
//!
//! All three publish at `rate_hz` while a command is active, clamped to the `max_*` limits.
mod mapping;

pub use mapping::{twist, Cmd, TeleopConfig};

use std::io::{IsTerminal, Read};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use anyhow::Result;
use g1_hg::{check_low_state, Remote};
use g1_msgs::geometry_msgs::Twist;
use g1_msgs::sensor_msgs::Joy;
use g1_msgs::unitree::LowState;
use g1_ros::dds::{take_all, Publisher, QosPreset, RosNode, Subscription};

use crate::runtime::Node;

enum Source {
    Joy(Subscription<Joy>),
    Remote(Subscription<LowState>),
    Keyboard {
        keys: Receiver<char>,
        /// `stty -g` of the terminal, restored at the end.
        restore: Option<String>,
    },
}

pub struct TeleopNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<TeleopConfig>,
    cfg: TeleopConfig,
    source: Source,
    cmd_pub: Publisher<Twist>,
    /// The command being published (None: idle, nothing published).
    active: Option<Cmd>,
    pub bad_crc: u64,
}

fn stty(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("stty")
        .args(args)
        .stdin(std::process::Stdio::inherit())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl TeleopNode {
    /// `exec`: `g1_teleop` (joy / remote) or `g1_teleop_key` (keyboard).
    pub fn new(mut ros: RosNode, exec: &str) -> Result<Self> {
        let mut cfg: TeleopConfig = ros.ctx.config()?;
        if exec == "g1_teleop_key" {
            cfg.source = "keyboard".into();
        } else if cfg.source == "keyboard" {
            anyhow::bail!(
                "parameter `source`: keyboard teleoperation is the g1_teleop_key executable"
            );
        }
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let source = match cfg.source.as_str() {
            "joy" => Source::Joy(ros.subscription("joy", QosPreset::Sensor)?),
            "remote" => Source::Remote(ros.subscription("/lowstate", QosPreset::Sensor)?),
            _ => {
                let tty = std::io::stdin().is_terminal();
                let restore = if tty {
                    let saved = stty(&["-g"]);
                    stty(&["-icanon", "-echo", "min", "1"]);
                    saved
                } else {
                    None
                };
                eprintln!(
                    "keyboard teleop: w/s forward/back ±{l}, a/d left/right ±{l}, q/e turn ±{a}, \
                     space stop (cmd_vel at {r} Hz)",
                    l = cfg.key_step_linear,
                    a = cfg.key_step_angular,
                    r = cfg.rate_hz
                );
                let (tx, rx) = channel();
                std::thread::Builder::new()
                    .name("teleop-keys".into())
                    .spawn(move || {
                        let mut b = [0u8; 1];
                        let mut stdin = std::io::stdin();
                        while let Ok(1) = stdin.read(&mut b) {
                            if tx.send(b[0] as char).is_err() {
                                break;
                            }
                        }
                    })?;
                Source::Keyboard { keys: rx, restore }
            }
        };
        Ok(Self {
            params,
            name: ros.ctx.names.fqn(),
            cmd_pub: ros.publisher("cmd_vel", QosPreset::Command)?,
            cfg,
            source,
            active: None,
            bad_crc: 0,
            _ros: ros,
        })
    }

    pub fn command(&self) -> Option<Cmd> {
        self.active
    }
}

impl Node for TeleopNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        if let Some(cfg) = self.params.poll(now_s) {
            self.cfg = cfg;
        }
        let before = self.active;
        match &self.source {
            Source::Joy(sub) => {
                if let Some(j) = take_all(sub).0.pop() {
                    self.active = self.cfg.joy_command(&j);
                }
            }
            Source::Remote(sub) => {
                let (states, _) = take_all(sub);
                for s in states.iter().rev() {
                    if check_low_state(s).is_err() {
                        self.bad_crc += 1;
                        continue;
                    }
                    self.active =
                        Some(self.cfg.remote_command(&Remote::decode(&s.wireless_remote)));
                    break;
                }
            }
            Source::Keyboard { keys, .. } => {
                while let Ok(k) = keys.try_recv() {
                    let c = self.active.unwrap_or([0.0; 3]);
                    if let Some(n) = self.cfg.key_command(c, k) {
                        self.active = Some(n);
                        eprint!(
                            "\rcmd_vel: vx {:+.2} m/s  vy {:+.2} m/s  wz {:+.2} rad/s   ",
                            n[0], n[1], n[2]
                        );
                    }
                }
            }
        }
        match (self.active, before) {
            (Some(c), _) => {
                self.cmd_pub.publish(twist(c)).ok();
            }
            // The enable button was released: one zero command, then silence.
            (None, Some(_)) => {
                self.cmd_pub.publish(twist([0.0; 3])).ok();
            }
            (None, None) => {}
        }
        Ok(Duration::from_secs_f64(1.0 / self.cfg.rate_hz))
    }

    fn finish(&mut self) -> Result<()> {
        if let Source::Keyboard {
            restore: Some(s), ..
        } = &self.source
        {
            stty(&[s.as_str()]);
            eprintln!();
        }
        Ok(())
    }
}
