//! The deployed chain without DDS (what `g1d eval --profile deployed` runs): noisy sensors at
//! 500 Hz → bridge → Kalman estimator → the planner node's core → bridge → simulator, from the
//! launch files' parameter file. The harness and the node run one controller: the messages the
//! harness gave its planner core, fed to a fresh planner core built from the same parameters,
//! give bit-identical joint targets at every control step.

use g1_control::{LatencyModel, Task};
use g1_nodes::deployed::{ChainParams, DeployedChain, SensorNoise};
use g1_nodes::planner_node::PlannerCore;
use g1_sim::{Randomization, Sim, SimConfig};

fn params() -> ChainParams {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut p = ChainParams::from_file(&root.join("config/g1.params.yaml")).unwrap();
    p.planner.model = root.join("assets/models/default").display().to_string();
    p
}

#[test]
fn the_harness_and_the_node_compute_the_same_targets() {
    let p = params();
    let latency = LatencyModel::Fixed { ms: 10.0 };
    let mut chain = DeployedChain::new(p.clone(), latency.clone(), SensorNoise::default()).unwrap();
    chain.record = true;
    let cfg = p.sim_timing(SimConfig {
        randomization: Randomization::training(),
        ..SimConfig::default()
    });
    let mut sim = Sim::new(&g1_sim::default_assets_dir(), cfg).unwrap();
    let init = g1_eval::standing_start(&mut sim);
    let seed = 4;
    sim.reset(&init, seed).unwrap();
    let joystick = Task::Joystick {
        velocity: [0.4, 0.0],
        yaw_rate: 0.0,
    };
    let task = |_, _: &g1_sim::Sim| joystick.clone();
    let steps = 100;
    let out = chain.run(&mut sim, seed, &task, steps).unwrap();
    // The chain as the robot starts: standby on the gantry, then active.
    assert!(
        (p.bridge.standby_ramp_s..p.bridge.standby_ramp_s + 0.5).contains(&out.startup_s),
        "active at {} s: {:?}",
        out.startup_s,
        out.bridge_transitions
    );
    assert_eq!(out.bad_crc, 0);
    let d = &out.drive;
    assert!(!d.fell, "fell at {:?}", d.fall_time_s);
    assert_eq!(d.steps, steps);
    assert_eq!(d.failed_plans, 0);
    // Steered by the estimated state, it walks forward under the joystick (from standing the
    // command ramps at 0.5 m/s²; 2 s after release the G1 had walked 0.36–0.70 m in 6 seeded
    // deployed runs of this command, 0.43–0.73 m before joystick plans were symmetrised).
    assert!(
        d.final_xy[0] > 0.3,
        "walked to {:?} in {} s",
        d.final_xy,
        steps as f64 * 0.02
    );
    // Every step of the episode ran on a plan (after the first, which holds).
    assert!(
        d.log
            .iter()
            .skip(1)
            .all(|l| l.mode == g1_control::StepMode::Plan),
        "{:?}",
        d.log.iter().map(|l| l.mode).collect::<Vec<_>>()
    );

    // The node's core, fed the same messages, answers with the same targets.
    let mut node = PlannerCore::new(&p.planner, latency.clone()).unwrap();
    node.reset(seed);
    node.set_shapes(vec![]);
    let with_targets = out.records.iter().filter(|r| r.targets.is_some()).count();
    assert!(
        with_targets > 250,
        "{with_targets} control steps with targets"
    );
    for (i, r) in out.records.iter().enumerate() {
        node.task = r.task.clone();
        node.bridge_mode(&r.bridge_mode);
        node.joints(&r.joints);
        if let Some(c) = &r.lowcmd {
            node.lowcmd(c);
        }
        let t = node.on_state(&r.state).unwrap();
        node.plan_next();
        assert_eq!(t, r.targets, "control step {i}");
    }

    // The rule behind that start: a task given while the bridge is heard in another mode than
    // `active` (here damping, then standby on the gantry) is not pursued. A core given no task until the
    // bridge turned active (and no mode) computes the same targets; one that hears the bridge
    // active throughout pursues the task on the gantry and does not.
    let standby = out
        .records
        .iter()
        .take_while(|r| r.bridge_mode != "active")
        .count();
    assert!(standby > 50, "{standby} control steps before active");
    assert!(out.records[..standby]
        .iter()
        .all(|r| r.task == joystick && ["damping", "standby"].contains(&r.bridge_mode.as_str())));
    let replay = |free_until_active: bool| {
        let mut c = PlannerCore::new(&p.planner, latency.clone()).unwrap();
        c.reset(seed);
        c.set_shapes(vec![]);
        let mut targets = vec![];
        for (i, r) in out.records.iter().enumerate() {
            c.task = match (free_until_active, i < standby) {
                (true, true) => Task::Free,
                _ => r.task.clone(),
            };
            if !free_until_active {
                c.bridge_mode("active");
            }
            c.joints(&r.joints);
            if let Some(m) = &r.lowcmd {
                c.lowcmd(m);
            }
            targets.push(c.on_state(&r.state).unwrap());
            c.plan_next();
        }
        targets
    };
    let recorded: Vec<_> = out.records.iter().map(|r| r.targets.clone()).collect();
    assert_eq!(replay(true), recorded);
    let eager = replay(false);
    let first_difference = (0..standby).find(|&i| eager[i] != recorded[i]);
    assert!(
        first_difference.is_some(),
        "pursuing the task on the gantry changed no target"
    );
}

