//! A joint-space model (the baseline of the state-representation table) in the planner core:
//! its states are built from the estimator's Body-Pos root part and the joint states' positions
//! and velocities, it plans, and obstacle arrays are refused (their costs need body positions).

use g1_control::LatencyModel;
use g1_diffusion::{Checkpoint, ModelConfig};
use g1_msgs::g1d::{BodyPosState, Obstacle, ObstacleArray};
use g1_nodes::planner_node::{PlannerCore, PlannerNodeConfig};

/// A random-weight `tiny` model with joint-space states, exported as `g1d export` does.
fn joint_space_model(dir: &std::path::Path) {
    let layout = g1::StateLayout::JointSpace;
    let c = ModelConfig {
        state_dim: layout.dim(),
        ..ModelConfig::named("tiny").unwrap()
    };
    let ck = Checkpoint::random(&c, 5, layout, "random weights (test)");
    let m = g1_diffusion::export::export_checkpoint(&ck, dir, false).unwrap();
    assert_eq!(m.state_layout, layout);
    assert_eq!(m.state_names.len(), 70);
}

#[test]
fn a_joint_space_model_plans_from_joint_states_and_refuses_obstacles() {
    let dir = std::env::temp_dir().join(format!("g1d_joint_core_{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    joint_space_model(&dir);
    let cfg = PlannerNodeConfig {
        model: dir.display().to_string(),
        ..PlannerNodeConfig::default()
    };
    let mut c = PlannerCore::new(&cfg, LatencyModel::Fixed { ms: 10.0 }).unwrap();
    assert_eq!(
        c.controller.planner.manifest.state_layout,
        g1::StateLayout::JointSpace
    );
    let mut o = Obstacle {
        shape: Obstacle::CYLINDER,
        ..Default::default()
    };
    o.dimensions.x = 0.3;
    o.dimensions.y = 0.3;
    o.dimensions.z = 1.0;
    o.pose.orientation.w = 1.0;
    o.pose.position.x = 2.0;
    let e = c
        .obstacles(&ObstacleArray {
            obstacles: vec![o],
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("Body-Pos") && format!("{e:#}").contains("joint_space"),
        "{e:#}"
    );
    // No obstacles is no refusal.
    c.obstacles(&ObstacleArray::default()).unwrap();

    // Joint states of the default pose, moving; a Body-Pos state at the origin.
    c.joints(&g1_msgs::sensor_msgs::JointState {
        position: g1::default_pose().to_vec(),
        velocity: (0..g1::NUM_JOINTS).map(|j| 0.01 * j as f64).collect(),
        ..Default::default()
    });
    let mut s = BodyPosState {
        layout_version: g1::LAYOUT_VERSION,
        state: vec![0.0; g1::STATE_DIM],
        ..Default::default()
    };
    s.state[2] = 0.78;
    s.root_pose.position.z = 0.78;
    s.root_pose.orientation.w = 1.0;
    let mut plans = 0;
    for _ in 0..5 {
        c.on_state(&s).unwrap();
        plans += usize::from(c.plan_next().is_some());
    }
    assert!(plans >= 1, "no plan made");
    assert_eq!(
        c.controller.failed_plans, 0,
        "{:?}",
        c.controller.last_error
    );
    let (plan, _) = c.controller.plan().expect("a plan landed");
    assert!(plan.states.iter().all(|x| x.len() == 70));
    std::fs::remove_dir_all(&dir).ok();
}
