//! Every safety rule of the bridge, each with a scripted fault (in process).

use g1::{JOINTS, NUM_JOINTS};
use g1_bridge::*;
use g1_hg::{check_low_cmd, sign_low_state, Buttons, Remote};
use g1_msgs::unitree::{LowCmd, LowState};

const DT: f64 = 0.002;

/// A robot whose joints sit at `q`, signed like the real one.
fn state(q: &[f64; NUM_JOINTS], buttons: u16, tick: u32) -> LowState {
    tilted_state(q, buttons, tick, [1.0, 0.0, 0.0, 0.0])
}

/// The same with the IMU's attitude `quat` (w, x, y, z).
fn tilted_state(q: &[f64; NUM_JOINTS], buttons: u16, tick: u32, quat: [f32; 4]) -> LowState {
    let mut s = LowState {
        mode_machine: 5,
        tick,
        ..Default::default()
    };
    for j in 0..NUM_JOINTS {
        s.motor_state[j].q = q[j] as f32;
    }
    s.imu_state.quaternion = quat;
    s.wireless_remote = Remote {
        buttons: Buttons(buttons),
        ..Default::default()
    }
    .encode();
    sign_low_state(&mut s);
    s
}

fn targets(q: [f64; NUM_JOINTS], t: f64) -> Targets {
    Targets {
        q: q.to_vec(),
        kp: JOINTS.iter().map(|j| j.kp()).collect(),
        kd: JOINTS.iter().map(|j| j.kd()).collect(),
        stamp_s: t,
    }
}

struct Rig {
    b: Bridge,
    t: f64,
    q: [f64; NUM_JOINTS],
    tick: u32,
    quat: [f32; 4],
}

impl Rig {
    fn new(cfg: BridgeConfig) -> Self {
        Self {
            b: Bridge::new(cfg).unwrap(),
            t: 0.0,
            q: [0.0; NUM_JOINTS],
            tick: 0,
            quat: [1.0, 0.0, 0.0, 0.0],
        }
    }
    /// Ticks `n` times holding `buttons`; returns the last command.
    fn run(&mut self, n: usize, buttons: u16) -> LowCmd {
        let mut c = LowCmd::default();
        for _ in 0..n {
            self.t += DT;
            self.tick += 1;
            let s = tilted_state(&self.q, buttons, self.tick, self.quat);
            c = self.b.tick(self.t, Some(&s));
            assert!(check_low_cmd(&c).is_ok(), "every command is signed");
        }
        c
    }
    fn press(&mut self, chord: u16) -> LowCmd {
        self.run(1, chord);
        self.run(1, 0)
    }
    fn make_active(&mut self) {
        self.press(Buttons::L1 | Buttons::A);
        self.run((3.0 / DT) as usize + 1, 0);
        let t = self.t;
        self.b.set_targets(targets(g1::default_pose(), t));
        self.press(Buttons::R1 | Buttons::A);
        assert_eq!(self.b.mode(), Mode::Active);
    }
}

#[test]
fn starts_in_damping_and_echoes_mode_machine() {
    let mut r = Rig::new(BridgeConfig::default());
    let c = r.run(3, 0);
    assert_eq!(r.b.mode(), Mode::Damping);
    assert_eq!(c.mode_machine, 5);
    for j in 0..NUM_JOINTS {
        assert_eq!(c.motor_cmd[j].kp, 0.0);
        assert_eq!(c.motor_cmd[j].kd, 4.0);
    }
    // Targets alone do not activate anything.
    let t = r.t;
    r.b.set_targets(targets(g1::default_pose(), t));
    r.run(5, 0);
    assert_eq!(r.b.mode(), Mode::Damping);
    // Nor does the active chord straight from damping.
    r.press(Buttons::R1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Damping);
}

