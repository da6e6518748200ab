//! `g1d replay <bag> --node <name>`: feeds a node-level recording (`record_io`) back through
//! the node's own processing, step by step at the recorded node-clock times, and compares what
//! it produces with what it produced when recorded — field by field, numbers within a
//! tolerance per field (default exact up to `default_tolerance`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use g1_bag::Bag;
use g1_msgs::Message;
use g1_ros::{ParamMap, ParamValue};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::io_record::{OUTPUT_PREFIX, STEP_TOPIC};

/// One recorded processing step.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub time_s: f64,
    /// `(topic, CDR bytes)` in the order the node consumed them.
    pub inputs: Vec<(String, Vec<u8>)>,
    /// `(topic, CDR bytes)` in the order the node published them.
    pub outputs: Vec<(String, Vec<u8>)>,
}

impl Step {
    /// The inputs of one topic, decoded.
    pub fn inputs_of<M: Message>(&self, topic: &str) -> Result<Vec<M>> {
        self.inputs
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, b)| g1_msgs::from_cdr::<M>(b).with_context(|| format!("recorded {topic}")))
            .collect()
    }
}

/// A node whose processing can be replayed.
pub trait Replayable {
    fn replay_step(&mut self, step: &Step) -> Result<Vec<(String, Vec<u8>)>>;
    /// An output message as JSON (for the field-by-field comparison).
    fn decode(&self, topic: &str, bytes: &[u8]) -> Result<serde_json::Value>;
}

pub fn decode_json<M: Message + Serialize>(bytes: &[u8]) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(g1_msgs::from_cdr::<M>(bytes)?)?)
}

/// The node's parameters as a `ros__parameters` YAML mapping (stored in the recording).
pub fn params_yaml(p: &ParamMap) -> String {
    let map: BTreeMap<&String, serde_json::Value> =
        p.values.iter().map(|(k, v)| (k, v.to_json())).collect();
    serde_yaml::to_string(&map).unwrap_or_default()
}

/// The parameters stored in a recording.
pub fn params_from_yaml(text: &str) -> Result<ParamMap> {
    let map: BTreeMap<String, serde_yaml::Value> =
        serde_yaml::from_str(text).context("recorded ros__parameters")?;
    let mut p = ParamMap::default();
    for (k, v) in map {
        p.set(&k, ParamValue::from_yaml(&v)?, "recording");
    }
    Ok(p)
}

/// Removes a string parameter (node-level keys that the core's config does not know).
pub fn take_string_param(p: &mut ParamMap, key: &str) -> Result<String> {
    p.sources.remove(key);
    match p.values.remove(key) {
        None => Ok(String::new()),
        Some(ParamValue::String(s)) => Ok(s),
        Some(v) => bail!("parameter `{key}` must be a string, got {v}"),
    }
}

/// Removes a node-level boolean parameter from `p` (`None` when not given).
pub fn take_bool_param(p: &mut ParamMap, key: &str) -> Result<Option<bool>> {
    p.sources.remove(key);
    match p.values.remove(key) {
        None => Ok(None),
        Some(ParamValue::Bool(b)) => Ok(Some(b)),
        Some(v) => bail!("parameter `{key}` must be a bool, got {v}"),
    }
}

/// A recording: its node, parameters and steps.
pub struct Recording {
    pub node: String,
    pub params: ParamMap,
    pub steps: Vec<Step>,
}

pub fn read_recording(dir: &Path) -> Result<Recording> {
    let bag = Bag::open(dir).with_context(|| format!("replay bag {}", dir.display()))?;
    let mut steps = Vec::new();
    let mut cur = Step::default();
    let report = bag.read(|m| -> Result<()> {
        if m.topic == STEP_TOPIC {
            cur.time_s = m.log_time_ns as f64 * 1e-9;
            steps.push(std::mem::take(&mut cur));
        } else if let Some(t) = m.topic.strip_prefix(OUTPUT_PREFIX) {
            cur.outputs.push((t.to_string(), m.data.to_vec()));
        } else {
            cur.inputs.push((m.topic.to_string(), m.data.to_vec()));
        }
        Ok(())
    })??;
    if !report.complete {
        bail!("{} is cut short; run `g1d bag repair` first", dir.display());
    }
    let run = report.metadata.get("g1d_run").with_context(|| {
        format!(
            "{} has no run metadata: not a record_io recording",
            dir.display()
        )
    })?;
    let node = run
        .get("node")
        .context("the bag's run metadata names no node (not a record_io recording)")?
        .clone();
    let params = params_from_yaml(run.get("ros__parameters").map_or("{}", |s| s.as_str()))?;
    Ok(Recording {
        node,
        params,
        steps,
    })
}

