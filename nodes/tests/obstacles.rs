//! `g1_obstacles`: the simulator's obstacle file as latched ObstacleArray + markers; a late
//! subscriber still gets them, and the message form converts back to the same obstacles.

mod common;

use std::time::Duration;

use g1_msgs::g1d::ObstacleArray;
use g1_msgs::visualization_msgs::MarkerArray;
use g1_nodes::obstacles_node::{from_msg, to_msg, ObstaclesNode};
use g1_nodes::runtime::Node;
use g1_ros::dds::{wait_for, QosPreset};
use g1_sim::{Obstacle, SimConfig};

const SCENE: &str = r#"
obstacles:
  - {shape: cylinder, center: [2.0, 0.1], radius: 0.3, height: 1.5}
  - {shape: box, center: [3.0, -0.8], half_extents: [0.2, 0.3, 0.5], yaw: 0.3}
  - {shape: sphere, center: [1.5, 0.8, 0.5], radius: 0.25}
"#;

#[test]
fn obstacles_are_latched_and_round_trip() {
    let path = std::env::temp_dir().join(format!("g1d_obstacles_{}.yaml", std::process::id()));
    std::fs::write(&path, SCENE).unwrap();
    let dds = common::dds(80, 9);
    let ros = |name: &str, args: String| common::ros(&dds, name, &args);
    let mut node = ObstaclesNode::new(ros(
        "g1_obstacles",
        format!("--ros-args -p sim_config:={}", path.display()),
    ))
    .unwrap();
    node.step(0.0).unwrap();
    // Subscribe only now: transient-local durability delivers what was published before.
    let mut late = ros("late_rviz", "--ros-args".into());
    let arr = late
        .subscription::<ObstacleArray>("/g1d/obstacles", QosPreset::Latched)
        .unwrap();
    let markers = late
        .subscription::<MarkerArray>("/obstacles/markers", QosPreset::Latched)
        .unwrap();
    let a = wait_for(&arr, Duration::from_secs(20)).unwrap();
    let m = wait_for(&markers, Duration::from_secs(20)).unwrap();
    let scene: SimConfig = serde_yaml::from_str(SCENE).unwrap();
    assert_eq!(a.obstacles.len(), 3);
    assert_eq!(a.header.frame_id, "odom");
    for (msg, o) in a.obstacles.iter().zip(&scene.obstacles) {
        let back = from_msg(msg).unwrap();
        assert_eq!(back.center_3d(), o.center_3d());
        // The cost shapes agree (the planner builds them from the message): same signed
        // distance everywhere on a grid around the obstacle.
        let (s1, s2) = (g1_eval::to_shape(&back), g1_eval::to_shape(o));
        let c = o.center_3d();
        for i in 0..125 {
            let p = [
                c[0] - 1.0 + 0.5 * (i % 5) as f64,
                c[1] - 1.0 + 0.5 * (i / 5 % 5) as f64,
                0.3 * (i / 25) as f64,
            ];
            let (d1, d2) = (s1.sdf(p).0, s2.sdf(p).0);
            assert!((d1 - d2).abs() < 1e-9, "{d1} vs {d2} at {p:?}");
        }
        assert_eq!(to_msg(&back), *msg);
    }
    assert_eq!(m.markers.len(), 3);
    assert_eq!(m.markers[0].r#type, 3, "cylinder marker");
    assert!((m.markers[0].scale.z - 1.5).abs() < 1e-12);
    assert!(matches!(scene.obstacles[1], Obstacle::Box { .. }));
    assert_eq!(m.markers[1].r#type, 1);
    // A bad file is an error naming the parameter.
    let bad = std::env::temp_dir().join(format!("g1d_obstacles_bad_{}.yaml", std::process::id()));
    std::fs::write(
        &bad,
        "obstacles:\n  - {shape: sphere, center: [1, 0], radius: -1}\n",
    )
    .unwrap();
    let e = ObstaclesNode::new(ros(
        "g1_obstacles2",
        format!("--ros-args -p sim_config:={}", bad.display()),
    ))
    .err()
    .unwrap();
    assert!(format!("{e:#}").contains("radius"), "{e:#}");
}
