//! `g1_recorder`: records topics into a rosbag2 directory (MCAP, zstd) with the dataset
//! pipeline's bag library — the same format `g1d collect` writes, readable by `ros2 bag`, the
//! Python `rosbags`/`mcap` readers and `g1d dataset build`. Messages are stamped with their
//! receive time (wall-clock nanoseconds since the epoch, or `/clock` with `use_sim_time`).
//! The bag is written chunk by chunk: a killed recorder leaves a bag `g1d bag repair` completes.
//!
//! Parameters: `output` (the bag directory; must not exist), `topics` (names; each either a
//! topic this package knows the type of, or `name:pkg/msg/Type`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use g1_bag::{BagWriter, Qos, Topic, WriterOptions};
use g1_msgs::Message;
use g1_ros::dds::{take_all, QosPreset, RosNode, Subscription};
use g1_ros::{NodeConfig, ParamError};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::runtime::Node;

#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// One recorded topic: a subscription and its bag channel.
trait Recorded: Send {
    /// Writes what arrived; returns how many messages.
    fn drain(&mut self, w: &mut BagWriter, t_ns: u64) -> Result<u64>;
}

struct Typed<M> {
    sub: Subscription<M>,
    topic: Topic<M>,
}

impl<M: Message + DeserializeOwned + Send + 'static> Recorded for Typed<M> {
    fn drain(&mut self, w: &mut BagWriter, t_ns: u64) -> Result<u64> {
        let (msgs, _) = take_all(&self.sub);
        for m in &msgs {
            w.write(&self.topic, t_ns, m)?;
        }
        Ok(msgs.len() as u64)
    }
}

fn typed<M: Message + DeserializeOwned + Send + 'static>(
    ros: &mut RosNode,
    w: &mut BagWriter,
    name: &str,
) -> Result<Box<dyn Recorded>> {
    Ok(Box::new(Typed::<M> {
        sub: ros.subscription(name, QosPreset::Record)?,
        topic: w.topic::<M>(name, Qos::Reliable)?,
    }))
}

const SUPPORTED_TYPES: [&str; 17] = [
    "sensor_msgs/msg/JointState",
    "sensor_msgs/msg/Imu",
    "sensor_msgs/msg/Joy",
    "nav_msgs/msg/Odometry",
    "nav_msgs/msg/Path",
    "tf2_msgs/msg/TFMessage",
    "geometry_msgs/msg/Twist",
    "geometry_msgs/msg/PoseStamped",
    "visualization_msgs/msg/MarkerArray",
    "rosgraph_msgs/msg/Clock",
    "unitree_hg/msg/LowState",
    "unitree_hg/msg/LowCmd",
    "g1_diffusion/msg/BodyPosState",
    "g1_diffusion/msg/JointTargets",
    "g1_diffusion/msg/TaskGoal",
    "g1_diffusion/msg/ObstacleArray",
    "diagnostic_msgs/msg/DiagnosticArray",
];

fn subscribe(
    ros: &mut RosNode,
    w: &mut BagWriter,
    name: &str,
    ty: &str,
) -> Result<Box<dyn Recorded>> {
    use g1_msgs::{g1d, geometry_msgs, nav_msgs, rosgraph_msgs, sensor_msgs, tf2_msgs};
    use g1_msgs::{unitree, visualization_msgs};
    match ty {
        "sensor_msgs/msg/JointState" => typed::<sensor_msgs::JointState>(ros, w, name),
        "sensor_msgs/msg/Imu" => typed::<sensor_msgs::Imu>(ros, w, name),
        "sensor_msgs/msg/Joy" => typed::<sensor_msgs::Joy>(ros, w, name),
        "nav_msgs/msg/Odometry" => typed::<nav_msgs::Odometry>(ros, w, name),
        "nav_msgs/msg/Path" => typed::<nav_msgs::Path>(ros, w, name),
        "tf2_msgs/msg/TFMessage" => typed::<tf2_msgs::TFMessage>(ros, w, name),
        "geometry_msgs/msg/Twist" => typed::<geometry_msgs::Twist>(ros, w, name),
        "geometry_msgs/msg/PoseStamped" => typed::<geometry_msgs::PoseStamped>(ros, w, name),
        "visualization_msgs/msg/MarkerArray" => {
            typed::<visualization_msgs::MarkerArray>(ros, w, name)
        }
        "rosgraph_msgs/msg/Clock" => typed::<rosgraph_msgs::Clock>(ros, w, name),
        "unitree_hg/msg/LowState" => typed::<unitree::LowState>(ros, w, name),
        "unitree_hg/msg/LowCmd" => typed::<unitree::LowCmd>(ros, w, name),
        "g1_diffusion/msg/BodyPosState" => typed::<g1d::BodyPosState>(ros, w, name),
        "g1_diffusion/msg/JointTargets" => typed::<g1d::JointTargets>(ros, w, name),
        "g1_diffusion/msg/TaskGoal" => typed::<g1d::TaskGoal>(ros, w, name),
        "g1_diffusion/msg/ObstacleArray" => typed::<g1d::ObstacleArray>(ros, w, name),
        "diagnostic_msgs/msg/DiagnosticArray" => {
            typed::<g1_msgs::diagnostic_msgs::DiagnosticArray>(ros, w, name)
        }
        other => bail!("`{other}`: not a message type this recorder can decode"),
    }
}

pub struct RecorderNode {
    name: String,
    writer: Option<BagWriter>,
    topics: Vec<Box<dyn Recorded>>,
    sim_time: bool,
    pub messages: u64,
    /// Wall time of the last progress line.
    last_report: f64,
}

impl RecorderNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: RecorderConfig = ros.ctx.config()?;
        if cfg.output.is_empty() {
            bail!("parameter `output`: name the bag directory to create");
        }
        let dir = PathBuf::from(&cfg.output);
        let mut run = BTreeMap::new();
        run.insert("recorder".to_string(), ros.ctx.names.fqn());
        let mut writer = BagWriter::create(
            &dir,
            WriterOptions {
                run_metadata: run,
                compression_level: cfg.compression_level as u32,
                ..Default::default()
            },
        )
        .with_context(|| format!("parameter `output`: {}", dir.display()))?;
        let mut topics = Vec::new();
        for entry in &cfg.topics {
            let (name, ty) = parse_topic(entry).map_err(anyhow::Error::msg)?;
            topics.push(subscribe(&mut ros, &mut writer, &name, &ty)?);
        }
        eprintln!(
            "[{}] recording {} topics into {}",
            ros.ctx.names.fqn(),
            topics.len(),
            dir.display()
        );
        Ok(Self {
            name: ros.ctx.names.fqn(),
            writer: Some(writer),
            topics,
            sim_time: ros.ctx.use_sim_time,
            messages: 0,
            last_report: 0.0,
        })
    }
}

impl Node for RecorderNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        let t_ns = if self.sim_time {
            (now_s.max(0.0) * 1e9).round() as u64
        } else {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        };
        let w = self.writer.as_mut().context("recorder already finished")?;
        for t in self.topics.iter_mut() {
            self.messages += t.drain(w, t_ns)?;
        }
        if now_s - self.last_report >= 10.0 {
            self.last_report = now_s;
            eprintln!("[{}] {} messages recorded", self.name, self.messages);
        }
        Ok(Duration::from_millis(10))
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(w) = self.writer.take() {
            let dir = w.finish()?;
            eprintln!(
                "[{}] {} messages in {}",
                self.name,
                self.messages,
                dir.display()
            );
        }
        Ok(())
    }
}