/// Per-field tolerances: the longest matching dotted-path prefix wins.
#[derive(Debug, Clone)]
pub struct Tolerances {
    pub default: f64,
    pub fields: Vec<(String, f64)>,
}

impl Tolerances {
    fn for_path(&self, path: &str) -> f64 {
        self.fields
            .iter()
            .filter(|(p, _)| path.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map_or(self.default, |(_, t)| *t)
    }
}

fn compare(
    a: &serde_json::Value,
    b: &serde_json::Value,
    path: &str,
    tol: &Tolerances,
    out: &mut Vec<String>,
) {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            let t = tol.for_path(path);
            if !((x - y).abs() <= t || (x.is_nan() && y.is_nan())) {
                out.push(format!(
                    "{path}: replayed {x} vs recorded {y} (tolerance {t})"
                ));
            }
        }
        (V::Array(x), V::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{path}: {} elements vs {}", x.len(), y.len()));
                return;
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                compare(p, q, &format!("{path}[{i}]"), tol, out);
            }
        }
        (V::Object(x), V::Object(y)) => {
            for (k, p) in x {
                match y.get(k) {
                    Some(q) => compare(p, q, &format!("{path}.{k}"), tol, out),
                    None => out.push(format!("{path}.{k}: missing in the recording")),
                }
            }
        }
        _ => {
            if a != b {
                out.push(format!("{path}: replayed {a} vs recorded {b}"));
            }
        }
    }
}

/// What a replay found.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub node: String,
    pub steps: usize,
    pub outputs_compared: usize,
    pub differences: usize,
    /// The first differences, worded.
    pub first: Vec<String>,
}

/// Replays `rec` through `node`.
pub fn replay(
    rec: &Recording,
    node: &mut dyn Replayable,
    tol: &Tolerances,
) -> Result<ReplayReport> {
    let mut report = ReplayReport {
        node: rec.node.clone(),
        steps: rec.steps.len(),
        outputs_compared: 0,
        differences: 0,
        first: Vec::new(),
    };
    for (i, step) in rec.steps.iter().enumerate() {
        let produced = node.replay_step(step)?;
        let mut diffs = Vec::new();
        if produced.len() != step.outputs.len() {
            diffs.push(format!(
                "{} outputs replayed vs {} recorded",
                produced.len(),
                step.outputs.len()
            ));
        }
        for ((pt, pb), (rt, rb)) in produced.iter().zip(&step.outputs) {
            report.outputs_compared += 1;
            if pt != rt {
                diffs.push(format!("topic {pt} replayed where {rt} was recorded"));
                continue;
            }
            let (a, b) = (node.decode(pt, pb)?, node.decode(rt, rb)?);
            compare(&a, &b, pt, tol, &mut diffs);
        }
        report.differences += diffs.len();
        for d in diffs {
            if report.first.len() < 10 {
                report
                    .first
                    .push(format!("step {i} (t = {:.4} s): {d}", step.time_s));
            }
        }
    }
    Ok(report)
}

/// Deserialisation helper for typed node configs from a recording's parameters.
pub fn config_from<T: g1_ros::NodeConfig + DeserializeOwned>(p: &ParamMap) -> Result<T> {
    Ok(g1_ros::load_config(p)?)
}

/// The node `name` built from recorded parameters, ready to replay.
pub fn replayable(name: &str, params: &ParamMap) -> Result<Box<dyn Replayable>> {
    let mut p = params.clone();
    take_string_param(&mut p, "record_io")?;
    p.values.remove("use_sim_time");
    Ok(match name {
        "g1_bridge" => Box::new(crate::bridge_node::BridgeCore::new(config_from(&p)?)?),
        "g1_estimator" => Box::new(crate::estimator_node::EstimatorCore::new(config_from(&p)?)),
        other => bail!("`{other}` cannot be replayed (replayable: g1_bridge, g1_estimator)"),
    })
}