#[test]
fn standby_ramps_from_measured_pose_to_default() {
    let mut r = Rig::new(BridgeConfig::default());
    r.q = [0.3; NUM_JOINTS];
    r.run(2, 0);
    r.press(Buttons::L1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Standby);
    let c = r.run((1.5 / DT) as usize - 1, 0);
    let def = g1::default_pose();
    for j in 0..NUM_JOINTS {
        let mid = 0.5 * (0.3 + def[j]);
        assert!(
            (c.motor_cmd[j].q as f64 - mid).abs() < 0.01,
            "joint {j} halfway"
        );
        assert_eq!(c.motor_cmd[j].kp as f64, JOINTS[j].kp() as f32 as f64);
    }
    let c = r.run((2.0 / DT) as usize, 0);
    for j in 0..NUM_JOINTS {
        // The effort clamp may hold the target short of the default pose while q is far.
        let lim = JOINTS[j].effort_limit_nm() / JOINTS[j].kp();
        let want = def[j].clamp(0.3 - lim, 0.3 + lim);
        assert!(
            (c.motor_cmd[j].q as f64 - want).abs() < 1e-4,
            "joint {j} at default"
        );
    }
}

#[test]
fn active_needs_finished_ramp_and_fresh_targets() {
    let mut r = Rig::new(BridgeConfig::default());
    r.press(Buttons::L1 | Buttons::A);
    let t = r.t;
    r.b.set_targets(targets(g1::default_pose(), t));
    r.press(Buttons::R1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Standby, "ramp not finished");
    r.run((3.0 / DT) as usize, 0);
    r.press(Buttons::R1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Standby, "targets are stale by now");
    let t = r.t;
    let mut q = g1::default_pose();
    q[3] += 0.1;
    r.b.set_targets(targets(q, t));
    r.press(Buttons::R1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Active);
    let c = r.run(1, 0);
    assert!((c.motor_cmd[3].q as f64 - q[3]).abs() < 1e-6);
}

#[test]
fn watchdog_holds_then_damps_and_latches() {
    let mut r = Rig::new(BridgeConfig::default());
    r.make_active();
    let mut q = g1::default_pose();
    q[0] = -0.2;
    let t = r.t;
    r.b.set_targets(targets(q, t));
    r.run(1, 0);
    // No more targets: within 0.1 s still active, then hold the last, then damping at 0.5 s.
    r.run((0.09 / DT) as usize, 0);
    assert_eq!(r.b.mode(), Mode::Active);
    let c = r.run((0.05 / DT) as usize, 0);
    assert_eq!(r.b.mode(), Mode::Hold);
    assert!(
        (c.motor_cmd[0].q as f64 + 0.2).abs() < 1e-6,
        "holds the last target"
    );
    r.run((0.4 / DT) as usize, 0);
    assert_eq!(r.b.mode(), Mode::Damping);
    // Fresh targets after damping do not re-activate by themselves.
    let t = r.t;
    r.b.set_targets(targets(q, t));
    r.run(5, 0);
    assert_eq!(r.b.mode(), Mode::Damping);
    let names: Vec<_> = r.b.transitions().iter().map(|t| t.to.name()).collect();
    assert_eq!(names, ["standby", "active", "hold", "damping"]);
    assert!(r.b.transitions()[3].reason.contains("watchdog"));
}

#[test]
fn hold_recovers_when_targets_return() {
    let mut r = Rig::new(BridgeConfig::default());
    r.make_active();
    r.run((0.2 / DT) as usize, 0);
    assert_eq!(r.b.mode(), Mode::Hold);
    let t = r.t;
    r.b.set_targets(targets(g1::default_pose(), t));
    r.run(1, 0);
    assert_eq!(r.b.mode(), Mode::Active);
}

