//! This package's own messages (`g1_diffusion/msg/*`), defined by the `.msg` files in `msg/`.

use crate::ros_message;
use crate::std_types::builtin_interfaces::Duration;
use crate::std_types::geometry_msgs::{Point, Pose, Twist, Vector3};
use crate::std_types::std_msgs::Header;

ros_message! {
    #[derive(Default)]
    pub struct BodyPosState = "g1_diffusion/msg/BodyPosState" uses [Header, Pose, Twist] {
        pub header: Header,
        pub layout_version: u32,
        pub state: Vec<f32>,
        pub root_pose: Pose,
        pub root_twist: Twist,
    }
    definition = include_str!("../../../msg/BodyPosState.msg");
}

ros_message! {
    #[derive(Default)]
    pub struct JointTargets = "g1_diffusion/msg/JointTargets" uses [Header] {
        pub header: Header,
        pub policy_id: String,
        pub action: Vec<f32>,
        pub q_target: Vec<f64>,
        pub kp: Vec<f32>,
        pub kd: Vec<f32>,
    }
    definition = include_str!("../../../msg/JointTargets.msg");
}

ros_message! {
    #[derive(Default)]
    pub struct PlannedTrajectory = "g1_diffusion/msg/PlannedTrajectory" uses [Header, Duration] {
        pub header: Header,
        pub layout_version: u32,
        pub state_dim: u32,
        pub action_dim: u32,
        pub state_times: Vec<f64>,
        pub states: Vec<f32>,
        pub action_times: Vec<f64>,
        pub actions: Vec<f32>,
        pub compute_time: Duration,
    }
    definition = include_str!("../../../msg/PlannedTrajectory.msg");
}

ros_message! {
    #[derive(Default)]
    pub struct TaskGoal = "g1_diffusion/msg/TaskGoal" uses [Header, Twist, Point] {
        pub header: Header,
        pub task: u8,
        pub velocity: Twist,
        pub waypoint: Point,
        pub weight: f64,
        pub avoid_obstacles: bool,
    }
    definition = include_str!("../../../msg/TaskGoal.msg");
}
impl TaskGoal {
    pub const TASK_NONE: u8 = 0;
    pub const TASK_JOYSTICK: u8 = 1;
    pub const TASK_WAYPOINT: u8 = 2;
}

ros_message! {
    #[derive(Default)]
    pub struct Obstacle = "g1_diffusion/msg/Obstacle" uses [Pose, Vector3] {
        pub shape: u8,
        pub pose: Pose,
        pub dimensions: Vector3,
    }
    definition = include_str!("../../../msg/Obstacle.msg");
}
impl Obstacle {
    pub const SPHERE: u8 = 0;
    pub const BOX: u8 = 1;
    pub const CYLINDER: u8 = 2;
}

ros_message! {
    #[derive(Default)]
    pub struct ObstacleArray = "g1_diffusion/msg/ObstacleArray" uses [Header, Obstacle] {
        pub header: Header,
        pub obstacles: Vec<Obstacle>,
    }
    definition = include_str!("../../../msg/ObstacleArray.msg");
}

ros_message! {
    #[derive(Default)]
    pub struct EpisodeEvent = "g1_diffusion/msg/EpisodeEvent" uses [Header] {
        pub header: Header,
        pub event: u8,
        pub episode: u64,
        pub policy_id: String,
        pub seed: u64,
        pub fell: bool,
        pub steps: u32,
        pub parameters: String,
    }
    definition = include_str!("../../../msg/EpisodeEvent.msg");
}
impl EpisodeEvent {
    pub const START: u8 = 0;
    pub const END: u8 = 1;
}

/// This package's services (`g1_diffusion/srv/*`, defined by the `.srv` files in `srv/`): the
/// request and response halves, CDR-encoded as rosidl lays them out.
pub mod srv {
    use serde::{Deserialize, Serialize};

    /// The `.srv` definition of `g1_diffusion/srv/SetMode`.
    pub const SET_MODE_DEFINITION: &str = include_str!("../../../srv/SetMode.srv");

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct SetModeRequest {
        pub mode: String,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct SetModeResponse {
        pub success: bool,
        pub mode: String,
        pub message: String,
    }
}
