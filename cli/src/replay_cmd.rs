//! `g1d replay <bag> --node <name>`: a node-level recording (`record_io`) through the node's own
//! processing, in lockstep with the recorded node clock; every output compared field by field.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use g1_nodes::replay::{read_recording, replay, replayable, Tolerances};
use g1_ros::ParamValue;

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The recording (a rosbag2 directory written by a node with `record_io` set).
    pub bag: PathBuf,
    /// The node to replay through (must be the node that recorded it).
    #[arg(long)]
    pub node: String,
    /// Tolerance for numbers without a field tolerance.
    #[arg(long, default_value_t = 0.0)]
    pub tolerance: f64,
    /// Per-field tolerance `topic.path=value`, e.g. `/odom.pose.pose.position=1e-9` (repeatable).
    #[arg(long = "field-tolerance")]
    pub field_tolerance: Vec<String>,
    /// Override a recorded parameter `name:=value` (e.g. to see a replay fail).
    #[arg(short = 'p', long = "param")]
    pub params: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_replay(a: ReplayArgs) -> Result<()> {
    let mut rec = read_recording(&a.bag)?;
    if rec.node != a.node {
        bail!(
            "{} was recorded by {}, not {}",
            a.bag.display(),
            rec.node,
            a.node
        );
    }
    for p in &a.params {
        let (k, v) = p
            .split_once(":=")
            .with_context(|| format!("-p {p}: expected name:=value"))?;
        rec.params.set(k, ParamValue::parse_yaml(v)?, "-p");
    }
    let mut fields = Vec::new();
    for f in &a.field_tolerance {
        let (k, v) = f
            .split_once('=')
            .with_context(|| format!("--field-tolerance {f}: expected path=value"))?;
        fields.push((k.to_string(), v.parse::<f64>().context("tolerance")?));
    }
    let tol = Tolerances {
        default: a.tolerance,
        fields,
    };
    let mut node = replayable(&a.node, &rec.params)?;
    let r = replay(&rec, node.as_mut(), &tol)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{}: {} steps, {} outputs compared, {} differences",
            r.node, r.steps, r.outputs_compared, r.differences
        );
        for d in &r.first {
            println!("  {d}");
        }
    }
    if r.differences > 0 {
        bail!(
            "the replay differs from the recording ({} differences)",
            r.differences
        );
    }
    if r.outputs_compared == 0 {
        bail!("the recording has no outputs to compare");
    }
    Ok(())
}
