//! The recorder's parameters and the topics it knows the types of.

use super::typed::SUPPORTED_TYPES;

use anyhow::Result;
use g1_ros::{NodeConfig, ParamError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecorderConfig {
    /// Bag directory to create.
    pub output: String,
    /// Topics to record: `name` (a topic of this package) or `name:pkg/msg/Type`.
    pub topics: Vec<String>,
    /// zstd level of the chunks.
    pub compression_level: i64,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            output: String::new(),
            topics: DEFAULT_TOPICS.iter().map(|(t, _)| t.to_string()).collect(),
            compression_level: 3,
        }
    }
}

/// The topics of the node suite and their types (what `topics` may name without a type).
pub const DEFAULT_TOPICS: [(&str, &str); 13] = [
    ("/joint_states", "sensor_msgs/msg/JointState"),
    ("/imu", "sensor_msgs/msg/Imu"),
    ("/odom", "nav_msgs/msg/Odometry"),
    ("/sim/odom", "nav_msgs/msg/Odometry"),
    ("/tf", "tf2_msgs/msg/TFMessage"),
    ("/g1d/state", "g1_diffusion/msg/BodyPosState"),
    ("/joint_targets", "g1_diffusion/msg/JointTargets"),
    ("/g1d/goal", "g1_diffusion/msg/TaskGoal"),
    ("/g1d/obstacles", "g1_diffusion/msg/ObstacleArray"),
    ("/g1d/plan/path", "nav_msgs/msg/Path"),
    ("/g1d/route", "nav_msgs/msg/Path"),
    ("/cmd_vel", "geometry_msgs/msg/Twist"),
    ("/goal_pose", "geometry_msgs/msg/PoseStamped"),
];

/// Further topics a user may name (not recorded by default: 500 Hz protocol traffic, markers).
const OTHER_TOPICS: [(&str, &str); 6] = [
    ("/lowstate", "unitree_hg/msg/LowState"),
    ("/lowcmd", "unitree_hg/msg/LowCmd"),
    ("/clock", "rosgraph_msgs/msg/Clock"),
    ("/g1d/plan/markers", "visualization_msgs/msg/MarkerArray"),
    ("/joy", "sensor_msgs/msg/Joy"),
    ("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"),
];

/// `(topic, type)` of a `topics` entry.
pub fn parse_topic(entry: &str) -> Result<(String, String), String> {
    let (name, ty) = match entry.split_once(':') {
        Some((n, t)) => (n.trim().to_string(), t.trim().to_string()),
        None => {
            let n = entry.trim();
            let known = DEFAULT_TOPICS
                .iter()
                .chain(OTHER_TOPICS.iter())
                .find(|(t, _)| *t == n)
                .map(|(_, ty)| ty.to_string());
            match known {
                Some(ty) => (n.to_string(), ty),
                None => {
                    return Err(format!(
                        "`{n}`: unknown topic; give its type as `{n}:pkg/msg/Type`"
                    ))
                }
            }
        }
    };
    if !name.starts_with('/') || name.len() < 2 {
        return Err(format!("`{name}`: topic names must be absolute (`/name`)"));
    }
    if !SUPPORTED_TYPES.contains(&ty.as_str()) {
        return Err(format!(
            "`{ty}`: not a message type this recorder can decode (it can: {})",
            SUPPORTED_TYPES.join(", ")
        ));
    }
    Ok((name, ty))
}

impl NodeConfig for RecorderConfig {
    fn check(&self) -> Result<(), ParamError> {
        if self.topics.is_empty() {
            return Err(ParamError::Invalid {
                key: "topics".into(),
                why: "name at least one topic".into(),
            });
        }
        for t in &self.topics {
            parse_topic(t).map_err(|why| ParamError::Invalid {
                key: "topics".into(),
                why,
            })?;
        }
        g1_ros::range_check(
            "compression_level",
            self.compression_level as f64,
            0.0,
            19.0,
        )?;
        Ok(())
    }
}
