//! ROS 2 message types of g1_diffusion with their CDR encoding and `ros2msg` schemas.
//!
//! Standard types follow the ROS 2 Jazzy definitions; `unitree_hg` follows Unitree's G1 IDL;
//! `g1_diffusion` types are generated from the `.msg` files in the repository's `msg/` folder
//! (the same files `rosidl` builds on a machine with ROS 2). Every type is checked byte for byte
//! against golden files produced by the Python `rosbags` serialiser (see `tests/`).

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod cdr;

// For the serde derives of `ros_message!` (the same CDR through `cdr-encoding`, as DDS uses).
pub use serde;
pub use serde_big_array;
pub mod g1d;
pub mod message;
pub mod std_types;
pub mod type_hash;
pub mod unitree;

pub use cdr::{from_cdr, to_cdr, CdrError, CdrField};
pub use message::{schema_text, Message, SchemaBuilder};
pub use std_types::*;

/// Calls `f` with (type name, schema text) for every message type this crate defines.
pub fn for_each_type(mut f: impl FnMut(&'static str, String)) {
    macro_rules! each {
        ($($t:ty),* $(,)?) => {$( f(<$t as Message>::TYPE_NAME, schema_text::<$t>()); )*};
    }
    use std_types::*;
    each!(
        builtin_interfaces::Time,
        builtin_interfaces::Duration,
        std_msgs::Header,
        std_msgs::ColorRGBA,
        std_msgs::StringMsg,
        std_msgs::Float64,
        geometry_msgs::Point,
        geometry_msgs::Vector3,
        geometry_msgs::Quaternion,
        geometry_msgs::Pose,
        geometry_msgs::Twist,
        geometry_msgs::PoseStamped,
        geometry_msgs::TwistStamped,
        geometry_msgs::Transform,
        geometry_msgs::TransformStamped,
        geometry_msgs::PoseWithCovariance,
        geometry_msgs::TwistWithCovariance,
        sensor_msgs::JointState,
        sensor_msgs::Imu,
        sensor_msgs::Joy,
        sensor_msgs::CompressedImage,
        nav_msgs::Odometry,
        nav_msgs::Path,
        visualization_msgs::Marker,
        visualization_msgs::MarkerArray,
        tf2_msgs::TFMessage,
        rosgraph_msgs::Clock,
        rcl_interfaces::Log,
        diagnostic_msgs::KeyValue,
        diagnostic_msgs::DiagnosticStatus,
        diagnostic_msgs::DiagnosticArray,
        unitree::MotorCmd,
        unitree::LowCmd,
        unitree::IMUState,
        unitree::MotorState,
        unitree::LowState,
        g1d::BodyPosState,
        g1d::JointTargets,
        g1d::PlannedTrajectory,
        g1d::TaskGoal,
        g1d::Obstacle,
        g1d::ObstacleArray,
        g1d::EpisodeEvent,
    );
}
