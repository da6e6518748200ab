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
pub const DEFAULT_TOPICS: [(&str, &str); 15] = [
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
    // The plans as drawn (what `g1d view` shows) and the nodes' status (1 Hz).
    ("/g1d/plan/markers", "visualization_msgs/msg/MarkerArray"),
    ("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"),
];

/// Further topics a user may name (not recorded by default: 500 Hz protocol traffic, the
/// clock, the gamepad).
const OTHER_TOPICS: [(&str, &str); 4] = [
    ("/lowstate", "unitree_hg/msg/LowState"),
    ("/lowcmd", "unitree_hg/msg/LowCmd"),
    ("/clock", "rosgraph_msgs/msg/Clock"),
    ("/joy", "sensor_msgs/msg/Joy"),
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
    /// `topics`, to turn topics off while recording.
    fn settable_at_run_time(name: &str) -> bool {
        name == "topics"
    }

    /// Topics can only be turned off while recording: a new one needs a restart (its channel
    /// would start mid-bag).
    fn check_change(&self, new: &Self) -> Result<(), ParamError> {
        let names = |c: &Self| -> Vec<String> {
            c.topics
                .iter()
                .filter_map(|t| parse_topic(t).ok().map(|(n, _)| n))
                .collect()
        };
        let old = names(self);
        match names(new).into_iter().find(|n| !old.contains(n)) {
            Some(n) => Err(ParamError::Invalid {
                key: "topics".into(),
                why: format!(
                    "`{n}` was not recorded from the start: topics can only be turned off while \
                     recording (a new topic needs a restart)"
                ),
            }),
            None => Ok(()),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use g1_ros::param_server::Params;
    use g1_ros::{ParamMap, ParamValue};

    #[test]
    fn topics_can_be_turned_off_while_recording_and_no_more() {
        let cfg = RecorderConfig {
            output: "bag".into(),
            topics: vec!["/joint_states".into(), "/imu".into(), "/g1d/state".into()],
            compression_level: 3,
        };
        let p = Params::new("/g1_recorder", cfg, &ParamMap::default()).unwrap();
        let set = |topics: &[&str]| {
            let v = ParamValue::StringArray(topics.iter().map(|t| t.to_string()).collect());
            p.try_set(&[("topics".to_string(), Some(v))])
        };
        let c = set(&["/joint_states", "/g1d/state"]).unwrap();
        assert_eq!(c.config.topics, ["/joint_states", "/g1d/state"]);
        let e = set(&["/joint_states", "/odom"]).unwrap_err();
        assert!(e.contains("`/odom` was not recorded from the start"), "{e}");
        let e = set(&[]).unwrap_err();
        assert!(e.contains("at least one topic"), "{e}");
        let e = p
            .try_set(&[(
                "compression_level".to_string(),
                Some(ParamValue::Integer(5)),
            )])
            .unwrap_err();
        assert!(e.contains("read-only at run time"), "{e}");
    }
}