#[test]
fn nan_or_malformed_targets_are_refused_and_the_watchdog_decides() {
    for fault in 0..4 {
        let mut r = Rig::new(BridgeConfig::default());
        r.make_active();
        let t = r.t;
        let good = targets(g1::default_pose(), t);
        let mut bad = good.clone();
        match fault {
            0 => bad.q[7] = f64::NAN,
            1 => bad.kd[2] = f64::INFINITY,
            2 => bad.kp[0] = -1.0,
            _ => bad.q.pop().map(|_| ()).unwrap(),
        }
        r.b.set_targets(bad);
        let c = r.run(1, 0);
        // One bad message (from a faulty planner or anyone on the network) is not acted on:
        // the last valid targets stay.
        assert_eq!(r.b.mode(), Mode::Active, "fault {fault}");
        assert_eq!(r.b.counters.rejected_targets, 1);
        for (j, m) in c.motor_cmd.iter().take(NUM_JOINTS).enumerate() {
            assert!(
                (m.q as f64 - good.q[j]).abs() < 1e-6 && m.kp > 0.0,
                "fault {fault}"
            );
        }
        // Nothing but bad targets: the watchdog holds, then damps.
        for _ in 0..30 {
            let t = r.t;
            let mut b = targets(g1::default_pose(), t);
            b.q[0] = f64::NAN;
            r.b.set_targets(b);
            r.run(25, 0);
        }
        assert_eq!(r.b.mode(), Mode::Damping, "fault {fault}");
        assert!(r.b.transitions().iter().any(|tr| tr.to == Mode::Hold));
    }
}

#[test]
fn bad_crc_is_dropped_counted_and_never_acted_on() {
    let mut r = Rig::new(BridgeConfig::default());
    r.run(2, 0);
    // A corrupted LowState carrying the standby chord.
    let mut s = state(&r.q, Buttons::L1 | Buttons::A, 99);
    s.motor_state[0].q += 0.5;
    r.t += DT;
    r.b.tick(r.t, Some(&s));
    assert_eq!(r.b.counters.bad_crc, 1);
    assert_eq!(r.b.mode(), Mode::Damping);
    assert_eq!(
        r.b.measured().unwrap().tick,
        2,
        "measurement from the last valid state"
    );
    // Only bad states for longer than the timeout while active → damping.
    r.make_active();
    for _ in 0..100 {
        r.t += DT;
        let t = r.t;
        r.b.set_targets(targets(g1::default_pose(), t));
        r.b.tick(r.t, Some(&s));
    }
    assert_eq!(r.b.mode(), Mode::Damping);
    assert!(r
        .b
        .transitions()
        .last()
        .unwrap()
        .reason
        .contains("LowState"));
}

#[test]
fn lost_state_stream_damps() {
    let mut r = Rig::new(BridgeConfig::default());
    r.make_active();
    for _ in 0..60 {
        r.t += DT;
        let t = r.t;
        r.b.set_targets(targets(g1::default_pose(), t));
        r.b.tick(r.t, None);
    }
    assert_eq!(r.b.mode(), Mode::Damping);
}

#[test]
fn damping_chord_from_any_mode_and_on_press_only() {
    let mut r = Rig::new(BridgeConfig::default());
    r.press(Buttons::L1 | Buttons::A);
    r.press(Buttons::B);
    assert_eq!(r.b.mode(), Mode::Damping);
    r.make_active();
    // Holding L1+A+B: damping wins.
    r.run(1, Buttons::L1 | Buttons::A | Buttons::B);
    assert_eq!(r.b.mode(), Mode::Damping);
    // Releasing B while L1+A stay held is no new press of the standby chord.
    r.run(1, Buttons::L1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Damping);
    r.run(1, 0);
    r.run(1, Buttons::L1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Standby);
    r.b.request(Request::Damping, "test");
    r.run(5, Buttons::L1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Damping);
}

#[test]
fn service_requests_follow_the_same_rules() {
    let mut r = Rig::new(BridgeConfig::default());
    r.run(1, 0);
    r.b.request(Request::Active, "svc");
    r.run(1, 0);
    assert_eq!(r.b.mode(), Mode::Damping);
    r.b.request(Request::Standby, "svc");
    r.run(1, 0);
    assert_eq!(r.b.mode(), Mode::Standby);
    assert_eq!(r.b.transitions()[0].reason, "request: svc");
}