/// The planner dies mid-walk: the bridge holds the last targets after `hold_after_s`, then
/// damps after `damping_after_s` (latched), as `config/g1.params.yaml` sets them for the robot —
/// or earlier, when the G1 held in mid-stride tips past `fall_tilt_rad`.
#[test]
fn a_planner_killed_mid_walk_makes_the_bridge_hold_then_damp() {
    let p = params();
    let mut chain = DeployedChain::new(
        p.clone(),
        LatencyModel::Fixed { ms: 10.0 },
        SensorNoise::default(),
    )
    .unwrap();
    chain.planner_stops_at_s = Some(1.0);
    chain.stop_at_fall = false;
    let cfg = p.sim_timing(SimConfig::default());
    let mut sim = Sim::new(&g1_sim::default_assets_dir(), cfg).unwrap();
    let init = g1_eval::standing_start(&mut sim);
    sim.reset(&init, 2).unwrap();
    let task = |_, _: &g1_sim::Sim| Task::Joystick {
        velocity: [0.4, 0.0],
        yaw_rate: 0.0,
    };
    let out = chain.run(&mut sim, 2, &task, 150).unwrap();
    let t = &out.bridge_transitions;
    eprintln!("{t:#?}");
    // Episode times (s) of the transitions into hold and damping.
    let at = |to: &str| {
        t.iter()
            .find(|l| l.contains(&format!("→ {to}:")))
            .map(|l| l.split(' ').next().unwrap().parse::<f64>().unwrap())
    };
    let hold = at("hold").expect("no hold");
    let damp = at("damping").expect("no damping");
    // The last targets answer the state of 0.98 s; hold after 0.2 s, damp after 1 s.
    let last = 0.98;
    assert!(
        (hold - (last + p.bridge.hold_after_s)).abs() < 0.03,
        "hold at {hold} s: {t:?}"
    );
    let by_fall = t.iter().any(|l| l.contains("→ damping: fall"));
    if by_fall {
        // A fall damps no later than the timer would have (at the same control step, the
        // fall is the reason given).
        assert!(
            damp > hold && damp < last + p.bridge.damping_after_s + 0.03,
            "damping for a fall at {damp} s: {t:?}"
        );
    } else {
        assert!(
            (damp - (last + p.bridge.damping_after_s)).abs() < 0.03,
            "damping at {damp} s: {t:?}"
        );
    }
    assert!(t.last().unwrap().contains("→ damping"), "{t:?}");
    // Held in mid-stride, the G1 does not stay up: it falls after the hold began.
    if let Some(f) = out.drive.fall_time_s {
        assert!(f > hold, "fell at {f} s, before the hold at {hold} s");
    }
    eprintln!("fall at {:?} s", out.drive.fall_time_s);
}
