//! Each tracking metric against a synthetic motion with a known answer.

use super::*;
use g1::Joint;

const DT: f64 = 0.02;

/// A stepping motion: the anchor walks forward at 0.2 m/s turning at 0.1 rad/s, the legs
/// lift in turn (hip and knee flex on alternate half cycles of 1.2 s).
fn stepping(n: usize) -> Vec<Frame> {
    (0..n)
        .map(|k| {
            let t = k as f64 * DT;
            let phase = (std::f64::consts::TAU * t / 1.2).sin();
            let mut q = g1::default_pose();
            for (side, lift) in [(0, phase.max(0.0)), (1, (-phase).max(0.0))] {
                let (hip, knee) = if side == 0 {
                    (Joint::LeftHipPitch, Joint::LeftKnee)
                } else {
                    (Joint::RightHipPitch, Joint::RightKnee)
                };
                q[hip.index()] -= 0.6 * lift;
                q[knee.index()] += 1.0 * lift;
            }
            let yaw = 0.1 * t;
            let pos = Vector3::new(0.2 * t * yaw.cos(), 0.2 * t * yaw.sin(), 1.05);
            Frame::anchored(
                &q,
                &pos,
                &UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw),
            )
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn exact_tracking_has_zero_error_and_full_contact_agreement() {
    let reference = stepping(300);
    let contacts = kinematic_contacts(&reference, DT);
    // The motion does step: each foot lifts and lands several times.
    for f in 0..2 {
        assert!(
            touchdowns(&contacts, f).len() >= 3,
            "foot {f}: {contacts:?}"
        );
    }
    let e = tracking_errors(&reference, &reference, &contacts, DT);
    assert_eq!(e.body_pos_m.len(), 300);
    assert!(e.body_pos_m.iter().all(|v| v.abs() < 1e-12));
    assert!(e.anchor_pos_m.iter().all(|v| v.abs() < 1e-12));
    assert!(e.anchor_ori_deg.iter().all(|v| v.abs() < 1e-9));
    assert!(e.joint_sq.iter().all(|v| v.abs() < 1e-20));
    assert_eq!(e.contact_agree, e.contact_pairs);
    assert_eq!(e.detector_agree, e.contact_pairs);
    assert_eq!(e.contact_pairs, 600);
    assert!(!e.touchdown_offsets_s.is_empty());
    assert!(e.touchdown_offsets_s.iter().all(|d| *d == 0.0));
    assert!((e.lin_vel_corr.unwrap() - 1.0).abs() < 1e-9);
    // A constant turn rate has no variance: no correlation to report.
    assert_eq!(e.ang_vel_corr, None);
    assert_eq!(
        TerminationRule::default().check(&reference[10], &reference[10]),
        None
    );
}

#[test]
fn constant_offsets_show_as_those_offsets() {
    let reference = stepping(200);
    let contacts = kinematic_contacts(&reference, DT);
    // The whole body 5 cm off (3 cm x, 4 cm y), joints 0.1 rad off, the anchor tilted 5°
    // about x: drift 5 cm, posture error 0, joint RMSE 0.1, orientation 5°.
    let tilt = UnitQuaternion::from_axis_angle(&Vector3::x_axis(), 5f64.to_radians());
    let robot: Vec<Frame> = reference
        .iter()
        .map(|f| Frame {
            bodies: f.bodies.map(|b| b + Vector3::new(0.03, 0.04, 0.0)),
            anchor_quat: f.anchor_quat * tilt,
            feet_quat: f.feet_quat,
            q: f.q.map(|q| q + 0.1),
        })
        .collect();
    let e = tracking_errors(&robot, &reference, &contacts, DT);
    assert!(e.anchor_pos_m.iter().all(|v| (v - 0.05).abs() < 1e-12));
    assert!(
        e.body_pos_m.iter().all(|v| v.abs() < 1e-9),
        "{:?}",
        &e.body_pos_m[..3]
    );
    assert!(e.anchor_ori_deg.iter().all(|v| (v - 5.0).abs() < 1e-9));
    let rmse = (mean(&e.joint_sq) / NUM_JOINTS as f64).sqrt();
    assert!((rmse - 0.1).abs() < 1e-12, "{rmse}");
    // Every body but the anchor 2 cm off sideways in the heading frame: posture error 2 cm.
    let robot: Vec<Frame> = reference
        .iter()
        .map(|f| {
            let side = f.anchor_quat * Vector3::new(0.0, 0.02, 0.0);
            let mut g = *f;
            for (b, p) in g.bodies.iter_mut().enumerate() {
                if b != ANCHOR.index() {
                    *p += side;
                }
            }
            g
        })
        .collect();
    let e = tracking_errors(&robot, &reference, &contacts, DT);
    assert!(e.body_pos_m.iter().all(|v| (v - 0.02).abs() < 1e-12));
    assert!(e.anchor_pos_m.iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn a_time_shift_shows_in_the_contact_timing() {
    let reference = stepping(300);
    // The robot does the same 3 steps (60 ms) late.
    let robot: Vec<Frame> = (0..300usize)
        .map(|k| reference[k.saturating_sub(3)])
        .collect();
    let contacts = kinematic_contacts(&robot, DT);
    let e = tracking_errors(&robot, &reference, &contacts, DT);
    assert!(e.contact_agree < e.contact_pairs);
    // The robot's contacts are its own kinematic ones: the detector agrees with itself.
    assert_eq!(e.detector_agree, e.contact_pairs);
    let agreement = e.contact_agree as f64 / e.contact_pairs as f64;
    assert!(agreement > 0.7, "{agreement}");
    assert!(!e.touchdown_offsets_s.is_empty());
    for d in &e.touchdown_offsets_s {
        assert!((d - 0.06).abs() < 1e-9, "touchdown offset {d}");
    }
    assert!(mean(&e.body_pos_m) > 0.0);
}

#[test]
fn correlation_and_command_errors() {
    let a: Vec<f64> = (0..50).map(|i| (i as f64 * 0.3).sin()).collect();
    let b: Vec<f64> = a.iter().map(|x| 2.0 * x + 1.0).collect();
    let c: Vec<f64> = a.iter().map(|x| -x).collect();
    assert!((correlation(&a, &b).unwrap() - 1.0).abs() < 1e-12);
    assert!((correlation(&a, &c).unwrap() + 1.0).abs() < 1e-12);
    assert_eq!(correlation(&a, &[3.0; 50]), None);
    // Two commands held 50 steps each; the robot 0.1 m/s slow in x and 0.2 rad/s fast in
    // yaw, except 5 wild steps after the change (skipped as settling).
    let cmd: Vec<[f64; 3]> = (0..100)
        .map(|k| {
            if k < 50 {
                [0.5, 0.0, 0.0]
            } else {
                [0.2, 0.1, 0.5]
            }
        })
        .collect();
    let act: Vec<[f64; 3]> = cmd
        .iter()
        .enumerate()
        .map(|(k, c)| {
            if (50..55).contains(&k) {
                [9.0, 9.0, 9.0]
            } else {
                [c[0] - 0.1, c[1], c[2] + 0.2]
            }
        })
        .collect();
    let e = command_errors(&act, &cmd, 5);
    assert_eq!(e.lin_sq.len(), 90);
    assert!((mean(&e.lin_sq).sqrt() - 0.1).abs() < 1e-12);
    assert!((mean(&e.ang_sq).sqrt() - 0.2).abs() < 1e-12);
}

#[test]
fn termination_rules() {
    let reference = stepping(10);
    let mut low = reference[5];
    low.bodies[ANCHOR.index()].z -= 0.3;
    assert_eq!(
        TerminationRule::default().check(&low, &reference[5]),
        Some("anchor height")
    );
    let mut tipped = reference[5];
    tipped.anchor_quat *= UnitQuaternion::from_axis_angle(&Vector3::y_axis(), 1.4);
    assert_eq!(
        TerminationRule::default().check(&tipped, &reference[5]),
        Some("anchor orientation")
    );
    let mut hand = reference[5];
    hand.bodies[Body::LeftWristYaw.index()].z += 0.3;
    assert_eq!(
        TerminationRule::default().check(&hand, &reference[5]),
        Some("end-effector height")
    );
}
