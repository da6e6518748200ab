//! `g1d up <launch file> [name:=value …]`: the launch file's nodes composed in one process,
//! talking DDS (so RViz or `ros2 topic echo` on another machine can watch) — `ros2 launch`
//! for machines without ROS 2.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use g1_nodes::launch::read_launch;
use g1_nodes::runtime::{compose, Node};
use g1_ros::dds::Dds;
use g1_ros::NodeContext;

#[derive(clap::Args)]
pub struct UpArgs {
    /// ROS 2 XML launch file (e.g. launch/sim.launch.xml).
    pub launch: PathBuf,
    /// Launch arguments `name:=value`.
    pub args: Vec<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<f64>,
}

pub fn cmd_up(a: UpArgs) -> Result<()> {
    let overrides = a
        .args
        .iter()
        .map(|s| {
            s.split_once(":=")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("launch argument `{s}` is not `name:=value`"))
        })
        .collect::<Result<Vec<_>>>()?;
    // The package share directory: the launch file's folder's parent (the repository root in a
    // checkout, share/g1_diffusion in an install).
    let launch = a
        .launch
        .canonicalize()
        .with_context(|| format!("launch file {}", a.launch.display()))?;
    let share = launch
        .parent()
        .and_then(|p| p.parent())
        .context("the launch file must sit in <package>/launch/")?
        .to_path_buf();
    let nodes = read_launch(&launch, &share, &overrides)?;
    if nodes.is_empty() {
        bail!("{} starts no nodes", launch.display());
    }
    let env = g1_ros::DdsEnv::from_vars(&|k| std::env::var(k).ok())?;
    let dds = Dds::new(env)?;
    let mut built: Vec<Box<dyn Node>> = Vec::new();
    for n in &nodes {
        if n.pkg != "g1_diffusion" {
            eprintln!(
                "[up] skipping {}/{} (another package's node; `ros2 launch` starts it on a machine with ROS 2)",
                n.pkg, n.exec
            );
            continue;
        }
        let ctx = NodeContext::from_args(&n.exec, &n.ros_args())
            .with_context(|| format!("node {}", n.exec))?;
        for w in &ctx.unsupported {
            eprintln!("[{}] warning: {w}", ctx.names.fqn());
        }
        eprintln!(
            "[up] {} as {} ({})",
            n.exec,
            ctx.names.fqn(),
            n.params_files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        built.push(
            g1_nodes::build_node(&n.exec, &dds, ctx).with_context(|| format!("node {}", n.exec))?,
        );
    }
    eprintln!(
        "[up] {} nodes on DDS domain {}; Ctrl-C stops",
        built.len(),
        env.domain_id
    );
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing Ctrl-C")?;
    if let Some(secs) = a.seconds {
        if !(secs.is_finite() && secs > 0.0) {
            bail!("--seconds must be positive");
        }
        let s = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(secs));
            s.store(true, Ordering::Relaxed);
        });
    }
    compose(built, stop)?;
    eprintln!("[up] stopped");
    Ok(())
}
