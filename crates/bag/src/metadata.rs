//! rosbag2 `metadata.yaml`, version 9 (ROS 2 Jazzy), as `ros2 bag info` and `rosbags` read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetadataFile {
    pub rosbag2_bagfile_information: BagInformation,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Nanoseconds {
    pub nanoseconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SinceEpoch {
    pub nanoseconds_since_epoch: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BagInformation {
    pub version: u32,
    pub storage_identifier: String,
    pub duration: Nanoseconds,
    pub starting_time: SinceEpoch,
    pub message_count: u64,
    pub topics_with_message_count: Vec<TopicWithCount>,
    pub compression_format: String,
    pub compression_mode: String,
    pub relative_file_paths: Vec<String>,
    pub files: Vec<FileInformation>,
    #[serde(default)]
    pub custom_data: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub ros_distro: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicWithCount {
    pub topic_metadata: TopicMetadata,
    pub message_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicMetadata {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub serialization_format: String,
    /// Version 9: a list of QoS profiles (older versions: a YAML string).
    #[serde(default)]
    pub offered_qos_profiles: serde_yaml::Value,
    #[serde(default)]
    pub type_description_hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileInformation {
    pub path: String,
    pub starting_time: SinceEpoch,
    pub duration: Nanoseconds,
    pub message_count: u64,
}

/// The QoS a topic was offered with (the two presets the project uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    /// Commands, plans, goals: reliable, keep last 10 (the rclcpp default).
    Reliable,
    /// Sensor streams: best effort, keep last 5 (rclcpp SensorDataQoS).
    SensorData,
}

impl Qos {
    fn parts(self) -> (&'static str, u32) {
        match self {
            Qos::Reliable => ("reliable", 10),
            Qos::SensorData => ("best_effort", 5),
        }
    }

    /// The version-9 `offered_qos_profiles` entry.
    pub fn to_yaml(self) -> serde_yaml::Value {
        let (rel, depth) = self.parts();
        let zero = || {
            let mut m = serde_yaml::Mapping::new();
            m.insert("sec".into(), 0.into());
            m.insert("nsec".into(), 0.into());
            serde_yaml::Value::Mapping(m)
        };
        let mut m = serde_yaml::Mapping::new();
        m.insert("history".into(), "keep_last".into());
        m.insert("depth".into(), depth.into());
        m.insert("reliability".into(), rel.into());
        m.insert("durability".into(), "volatile".into());
        m.insert("deadline".into(), zero());
        m.insert("lifespan".into(), zero());
        m.insert("liveliness".into(), "automatic".into());
        m.insert("liveliness_lease_duration".into(), zero());
        m.insert("avoid_ros_namespace_conventions".into(), false.into());
        serde_yaml::Value::Sequence(vec![serde_yaml::Value::Mapping(m)])
    }
}
