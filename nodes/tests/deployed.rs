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
    let cfg = SimConfig {
        timestep_s: p.timestep_s,
        decimation: (0.02 / p.timestep_s).round() as usize,
        randomization: Randomization::training(),
        ..SimConfig::default()
    };
    let mut sim = Sim::new(&g1_sim::default_assets_dir(), cfg).unwrap();
    let init = g1_control::drive::standing_start(&mut sim);
    let seed = 4;
    sim.reset(&init, seed).unwrap();
    let task = |_| Task::Joystick {
        velocity: [0.4, 0.0],
        yaw_rate: 0.0,
    };
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
    // Steered by the estimated state, it walks forward under the joystick.
    assert!(
        d.final_xy[0] > 0.4,
        "walked to {:?} in {} s",
        d.final_xy,
        steps as f64 * 0.02
    );
    // Every step of the episode ran on a plan (after the first, which holds).
    assert!(
        d.log.iter().skip(1).all(|l| l.mode == "plan"),
        "{:?}",
        d.log.iter().map(|l| l.mode).collect::<Vec<_>>()
    );

    // The node's core, fed the same messages, answers with the same targets.
    let mut node = PlannerCore::new(&p.planner, latency).unwrap();
    node.reset(seed);
    node.set_shapes(vec![]);
    let with_targets = out.records.iter().filter(|r| r.targets.is_some()).count();
    assert!(
        with_targets > 250,
        "{with_targets} control steps with targets"
    );
    for (i, r) in out.records.iter().enumerate() {
        node.task = r.task.clone();
        node.joints(&r.joints);
        if let Some(c) = &r.lowcmd {
            node.lowcmd(c);
        }
        let t = node.on_state(&r.state).unwrap();
        node.plan_next();
        assert_eq!(t, r.targets, "control step {i}");
    }
}