#[test]
fn position_and_effort_clamps() {
    let mut r = Rig::new(BridgeConfig::default());
    r.q = g1::default_pose();
    r.make_active();
    // Knee (index 3) far beyond its upper limit, elbow target 2 rad away from its position.
    let mut q = g1::default_pose();
    q[3] = JOINTS[3].pos_limits_rad[1] + 1.0;
    q[18] = r.q[18] + 2.0;
    let t = r.t;
    r.b.set_targets(targets(q, t));
    let c = r.run(1, 0);
    let knee = c.motor_cmd[3].q as f64;
    assert!(knee <= JOINTS[3].pos_limits_rad[1] + 1e-6, "knee {knee}");
    let tau = JOINTS[18].kp() * (c.motor_cmd[18].q as f64 - r.q[18]);
    assert!(
        tau.abs() <= JOINTS[18].effort_limit_nm() * (1.0 + 1e-5),
        "elbow PD torque {tau} within {}",
        JOINTS[18].effort_limit_nm()
    );
    assert!(r.b.counters.position_clamps >= 1 && r.b.counters.effort_clamps >= 1);
}

#[test]
fn config_errors_name_the_key() {
    let e = Bridge::new(BridgeConfig {
        standby_chord: "L1+Z".into(),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert!(e.to_string().contains("standby_chord"), "{e}");
    let e = Bridge::new(BridgeConfig {
        hold_after_s: 0.5,
        damping_after_s: 0.2,
        ..Default::default()
    })
    .err()
    .unwrap();
    assert!(e.to_string().contains("damping_after_s"), "{e}");
}

#[test]
fn target_gains_are_bounded() {
    let mut r = Rig::new(BridgeConfig::default());
    r.make_active();
    let t = r.t;
    let mut absurd = targets(g1::default_pose(), t);
    absurd.kp = vec![1e6; NUM_JOINTS];
    absurd.kd[3] = 1e4;
    r.b.set_targets(absurd);
    let c = r.run(1, 0);
    assert_eq!(r.b.mode(), Mode::Active, "bounded, not refused");
    for (j, m) in c.motor_cmd.iter().take(NUM_JOINTS).enumerate() {
        let kp_max = 2.0 * JOINTS[j].kp();
        assert!(
            (m.kp as f64 - kp_max).abs() < 1e-3 * kp_max,
            "joint {j}: kp {}",
            m.kp
        );
    }
    assert!((c.motor_cmd[3].kd as f64 - 2.0 * JOINTS[3].kd()).abs() < 1e-3);
    assert!(
        (c.motor_cmd[4].kd as f64 - JOINTS[4].kd()).abs() < 1e-3,
        "kd within bound kept"
    );
    assert_eq!(r.b.counters.gain_clamps, NUM_JOINTS as u64 + 1);
}

#[test]
fn network_requests_cannot_switch_the_policy_on_by_default() {
    for allowed in [false, true] {
        let mut r = Rig::new(BridgeConfig {
            network_active: allowed,
            ..BridgeConfig::default()
        });
        r.run(1, 0);
        r.b.request_network(Request::Standby, "peer");
        r.run(1, 0);
        assert_eq!(
            r.b.mode(),
            Mode::Standby,
            "standby from the network is allowed"
        );
        r.run((3.0 / DT) as usize + 1, 0);
        let t = r.t;
        r.b.set_targets(targets(g1::default_pose(), t));
        r.b.request_network(Request::Active, "peer");
        r.run(1, 0);
        if allowed {
            assert_eq!(r.b.mode(), Mode::Active);
            assert_eq!(r.b.counters.refused_requests, 0);
        } else {
            assert_eq!(r.b.mode(), Mode::Standby);
            assert_eq!(r.b.counters.refused_requests, 1);
            assert!(
                r.b.refusals()[0].contains("network_active"),
                "{:?}",
                r.b.refusals()
            );
            // The remote's chord still does.
            r.press(Buttons::R1 | Buttons::A);
            assert_eq!(r.b.mode(), Mode::Active);
        }
        // Damping from the network is always obeyed.
        r.b.request_network(Request::Damping, "peer");
        r.run(1, 0);
        assert_eq!(r.b.mode(), Mode::Damping);
    }
}

#[test]
fn a_robot_that_is_not_upright_is_not_switched_on() {
    let mut r = Rig::new(BridgeConfig::default());
    // Lying on its back: pitched 90° (about y).
    let h = std::f32::consts::FRAC_1_SQRT_2;
    r.quat = [h, 0.0, h, 0.0];
    r.run(1, 0);
    assert!((r.b.tilt_rad().unwrap() - std::f64::consts::FRAC_PI_2).abs() < 1e-3);
    r.press(Buttons::L1 | Buttons::A);
    r.b.request(Request::Standby, "harness");
    r.b.request_network(Request::Standby, "peer");
    r.run(2, 0);
    assert_eq!(r.b.mode(), Mode::Damping);
    assert!(r.b.counters.refused_requests >= 2, "{:?}", r.b.refusals());
    assert!(
        r.b.refusals().iter().all(|l| l.contains("tilted")),
        "{:?}",
        r.b.refusals()
    );
    // Upright again (20° of tilt is within the default 0.6 rad): standby is accepted.
    let a = 0.35f32 / 2.0;
    r.quat = [a.cos(), a.sin(), 0.0, 0.0];
    r.press(Buttons::L1 | Buttons::A);
    assert_eq!(r.b.mode(), Mode::Standby);
}

#[test]
fn a_fall_while_active_damps_and_latches() {
    let mut r = Rig::new(BridgeConfig::default());
    r.make_active();
    // Tipping forward through 0.9 rad (still driven) to 1.2 rad (a fall), with fresh targets.
    for (i, angle) in [0.5f32, 0.9, 1.2].into_iter().enumerate() {
        let a = angle / 2.0;
        r.quat = [a.cos(), 0.0, a.sin(), 0.0];
        let t = r.t;
        r.b.set_targets(targets(g1::default_pose(), t));
        r.run(1, 0);
        let expect = if i < 2 { Mode::Active } else { Mode::Damping };
        assert_eq!(r.b.mode(), expect, "at {angle} rad");
    }
    assert_eq!(r.b.counters.fall_damps, 1);
    assert!(r.b.transitions().last().unwrap().reason.contains("fall"));
    // Damping commands, and it stays damped upright again with fresh targets.
    r.quat = [1.0, 0.0, 0.0, 0.0];
    let t = r.t;
    r.b.set_targets(targets(g1::default_pose(), t));
    let c = r.run(5, 0);
    assert_eq!(r.b.mode(), Mode::Damping);
    assert!(c.motor_cmd.iter().all(|m| m.kp == 0.0));
    // fall_tilt_rad below max_tilt_rad is refused.
    let bad = BridgeConfig {
        fall_tilt_rad: 0.5,
        ..BridgeConfig::default()
    };
    assert!(g1_ros::NodeConfig::check(&bad).is_err());
}

#[test]
fn a_second_state_stream_is_dropped_and_counted() {
    let mut r = Rig::new(BridgeConfig::default());
    r.make_active();
    let t = r.t;
    r.b.set_targets(targets(g1::default_pose(), t));
    // A forged LowState with the damping chord (B) and a valid CRC, from a source that does
    // not follow the stream's tick (here: tick 7, long past).
    let forged = state(&r.q, Buttons::B, 7);
    r.t += DT;
    r.b.tick(r.t, Some(&forged));
    assert_eq!(
        r.b.mode(),
        Mode::Active,
        "the forged chord was not acted on"
    );
    assert_eq!(r.b.counters.foreign_states, 1);
    // The real stream goes on.
    r.run(5, 0);
    assert_eq!(r.b.mode(), Mode::Active);
    assert_eq!(r.b.counters.foreign_states, 1);
    // A restarted robot (tick from 0) is taken up once the old stream has been silent for
    // state_timeout_s.
    r.t += 0.2;
    r.tick = 0;
    r.run(2, 0);
    assert_eq!(r.b.counters.foreign_states, 1);
    assert!(r.b.measured().unwrap().tick <= 2);
}

#[test]
fn shutting_down_damps() {
    let mut r = Rig::new(BridgeConfig::default());
    r.make_active();
    let c = r.b.shutdown(r.t);
    assert_eq!(r.b.mode(), Mode::Damping);
    assert!(check_low_cmd(&c).is_ok());
    assert!(c
        .motor_cmd
        .iter()
        .take(NUM_JOINTS)
        .all(|m| m.kp == 0.0 && m.kd > 0.0));
    assert!(r
        .b
        .transitions()
        .last()
        .unwrap()
        .reason
        .contains("stopping"));
}
