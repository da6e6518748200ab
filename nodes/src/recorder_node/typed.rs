//! A recorded topic: a typed subscription and its bag channel, for every message type the
//! recorder can decode.

use anyhow::{bail, Result};
use g1_bag::{BagWriter, Qos, Topic};
use g1_msgs::Message;
use g1_ros::dds::{take_all, QosPreset, RosNode, Subscription};
use serde::de::DeserializeOwned;

/// One recorded topic: a subscription and its bag channel.
pub(super) trait Recorded: Send {
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

pub(super) const SUPPORTED_TYPES: [&str; 17] = [
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

pub(super) fn subscribe(
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
