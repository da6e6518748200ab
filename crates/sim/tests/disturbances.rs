//! The tour protocol's disturbances: punches (a horizontal force on a random body for a short
//! time, one per window) and the arm joints' random walk, checked against MuJoCo's own
//! centre-of-mass motion and control vector.

use g1::{JOINTS, NUM_JOINTS};
use g1_sim::{
    default_assets_dir, is_arm_joint, ArmWalkConfig, InitialState, MotorCommand, PunchConfig, Sim,
    SimConfig,
};

#[derive(Debug, PartialEq)]
struct Seen {
    start_s: f64,
    steps: usize,
    body: usize,
    force: [f64; 6],
}

/// Control steps of `sim` (reset with `seed`, hanging high above the floor) with every punch
/// seen in `xfrc_applied`.
fn punches_seen(sim: &mut Sim, seed: u64, steps: usize) -> Vec<Seen> {
    // 50 m up: the robot falls freely for the whole run (3 s fall ≈ 44 m).
    sim.reset(&InitialState::standing(50.0), seed).unwrap();
    let mut seen: Vec<Seen> = vec![];
    let mut active = false;
    for _ in 0..steps {
        let t = sim.time_s();
        sim.step_control();
        let xf = sim.data().xfrc_applied();
        let on: Vec<usize> = (0..xf.len())
            .filter(|&b| xf[b].iter().any(|v| *v != 0.0))
            .collect();
        assert!(on.len() <= 1, "more than one body punched at once: {on:?}");
        if let Some(&b) = on.first() {
            // The same punch goes on, or (a new body or force) the next one starts.
            match seen.last_mut() {
                Some(last) if active && (last.body, last.force) == (b, xf[b]) => last.steps += 1,
                _ => seen.push(Seen {
                    start_s: t,
                    steps: 1,
                    body: b,
                    force: xf[b],
                }),
            }
        }
        active = !on.is_empty();
    }
    seen
}

#[test]
fn one_punch_per_window_of_the_drawn_force_and_duration() {
    let cfg = SimConfig {
        punches: Some(PunchConfig {
            every_s: 0.5,
            max_force_n: 600.0,
            duration_s: 0.08,
        }),
        ..SimConfig::default()
    };
    let mut sim = Sim::new(&default_assets_dir(), cfg).unwrap();
    let dt = sim.control_dt_s();
    let seen = punches_seen(&mut sim, 7, 150); // 3 s: six windows
    assert_eq!(seen.len(), 6, "{seen:?}");
    for (n, p) in seen.iter().enumerate() {
        // Applied at the first control step at or after its draw, within its window, for
        // 0.08 s (four 20 ms periods); horizontal, no torque, at most 600 N, on a robot body.
        let w0 = n as f64 * 0.5;
        assert!(
            p.start_s >= w0 - 1e-9 && p.start_s < w0 + 0.5 - 0.08 + dt,
            "{n}: {p:?}"
        );
        assert_eq!(p.steps, 4, "{p:?}");
        assert!((1..=g1::NUM_BODIES).contains(&p.body), "{p:?}");
        assert!(p.force[2..].iter().all(|v| *v == 0.0), "{p:?}");
        assert!(p.force[0].hypot(p.force[1]) <= 600.0, "{p:?}");
    }
    assert_eq!(sim.pushes_applied(), 6);
    // Seeded: the same seed gives the same punches, another seed others.
    assert_eq!(punches_seen(&mut sim, 7, 150), seen);
    assert_ne!(punches_seen(&mut sim, 8, 150), seen);
    // Bodies and directions vary over the windows.
    let bodies: std::collections::BTreeSet<usize> = seen.iter().map(|p| p.body).collect();
    assert!(bodies.len() > 1, "{seen:?}");
}

