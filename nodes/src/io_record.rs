//! Node-level input/output recording for replay tests (`record_io` parameter): every message a
//! node consumed and produced in a processing step, stamped with the node-clock time it used,
//! followed by a step marker — so `g1d replay` can feed the same inputs at the same times and
//! compare the outputs. Stored as an ordinary rosbag2 (MCAP) directory, with the node's
//! parameters in the run metadata.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use g1_bag::{BagWriter, Qos, Topic, WriterOptions};
use g1_msgs::rosgraph_msgs::Clock;
use g1_msgs::Message;

/// Topic of the step markers.
pub const STEP_TOPIC: &str = "/g1d/replay/step";
/// Prefix of recorded outputs (inputs keep their topic names).
pub const OUTPUT_PREFIX: &str = "/g1d/replay/out";

pub struct IoRecorder {
    writer: BagWriter,
    step: Topic<Clock>,
    topics: BTreeMap<String, Box<dyn std::any::Any + Send>>,
}

fn ns(t: f64) -> u64 {
    (t.max(0.0) * 1e9).round() as u64
}

impl IoRecorder {
    pub fn create(dir: &Path, node: &str, params_yaml: String) -> Result<Self> {
        let mut run = BTreeMap::new();
        run.insert("node".to_string(), node.to_string());
        run.insert("ros__parameters".to_string(), params_yaml);
        let mut writer = BagWriter::create(
            dir,
            WriterOptions {
                run_metadata: run,
                ..Default::default()
            },
        )
        .with_context(|| format!("record_io bag {}", dir.display()))?;
        let step = writer.topic::<Clock>(STEP_TOPIC, Qos::Reliable)?;
        Ok(Self {
            writer,
            step,
            topics: BTreeMap::new(),
        })
    }

    /// The recorder a node's `record_io` parameter asks for (empty = none).
    pub fn for_param(
        record_io: &str,
        node: &str,
        params: &g1_ros::ParamMap,
    ) -> Result<Option<Self>> {
        if record_io.is_empty() {
            return Ok(None);
        }
        Self::create(
            Path::new(record_io),
            node,
            crate::replay::params_yaml(params),
        )
        .map(Some)
    }

    fn write<M: Message + 'static>(&mut self, name: &str, t: f64, m: &M) -> Result<()> {
        if !self.topics.contains_key(name) {
            let topic = self.writer.topic::<M>(name, Qos::Reliable)?;
            self.topics.insert(name.to_string(), Box::new(topic));
        }
        let topic = self.topics[name]
            .downcast_ref::<Topic<M>>()
            .with_context(|| format!("topic {name} recorded with two types"))?;
        self.writer.write(topic, ns(t), m)?;
        Ok(())
    }

    pub fn input<M: Message + 'static>(&mut self, topic: &str, t: f64, m: &M) -> Result<()> {
        self.write(topic, t, m)
    }

    pub fn output<M: Message + 'static>(&mut self, topic: &str, t: f64, m: &M) -> Result<()> {
        self.write(&format!("{OUTPUT_PREFIX}{topic}"), t, m)
    }

    /// Every message of `ms` as an input on `topic`.
    pub fn inputs<M: Message + 'static>(&mut self, topic: &str, t: f64, ms: &[M]) -> Result<()> {
        ms.iter().try_for_each(|m| self.input(topic, t, m))
    }

    /// Every message of `ms` as an output of `topic`.
    pub fn outputs<M: Message + 'static>(&mut self, topic: &str, t: f64, ms: &[M]) -> Result<()> {
        ms.iter().try_for_each(|m| self.output(topic, t, m))
    }

    pub fn end_step(&mut self, t: f64) -> Result<()> {
        self.writer.write(
            &self.step,
            ns(t),
            &Clock {
                clock: crate::stamp(t),
            },
        )?;
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.writer.finish()?;
        Ok(())
    }
}
