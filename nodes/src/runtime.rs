//! Driving nodes: one thread per node, each calling its `step` at its own period until asked
//! to stop. [`compose`] (tests): a node's error stops the whole composition. [`supervise`]
//! (`g1d up`): a node that fails or panics stops alone — reported, and built again if its
//! launch entry says `respawn="true"` — while the others (the simulator, the bridge) go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

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

/// Waits until `wait` after the previous deadline `next`; behind schedule, it does not try to
/// catch up a backlog of periods.
fn pace(next: &mut Instant, wait: Duration) {
    *next += wait;
    let now = Instant::now();
    if *next > now {
        std::thread::sleep(*next - now);
    } else {
        *next = now;
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
        pace(&mut next, wait);
    }
    node.finish()?;
    Ok(node.report())
}

/// CPU seconds of `clock` (a CPU-time clock), NaN if the system cannot tell.
fn cpu_clock_s(clock: libc::clockid_t) -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    if unsafe { libc::clock_gettime(clock, &mut t) } == 0 {
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    } else {
        f64::NAN
    }
}

/// CPU seconds the calling thread has used.
pub fn thread_cpu_s() -> f64 {
    cpu_clock_s(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU seconds the whole process has used (every thread: nodes, DDS, runtime).
pub fn process_cpu_s() -> f64 {
    cpu_clock_s(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// A node as `g1d up` runs it: built by `build` (again after a failure when `respawn`).
pub struct Supervised {
    pub name: String,
    pub node: Box<dyn Node>,
    pub respawn: bool,
    /// Builds the node again (respawn).
    pub build: Box<dyn FnMut() -> Result<Box<dyn Node>> + Send>,
}

/// One step, with a panic turned into an error (the node's thread, and the process, go on).
fn step_caught(node: &mut Box<dyn Node>, now_s: f64) -> Result<Duration> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| node.step(now_s))) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            Err(anyhow::anyhow!("panicked: {msg}"))
        }
    }
}

/// Runs `node` until `stop` is set or it fails (the failure is returned; `stop` is left
/// alone).
fn spin_alone(
    node: &mut Box<dyn Node>,
    clock: &Clock,
    stop: &AtomicBool,
) -> Result<(), anyhow::Error> {
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let wait = step_caught(node, clock.now_s())?;
        pace(&mut next, wait);
    }
    Ok(())
}

/// Runs every node in its own thread until `stop` is set. A node that fails or panics is
/// finished and reported (`"failed"`: the error, `"restarts"`) and, with `respawn`, built
/// again after a second; the other nodes go on. Returns every node's report by name.
pub fn supervise(
    nodes: Vec<Supervised>,
    stop: Arc<AtomicBool>,
) -> Vec<(String, serde_json::Value)> {
    let clock = Clock::default();
    let handles: Vec<_> = nodes
        .into_iter()
        .map(|mut sv| {
            let (c, s) = (clock.clone(), stop.clone());
            let name = sv.name.clone();
            let handle = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    let mut failures: Vec<String> = vec![];
                    loop {
                        let r = spin_alone(&mut sv.node, &c, &s);
                        let finished =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                sv.node.finish()
                            }));
                        let mut report = sv.node.report().unwrap_or_else(|| serde_json::json!({}));
                        // The node's own thread's CPU time (DDS' threads are not in it).
                        let cpu = thread_cpu_s();
                        let wall = c.now_s().max(1e-9);
                        report["cpu_s"] = serde_json::json!(cpu);
                        report["cpu_share"] = serde_json::json!(cpu / wall);
                        let Err(e) = r else {
                            if let Ok(Err(e)) = finished {
                                failures.push(format!("finish: {e:#}"));
                            }
                            if !failures.is_empty() {
                                report["failed"] = serde_json::json!(failures);
                                report["restarts"] = serde_json::json!(failures.len());
                            }
                            return report;
                        };
                        let e = format!("{e:#}");
                        eprintln!("[up] node {} failed: {e}", sv.name);
                        failures.push(e);
                        let rebuilt = if sv.respawn && !s.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_secs(1));
                            match (sv.build)() {
                                Ok(n) => Some(n),
                                Err(e) => {
                                    eprintln!(
                                        "[up] node {} could not be restarted: {e:#}",
                                        sv.name
                                    );
                                    failures.push(format!("respawn: {e:#}"));
                                    None
                                }
                            }
                        } else {
                            None
                        };
                        match rebuilt {
                            Some(n) => {
                                eprintln!("[up] node {} restarted (respawn)", sv.name);
                                sv.node = n;
                            }
                            None => {
                                report["failed"] = serde_json::json!(failures);
                                report["restarts"] = serde_json::json!(failures.len() - 1);
                                return report;
                            }
                        }
                    }
                });
            (name, handle)
        })
        .collect();
    handles
        .into_iter()
        .map(|(name, h)| {
            let r = match h {
                Ok(h) => h.join().unwrap_or_else(
                    |_| serde_json::json!({"failed": ["the node's thread panicked"]}),
                ),
                Err(e) => {
                    serde_json::json!({"failed": [format!("could not start its thread: {e}")]})
                }
            };
            (name, r)
        })
        .collect()
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
                .with_context(|| format!("starting node {name}'s thread"))?;
            Ok((name, handle))
        })
        .collect::<Result<_>>()?;
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
