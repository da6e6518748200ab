//! Driving nodes: one thread per node, each calling its `step` at its own period until asked
//! to stop; a node's error stops the whole composition (nothing fails silently).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

/// A node driven by a loop.
pub trait Node: Send {
    fn name(&self) -> String;
    /// Does one unit of work; returns how long to wait before the next call.
    fn step(&mut self, now_s: f64) -> Result<Duration>;
    /// Called once when the node stops (close recordings).
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    /// What the node measured over its run, for `g1d up --summary` (None: nothing to say).
    fn report(&self) -> Option<serde_json::Value> {
        None
    }
}

/// The process clock every composed node shares (wall time since start, seconds).
#[derive(Clone)]
pub struct Clock {
    start: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Clock {
    pub fn now_s(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// Runs `node` until `stop` is set (or the node fails, which also sets `stop`).
pub fn spin(node: Box<dyn Node>, clock: Clock, stop: Arc<AtomicBool>) -> Result<()> {
    spin_report(node, clock, stop).map(|_| ())
}

/// [`spin`], returning the node's [`Node::report`] when it stops.
fn spin_report(
    mut node: Box<dyn Node>,
    clock: Clock,
    stop: Arc<AtomicBool>,
) -> Result<Option<serde_json::Value>> {
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let wait = match node.step(clock.now_s()) {
            Ok(w) => w,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                node.finish().ok();
                return Err(e.context(format!("node {}", node.name())));
            }
        };
        next += wait;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            // Behind schedule: do not try to catch up a backlog of periods.
            next = now;
        }
    }
    node.finish()?;
    Ok(node.report())
}

/// Runs several nodes in one process, each in its own thread, until `stop` is set or one
/// fails; returns the first error, else every node's report by node name.
pub fn compose(
    nodes: Vec<Box<dyn Node>>,
    stop: Arc<AtomicBool>,
) -> Result<Vec<(String, serde_json::Value)>> {
    let clock = Clock::default();
    let handles: Vec<_> = nodes
        .into_iter()
        .map(|n| {
            let (c, s) = (clock.clone(), stop.clone());
            let name = n.name();
            let handle = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || spin_report(n, c, s))
                .expect("spawning a node thread");
            (name, handle)
        })
        .collect();
    let mut first: Option<anyhow::Error> = None;
    let mut reports = vec![];
    for (name, h) in handles {
        match h
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a node panicked")))
        {
            Ok(Some(r)) => reports.push((name, r)),
            Ok(None) => {}
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(reports),
    }
}

/// A node on ROS time (`use_sim_time: true`): its clock is the newest `/clock`
/// (`rosgraph_msgs/Clock`, as rclcpp subscribes it), and it does not run before the first one
/// arrives.
pub struct SimTime {
    inner: Box<dyn Node>,
    _clock_node: g1_ros::dds::RosNode,
    clock: g1_ros::dds::Subscription<g1_msgs::rosgraph_msgs::Clock>,
    latest: Option<f64>,
}

impl SimTime {
    /// `clock_node` carries the `/clock` subscription (the node itself owns its own RosNode).
    pub fn wrap(
        mut clock_node: g1_ros::dds::RosNode,
        inner: impl FnOnce() -> Result<Box<dyn Node>>,
    ) -> Result<Self> {
        let clock = clock_node.subscription("/clock", g1_ros::dds::QosPreset::Sensor)?;
        Ok(Self {
            inner: inner()?,
            _clock_node: clock_node,
            clock,
            latest: None,
        })
    }
}

impl Node for SimTime {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn step(&mut self, _wall_s: f64) -> Result<Duration> {
        if let Some(c) = g1_ros::dds::take_all(&self.clock).0.pop() {
            self.latest = Some(c.clock.as_secs_f64());
        }
        match self.latest {
            Some(t) => self.inner.step(t),
            None => Ok(Duration::from_millis(1)),
        }
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }

    fn report(&self) -> Option<serde_json::Value> {
        self.inner.report()
    }
}
