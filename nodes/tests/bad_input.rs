//! The planner core under bad input from the network: non-finite or absurd velocity commands,
//! far goals, malformed obstacles and states are refused or bounded and counted, never acted
//! on and never the end of the node.

use g1_control::{LatencyModel, Task};
use g1_msgs::g1d::{BodyPosState, Obstacle, ObstacleArray};
use g1_msgs::geometry_msgs::{PoseStamped, Twist, Vector3};
use g1_nodes::planner_node::{PlannerCore, PlannerNodeConfig, STAND};

fn core() -> PlannerCore {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cfg = PlannerNodeConfig {
        model: root.join("assets/models/default").display().to_string(),
        ..PlannerNodeConfig::default()
    };
    PlannerCore::new(&cfg, LatencyModel::Fixed { ms: 10.0 }).unwrap()
}

/// Joint states of the default pose (a state is only acted on after joint states).
fn stand(c: &mut PlannerCore) {
    c.joints(&g1_msgs::sensor_msgs::JointState {
        position: g1::default_pose().to_vec(),
        velocity: vec![0.0; g1::NUM_JOINTS],
        ..Default::default()
    });
}

/// A Body-Pos state of zeros at the origin (identity orientation set by the caller).
fn zero_state() -> BodyPosState {
    BodyPosState {
        layout_version: g1::LAYOUT_VERSION,
        state: vec![0.0; g1::STATE_DIM],
        ..Default::default()
    }
}

fn twist(x: f64, y: f64, wz: f64) -> Twist {
    Twist {
        linear: Vector3 { x, y, z: 0.0 },
        angular: Vector3 {
            x: 0.0,
            y: 0.0,
            z: wz,
        },
    }
}

#[test]
fn velocity_commands_are_bounded_and_non_finite_ones_refused() {
    let mut c = core();
    c.cmd_vel(&twist(0.4, 0.0, 0.0));
    let walking = Task::Joystick {
        velocity: [0.4, 0.0],
        yaw_rate: 0.0,
    };
    assert_eq!(c.task, walking);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        c.cmd_vel(&twist(bad, 0.0, 0.0));
        c.cmd_vel(&twist(0.0, 0.0, bad));
        assert_eq!(c.task, walking, "a non-finite command leaves the task");
    }
    assert_eq!(c.inputs.rejected, 6);
    assert!(c
        .inputs
        .last_rejection
        .as_deref()
        .unwrap()
        .contains("non-finite"));
    // 100 m/s forward, 10 m/s sideways, 50 rad/s: the model's trained ranges.
    c.cmd_vel(&twist(100.0, -10.0, 50.0));
    assert_eq!(
        c.task,
        Task::Joystick {
            velocity: [1.0, -0.5],
            yaw_rate: 1.0
        }
    );
    c.cmd_vel(&twist(-3.0, 0.0, 0.0));
    assert_eq!(
        c.task,
        Task::Joystick {
            velocity: [-0.5, 0.0],
            yaw_rate: 0.0
        }
    );
    assert_eq!(c.inputs.clamped, 2);
    c.cmd_vel(&twist(0.0, 0.0, 0.0));
    assert_eq!(c.task, STAND);
}

#[test]
fn far_or_non_finite_goals_are_refused() {
    let mut c = core();
    let goal = |x: f64, y: f64| {
        let mut p = PoseStamped::default();
        p.pose.position.x = x;
        p.pose.position.y = y;
        p
    };
    c.pose_goal(&goal(3.0, 1.0));
    assert_eq!(c.task, Task::Waypoint { goal: [3.0, 1.0] });
    c.pose_goal(&goal(2000.0, 0.0));
    c.pose_goal(&goal(f64::NAN, 0.0));
    assert_eq!(c.task, Task::Waypoint { goal: [3.0, 1.0] });
    assert_eq!(c.inputs.rejected, 2);
    assert!(c
        .inputs
        .last_rejection
        .as_deref()
        .unwrap()
        .contains("non-finite"));
}

#[test]
fn malformed_obstacles_and_states_are_errors_that_name_the_input() {
    let mut c = core();
    let mut o = Obstacle::default();
    o.dimensions.x = 0.3;
    o.dimensions.y = 0.3;
    o.dimensions.z = 0.5;
    o.pose.orientation.w = 1.0;
    o.pose.position.x = f64::NAN;
    let e = c
        .obstacles(&ObstacleArray {
            obstacles: vec![o.clone()],
            ..Default::default()
        })
        .unwrap_err();
    assert!(format!("{e:#}").contains("obstacle 0"), "{e:#}");
    o.pose.position.x = 2.0;
    o.dimensions.x = 1e9;
    assert!(c
        .obstacles(&ObstacleArray {
            obstacles: vec![o],
            ..Default::default()
        })
        .is_err());
    // A state with a NaN: refused before it reaches the controller.
    stand(&mut c);
    let mut s = zero_state();
    s.root_pose.orientation.w = 1.0;
    s.state[5] = f32::NAN;
    let e = c.on_state(&s).unwrap_err();
    assert!(format!("{e:#}").contains("non-finite"), "{e:#}");
    // Joint states of the wrong length are counted, not taken.
    c.joints(&g1_msgs::sensor_msgs::JointState {
        position: vec![0.0; 3],
        ..Default::default()
    });
    assert_eq!(c.inputs.rejected, 1);
}

