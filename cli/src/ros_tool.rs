//! A command-line tool's own ROS 2 node (`g1d bag play`, `g1d view --live`): its context and
//! DDS Security (SROS2 variables) from the environment, as a node's executable takes them.

use anyhow::{Context, Result};
use g1_ros::dds::{Dds, RosNode};

/// The participant and node `name`; keep the participant alive as long as the node.
pub fn node(name: &str) -> Result<(Dds, RosNode)> {
    let ctx = g1_ros::NodeContext::from_args(name, &["--ros-args".to_string()])?;
    let security = g1_ros::SecurityEnv::from_vars(&|k| std::env::var(k).ok(), None, &mut |w| {
        eprintln!("warning: {w}")
    })?;
    let dds = Dds::open(&ctx.dds, security.as_ref()).context("joining the ROS 2 graph")?;
    let node = RosNode::new(&dds, ctx)?;
    Ok((dds, node))
}