/// In free fall the only horizontal force on the robot is the punch: the robot's momentum
/// (MuJoCo's centre-of-mass velocity) must gain F·T. Checked on punches of bodies of 1.5 kg
/// or more: a light hand link punched with hundreds of newtons whirls so fast that the
/// integrator's step (the mass matrix of the step's start) no longer keeps momentum (its
/// gain was 5–20 % off on the 0.48 kg wrist link).
#[test]
fn a_punch_gives_the_whole_robot_its_impulse() {
    let cfg = SimConfig {
        punches: Some(PunchConfig {
            every_s: 2.0,
            max_force_n: 600.0,
            duration_s: 0.08,
        }),
        ..SimConfig::default()
    };
    let mut sim = Sim::new(&default_assets_dir(), cfg).unwrap();
    let mass = sim.model().body_subtreemass()[1];
    let dt = sim.control_dt_s();
    let mut checked = 0;
    for seed in 0..60 {
        if checked == 4 {
            break;
        }
        sim.reset(&InitialState::standing(50.0), seed).unwrap();
        sim.set_command(&MotorCommand::position(g1::default_pose()));
        // Step until the first window's punch (within 1.92 s) has ended.
        let before = sim.com_velocity();
        let mut force = None;
        for _ in 0..((1.98 / dt) as usize) {
            sim.step_control();
            match (sim.active_punch(), force) {
                (Some(p), _) => force = Some((p.force_n, p.body)),
                (None, Some(_)) => break,
                (None, None) => {}
            }
        }
        let (f, body) = force.expect("a punch in the first window");
        if sim.model().body_mass()[body] < 1.5 {
            continue;
        }
        let after = sim.com_velocity();
        let v = [after[0] - before[0], after[1] - before[1]];
        let want = [f[0] * 0.08 / mass, f[1] * 0.08 / mass];
        for k in 0..2 {
            assert!(
                (v[k] - want[k]).abs() < 1e-3 + 0.01 * want[k].abs(),
                "seed {seed}: CoM velocity gained {v:?}, F·T/M {want:?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn the_arm_walk_moves_the_arm_targets_only_and_within_bounds() {
    let walk = ArmWalkConfig {
        step_std_rad: 0.05,
        max_offset_rad: 0.3,
    };
    let cfg = SimConfig {
        arm_walk: Some(walk.clone()),
        ..SimConfig::default()
    };
    let mut sim = Sim::new(&default_assets_dir(), cfg).unwrap();
    let mut init = InitialState::standing(0.8);
    sim.place_on_ground(&mut init);
    sim.reset(&init, 3).unwrap();
    // A command away from the default pose: legs keep it, arms do not.
    let q: [f64; NUM_JOINTS] = std::array::from_fn(|i| JOINTS[i].default_pos_rad + 0.05);
    sim.set_command(&MotorCommand::position(q));
    // Before the first control step the walk has not started: the arms follow the command.
    let ctrl0 = sim.data().ctrl().to_vec();
    assert!((0..NUM_JOINTS).all(|i| (ctrl0[i] - q[i]).abs() < 1e-12));
    let mut moved = [false; NUM_JOINTS];
    for _ in 0..100 {
        sim.step_control();
        sim.set_command(&MotorCommand::position(q));
        let ctrl = sim.data().ctrl();
        for i in 0..NUM_JOINTS {
            if is_arm_joint(i) {
                let off = ctrl[i] - JOINTS[i].default_pos_rad;
                let [lo, hi] = JOINTS[i].pos_limits_rad;
                assert!(off.abs() <= walk.max_offset_rad + 1e-12, "joint {i}: {off}");
                assert!((lo - 1e-12..=hi + 1e-12).contains(&ctrl[i]), "joint {i}");
                moved[i] |= (ctrl[i] - q[i]).abs() > 1e-6;
            } else {
                assert!((ctrl[i] - q[i]).abs() < 1e-12, "joint {i} changed");
            }
        }
    }
    let arms: Vec<usize> = (0..NUM_JOINTS).filter(|&i| is_arm_joint(i)).collect();
    assert_eq!(arms.len(), 14, "shoulders, elbows, wrists of both arms");
    assert!(arms.iter().all(|&i| moved[i]), "{moved:?}");
    // The sensors see where the arms went (the walk acts through the joints' PD).
    let s = sim.sensors();
    let away = arms
        .iter()
        .filter(|&&i| (s.q[i] - q[i]).abs() > 0.02)
        .count();
    assert!(away > 0, "no arm joint left the commanded pose");
}
