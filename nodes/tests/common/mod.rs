//! Shared by the node tests: a DDS participant on a domain of the test's own, and nodes built
//! from an argv tail.
#![allow(dead_code)]

use g1_ros::dds::{Dds, RosNode};
use g1_ros::{DdsEnv, DiscoveryRange, NodeContext};

/// A participant on `base + pid % spread` (tests in parallel processes stay apart; away from
/// domain 0, where a robot may be).
pub fn dds(base: u16, spread: u32) -> Dds {
    Dds::new(DdsEnv {
        domain_id: base + (std::process::id() % spread) as u16,
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
    })
    .unwrap()
}

pub fn ctx(name: &str, args: &str) -> NodeContext {
    let argv: Vec<String> = args.split_whitespace().map(String::from).collect();
    NodeContext::from_args_env(name, &argv, &|_| None).unwrap()
}

pub fn ros(dds: &Dds, name: &str, args: &str) -> RosNode {
    RosNode::new(dds, ctx(name, args)).unwrap()
}
