//! Publishing serialized messages as they are, of any type, named by its ROS type name (what
//! `g1d bag play` sends: the bytes a bag recorded, without decoding them).

use std::cell::Cell;

use anyhow::{anyhow, bail, Result};
use ros2_client::dds::rustdds;
use rustdds::no_key::DataWriter;
use rustdds::policy::{Durability, History, Reliability};
use rustdds::{
    DataWriterStatus, QosPolicyBuilder, RepresentationIdentifier, StatusEvented, TopicKind,
};

use crate::dds::RosNode;
use crate::service::{RawAdapter, RawSample};

/// `pkg/msg/Name` → the DDS type name rmw gives it, `pkg::msg::dds_::Name_`.
pub fn dds_type_name(ros_type: &str) -> Result<String> {
    match ros_type.split('/').collect::<Vec<_>>()[..] {
        [pkg, kind @ ("msg" | "srv" | "action"), name] if !pkg.is_empty() && !name.is_empty() => {
            Ok(format!("{pkg}::{kind}::dds_::{name}_"))
        }
        _ => bail!("`{ros_type}` is not a ROS type name (pkg/msg/Name)"),
    }
}

/// A writer of already-serialized messages on one topic.
pub struct RawPublisher {
    topic: String,
    writer: DataWriter<RawSample, RawAdapter>,
    /// Readers matched so far (from the writer's status events).
    matched: Cell<i32>,
}

impl RawPublisher {
    /// A reliable writer of `ros_type` on `topic` (resolved as the node's topic names are),
    /// keeping the last `depth` messages for late acknowledgements; `latched`: transient
    /// local, as a recorded latched topic was offered.
    pub fn new(
        node: &RosNode,
        topic: &str,
        ros_type: &str,
        depth: i32,
        latched: bool,
    ) -> Result<Self> {
        let full = node.ctx.names.resolve_topic(topic);
        let ty = dds_type_name(ros_type)?;
        let qos = QosPolicyBuilder::new()
            .reliability(Reliability::Reliable {
                max_blocking_time: rustdds::Duration::from_millis(10),
            })
            .durability(if latched {
                Durability::TransientLocal
            } else {
                Durability::Volatile
            })
            .history(History::KeepLast { depth })
            .build();
        let dp = node.domain_participant()?;
        let t = dp
            .create_topic(format!("rt{full}"), ty, &qos, TopicKind::NoKey)
            .map_err(|e| anyhow!("topic {full}: {e:?}"))?;
        let writer = dp
            .create_publisher(&qos)
            .and_then(|p| p.create_datawriter_no_key::<RawSample, RawAdapter>(&t, None))
            .map_err(|e| anyhow!("publisher {full}: {e:?}"))?;
        Ok(Self {
            topic: full,
            writer,
            matched: Cell::new(0),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Readers matched now.
    pub fn matched(&self) -> i32 {
        while let Some(s) = self.writer.try_recv_status() {
            if let DataWriterStatus::PublicationMatched { current, .. } = s {
                self.matched.set(current.count());
            }
        }
        self.matched.get()
    }

    /// Writes one CDR-encoded message (with its 4-byte encapsulation header, as rosbag2
    /// stores it). Little-endian CDR only.
    pub fn publish_cdr(&self, cdr: &[u8]) -> Result<()> {
        let (head, body) = cdr.split_at_checked(4).ok_or_else(|| {
            anyhow!(
                "{}: a {}-byte message has no CDR header",
                self.topic,
                cdr.len()
            )
        })?;
        if head[..2] != [0x00, 0x01] {
            bail!(
                "{}: the message is not little-endian CDR (encapsulation {:02x}{:02x})",
                self.topic,
                head[0],
                head[1]
            );
        }
        self.writer
            .write(
                RawSample {
                    bytes: body.to_vec(),
                    encoding: RepresentationIdentifier::CDR_LE,
                },
                None,
            )
            .map_err(|e| anyhow!("{}: writing failed: {e:?}", self.topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ros_type_names_become_rmw_dds_type_names() {
        assert_eq!(
            dds_type_name("sensor_msgs/msg/JointState").unwrap(),
            "sensor_msgs::msg::dds_::JointState_"
        );
        assert!(dds_type_name("JointState").is_err());
        assert!(dds_type_name("a/b/c/d").is_err());
    }
}
