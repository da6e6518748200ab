//! `g1_recorder`: records topics into a rosbag2 directory (MCAP, zstd) with the dataset
//! pipeline's bag library — the same format `g1d collect` writes, readable by `ros2 bag`, the
//! Python `rosbags`/`mcap` readers and `g1d dataset build`. Messages are stamped with their
//! receive time (wall-clock nanoseconds since the epoch, or `/clock` with `use_sim_time`).
//! The bag is written chunk by chunk: a killed recorder leaves a bag `g1d bag repair` completes.
//!
//! Parameters: `output` (the bag directory; must not exist), `topics` (names; each either a
//! topic this package knows the type of, or `name:pkg/msg/Type`).
mod config;
mod typed;

pub use config::{parse_topic, RecorderConfig, DEFAULT_TOPICS};
use typed::{subscribe, Recorded};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _, Result};
use g1_bag::{BagWriter, WriterOptions};
use g1_ros::dds::RosNode;

use crate::runtime::Node;

pub struct RecorderNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<RecorderConfig>,
    /// stderr and `/rosout`.
    log: g1_ros::rosout::NodeLogger,
    writer: Option<BagWriter>,
    /// Each recorded topic's name and its subscription and bag channel.
    topics: Vec<(String, Box<dyn Recorded>)>,
    sim_time: bool,
    pub messages: u64,
    /// Wall time of the last progress line.
    last_report: f64,
}

impl RecorderNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let cfg: RecorderConfig = ros.ctx.config()?;
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
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
            topics.push((name.clone(), subscribe(&mut ros, &mut writer, &name, &ty)?));
        }
        ros.logger().info(&format!(
            "recording {} topics into {}",
            topics.len(),
            dir.display()
        ));
        Ok(Self {
            params,
            name: ros.ctx.names.fqn(),
            log: ros.logger(),
            writer: Some(writer),
            topics,
            sim_time: ros.ctx.use_sim_time,
            messages: 0,
            last_report: 0.0,
            _ros: ros,
        })
    }
}

impl Node for RecorderNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        if let Some(cfg) = self.params.poll(now_s) {
            // Topics turned off at run time (the configuration's check allows nothing else).
            let keep: Vec<String> = cfg
                .topics
                .iter()
                .filter_map(|t| parse_topic(t).ok().map(|(n, _)| n))
                .collect();
            let before = self.topics.len();
            self.topics.retain(|(n, _)| keep.contains(n));
            self.log.info(&format!(
                "recording {} topics ({} turned off)",
                self.topics.len(),
                before - self.topics.len()
            ));
        }
        let t_ns = if self.sim_time {
            (now_s.max(0.0) * 1e9).round() as u64
        } else {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        };
        let w = self.writer.as_mut().context("recorder already finished")?;
        for (_, t) in self.topics.iter_mut() {
            self.messages += t.drain(w, t_ns)?;
        }
        if now_s - self.last_report >= 10.0 {
            self.last_report = now_s;
            self.log
                .info(&format!("{} messages recorded", self.messages));
        }
        Ok(Duration::from_millis(10))
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(w) = self.writer.take() {
            let dir = w.finish()?;
            self.log
                .info(&format!("{} messages in {}", self.messages, dir.display()));
        }
        Ok(())
    }
}
