//! Shared by the node tests: a DDS participant on a domain of the test's own, and nodes built
//! from an argv tail.
#![allow(dead_code)]

use g1_ros::dds::{Dds, RosNode};
use g1_ros::{DdsEnv, DiscoveryRange, NodeContext};

/// A participant on `base + pid % spread`, moved into the safe domains by
/// `g1_testkit::test_domain` (tests in parallel processes stay apart).
pub fn dds(base: u16, spread: u32) -> Dds {
    Dds::new(DdsEnv {
        domain_id: g1_testkit::test_domain(base as u32 + std::process::id() % spread),
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
        ..Default::default()
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
