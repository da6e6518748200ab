//! Prints the estimator's state against the simulator's truth at every control step of one
//! deployed-chain episode (joystick 0.5 m/s forward): `cargo run --release -p g1-nodes
//! --example estimate_trace -- SEED [none] [ground_truth] [push]` (`push`: the walk + perturb
//! scenario's pushes, 0–0.5 m/s every second).

use g1_control::{LatencyModel, Task};
use g1_nodes::deployed::{ChainParams, DeployedChain, SensorNoise};
use g1_sim::{Randomization, Sim, SimConfig};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed: u64 = args.first().map_or(Ok(0), |s| s.parse())?;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut p = ChainParams::from_file(&root.join("config/g1.params.yaml"))?;
    p.planner.model = root.join("assets/models/default").display().to_string();
    if args.iter().any(|a| a == "ground_truth") {
        p.estimator.mode = g1_nodes::estimator_node::EstimatorMode::GroundTruth;
    }
    let noise = if args.iter().any(|a| a == "none") {
        SensorNoise::none()
    } else {
        SensorNoise::default()
    };
    let latency =
        LatencyModel::parse(&root.join("config/plan_latency.json").display().to_string())?;
    let mut chain = DeployedChain::new(p.clone(), latency, noise)?;
    chain.record = true;
    let cfg = p.sim_timing(SimConfig {
        randomization: Randomization::training(),
        pushes: args
            .iter()
            .any(|a| a == "push")
            .then(g1_sim::PushConfig::default),
        ..SimConfig::default()
    });
    let mut sim = Sim::new(&g1_sim::default_assets_dir(), cfg)?;
    let init = g1_eval::standing_start(&mut sim);
    sim.reset(&init, seed)?;
    let task = |_, _: &g1_sim::Sim| Task::Joystick {
        velocity: [0.5, 0.0],
        yaw_rate: 0.0,
    };
    let out = chain.run(&mut sim, seed, &task, 750)?;
    println!(
        "fell {:?} startup {:.2}",
        out.drive.fall_time_s, out.startup_s
    );
    println!("t  est_v(x,y,z)  true_v  est_w  true_w  est_z true_z");
    for (k, r) in out.records.iter().enumerate() {
        let t = &r.state.root_twist;
        let tr = &r.truth;
        println!(
            "{k:4} v {:6.2} {:6.2} {:6.2} | {:6.2} {:6.2} {:6.2}  w {:6.2} {:6.2} {:6.2} | {:6.2} {:6.2} {:6.2}  z {:.3} {:.3}",
            t.linear.x, t.linear.y, t.linear.z,
            tr.lin_vel_w.x, tr.lin_vel_w.y, tr.lin_vel_w.z,
            t.angular.x, t.angular.y, t.angular.z,
            tr.ang_vel_w.x, tr.ang_vel_w.y, tr.ang_vel_w.z,
            r.state.root_pose.position.z, tr.pos_w.z,
        );
    }
    Ok(())
}