/// Goals are read in their header's frame: `odom` (or none) as given, the robot's own frames
/// relative to its pose and heading; other frames are refused, naming the ones that work.
#[test]
fn goals_in_the_robots_frame_are_transformed_and_unknown_frames_refused() {
    let mut c = core();
    stand(&mut c);
    // The robot at (1, 2) facing +y (yaw 90°).
    let mut s = zero_state();
    s.root_pose.position.x = 1.0;
    s.root_pose.position.y = 2.0;
    s.root_pose.position.z = 0.78;
    let h = std::f64::consts::FRAC_PI_4;
    s.root_pose.orientation.z = h.sin();
    s.root_pose.orientation.w = h.cos();
    c.on_state(&s).unwrap();
    let goal = |frame: &str, x: f64, y: f64| {
        let mut p = PoseStamped::default();
        p.header.frame_id = frame.into();
        p.pose.position.x = x;
        p.pose.position.y = y;
        p
    };
    let at = |c: &PlannerCore| match c.task {
        Task::Waypoint { goal } => goal,
        ref t => panic!("{t:?}"),
    };
    // 2 m ahead and 0.5 m to the left of a robot facing +y: (1 − 0.5, 2 + 2).
    for f in ["base_link", "base_footprint", "pelvis", "/base_link"] {
        c.pose_goal(&goal(f, 2.0, 0.5));
        let g = at(&c);
        assert!(
            (g[0] - 0.5).abs() < 1e-9 && (g[1] - 4.0).abs() < 1e-9,
            "{f}: {g:?}"
        );
    }
    for f in ["odom", ""] {
        c.pose_goal(&goal(f, 3.0, -1.0));
        assert_eq!(at(&c), [3.0, -1.0], "{f}");
    }
    assert_eq!(c.inputs.rejected, 0);
    c.pose_goal(&goal("map", 9.0, 9.0));
    assert_eq!(at(&c), [3.0, -1.0], "the task stays");
    assert_eq!(c.inputs.rejected, 1);
    let why = c.inputs.last_rejection.clone().unwrap();
    assert!(why.contains("`map`") && why.contains("base_link"), "{why}");
    // The same for a TaskGoal's waypoint.
    let mut tg = g1_msgs::g1d::TaskGoal {
        task: 2,
        ..Default::default()
    };
    tg.header.frame_id = "base_link".into();
    tg.waypoint.x = 1.0;
    c.goal(&tg);
    let g = at(&c);
    assert!(
        (g[0] - 1.0).abs() < 1e-9 && (g[1] - 3.0).abs() < 1e-9,
        "{g:?}"
    );
}

/// A `TaskGoal`'s weight replaces its task's weight and `avoid_obstacles: false` turns the
/// obstacle cost off, while that goal lasts; a goal from `/goal_pose` or `cmd_vel` restores the
/// parameter file's settings; a weight out of range refuses the goal.
#[test]
fn task_goal_weight_and_obstacle_flag_are_honoured() {
    use g1_msgs::g1d::TaskGoal;
    use g1_msgs::geometry_msgs::Point;
    let mut c = core();
    let base = c.controller.cfg.clone();
    assert!(base.obstacle_weight > 0.0);
    let goal = |weight: f64, avoid: bool| TaskGoal {
        task: TaskGoal::TASK_WAYPOINT,
        waypoint: Point {
            x: 2.0,
            y: 1.0,
            z: 0.0,
        },
        weight,
        avoid_obstacles: avoid,
        ..Default::default()
    };
    c.goal(&goal(2.5, false));
    assert_eq!(c.task, Task::Waypoint { goal: [2.0, 1.0] });
    assert_eq!(c.controller.cfg.waypoint_weight, 2.5);
    assert_eq!(c.controller.cfg.obstacle_weight, 0.0);
    assert_eq!(c.controller.cfg.joystick_weight, base.joystick_weight);
    // Weight 0 = the configured weight; avoiding obstacles keeps their cost.
    c.goal(&goal(0.0, true));
    assert_eq!(c.controller.cfg, base);
    c.goal(&TaskGoal {
        task: TaskGoal::TASK_JOYSTICK,
        velocity: twist(0.3, 0.0, 0.0),
        weight: 0.7,
        ..Default::default()
    });
    assert_eq!(c.controller.cfg.joystick_weight, 0.7);
    assert_eq!(c.controller.cfg.obstacle_weight, 0.0);
    c.cmd_vel(&twist(0.4, 0.0, 0.0));
    assert_eq!(c.controller.cfg, base);
    c.goal(&goal(1.0, false));
    let pose = PoseStamped::default();
    c.pose_goal(&pose);
    assert_eq!(c.controller.cfg, base);
    // A bad weight refuses the goal and leaves task and settings.
    let before = c.inputs.rejected;
    for w in [f64::NAN, -1.0, 1e6] {
        c.goal(&goal(w, false));
    }
    assert_eq!(c.inputs.rejected, before + 3);
    assert_eq!(c.controller.cfg, base);
    assert_eq!(c.task, Task::Waypoint { goal: [0.0, 0.0] });
}
