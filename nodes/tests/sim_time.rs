//! `use_sim_time`: a node's clock is the newest `/clock` (rosgraph_msgs/Clock — what ros2-client
//! itself gets wrong), and it waits for the first one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use g1_msgs::rosgraph_msgs::Clock;
use g1_nodes::runtime::{Node, SimTime};
use g1_ros::dds::{Dds, QosPreset, RosNode};
use g1_ros::{DdsEnv, DiscoveryRange, NodeContext};

struct Probe(Arc<Mutex<Vec<f64>>>);

impl Node for Probe {
    fn name(&self) -> String {
        "probe".into()
    }
    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.0.lock().unwrap().push(now_s);
        Ok(Duration::from_millis(1))
    }
}

#[test]
fn sim_time_follows_clock_messages() {
    let dds = Dds::new(DdsEnv {
        domain_id: g1_testkit::test_domain(90 + std::process::id() % 9),
        range: DiscoveryRange::Subnet,
        interfaces: Vec::new(),
        ..Default::default()
    })
    .unwrap();
    let ctx = |name: &str, args: &str| {
        let argv: Vec<String> = args.split_whitespace().map(String::from).collect();
        NodeContext::from_args_env(name, &argv, &|_| None).unwrap()
    };
    let c = ctx("probe", "--ros-args -p use_sim_time:=true");
    assert!(c.use_sim_time);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let mut node = SimTime::wrap(RosNode::new(&dds, c).unwrap(), move || {
        Ok(Box::new(Probe(s2)) as Box<dyn Node>)
    })
    .unwrap();
    let mut clock_pub_node = RosNode::new(&dds, ctx("clock_source", "--ros-args")).unwrap();
    let clock_pub = clock_pub_node
        .publisher::<Clock>("/clock", QosPreset::Sensor)
        .unwrap();
    // Before any /clock the wrapped node does not run.
    for _ in 0..20 {
        node.step(123.0).unwrap();
    }
    assert!(seen.lock().unwrap().is_empty());
    let t0 = Instant::now();
    let mut k = 0u64;
    while seen.lock().unwrap().len() < 50 && t0.elapsed() < Duration::from_secs(20) {
        k += 1;
        clock_pub
            .publish(Clock {
                clock: g1_msgs::builtin_interfaces::Time::from_secs_f64(1000.0 + 0.01 * k as f64),
            })
            .unwrap();
        node.step(t0.elapsed().as_secs_f64()).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let v = seen.lock().unwrap().clone();
    assert!(v.len() >= 50, "the node never ran on /clock");
    assert!(
        v.iter()
            .all(|t| (1000.0..1000.0 + 0.01 * k as f64 + 1e-9).contains(t)),
        "{v:?}"
    );
    assert!(
        v.windows(2).all(|w| w[1] >= w[0]),
        "ROS time went backwards: {v:?}"
    );
}
