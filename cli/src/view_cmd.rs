//! `g1d view`: the 3-D viewer — a recording (`--bag`), the running node suite (`--live`),
//! or offscreen pictures and clips of a recording (`--png`, `--video`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{bail, Result};
use g1_viewer::{Playback, Timeline, ViewOptions};

#[derive(clap::Args)]
pub struct ViewArgs {
    /// A recording to show: a rosbag2 directory or `.mcap` file of the node suite
    /// (`g1_recorder`), of `g1d drive --bag` or of `g1d demo`.
    #[arg(long, conflicts_with = "live")]
    pub bag: Option<PathBuf>,
    /// Show the running node suite, subscribing over DDS (honours ROS_DOMAIN_ID and the
    /// usual ROS 2 environment).
    #[arg(long)]
    pub live: bool,
    /// Render one frame offscreen to this PNG (with --at) instead of opening a window.
    #[arg(long, requires = "bag")]
    pub png: Option<PathBuf>,
    /// The moment of --png, in seconds from the recording's start.
    #[arg(long, default_value_t = 0.0)]
    pub at: f64,
    /// Render the whole recording offscreen to this animated GIF (.gif).
    #[arg(long, requires = "bag")]
    pub video: Option<PathBuf>,
    /// Frames per second of recording in --video (divides 100).
    #[arg(long, default_value_t = 10)]
    pub fps: u32,
    #[arg(long, default_value_t = 960)]
    pub width: u32,
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    /// The window's frame-rate cap.
    #[arg(long, default_value_t = 30.0)]
    pub max_fps: f64,
    /// Keep the camera where it is instead of following the robot.
    #[arg(long)]
    pub no_follow: bool,
    /// The G1's MJCF whose meshes are drawn (default: the shipped assets/g1/mjcf/g1.xml).
    #[arg(long)]
    pub mjcf: Option<PathBuf>,
    /// Window mode: save the window's picture to this PNG after --after seconds, then close
    /// (a check that a live view shows the chain).
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    #[arg(long, default_value_t = 5.0)]
    pub after: f64,
}

/// The viewer's options with the shipped model (or `mjcf`).
pub fn view_options(mjcf: Option<&Path>) -> Result<ViewOptions> {
    let mjcf = match mjcf {
        Some(p) => p.to_path_buf(),
        None => g1_sim::default_assets_dir().join("g1/mjcf/g1.xml"),
    };
    Ok(ViewOptions::new(mjcf))
}

/// A recording tap that feeds `timeline` (what a run being computed shows or is rendered from).
pub fn timeline_tap(timeline: Arc<Mutex<Timeline>>) -> g1_nodes::run_bag::Tap {
    Box::new(move |topic, ty, data, t| {
        timeline
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ingest(topic, ty, data, t);
    })
}

pub fn cmd_view(a: ViewArgs) -> Result<()> {
    let mut opts = view_options(a.mjcf.as_deref())?;
    opts.width = a.width;
    opts.height = a.height;
    opts.follow = !a.no_follow;
    opts.max_fps = a.max_fps;
    if a.live {
        if a.png.is_some() || a.video.is_some() {
            bail!("--png and --video render a recording (--bag); a live view is a window (--screenshot to save it)");
        }
        let timeline = Arc::new(Mutex::new(Timeline::new()));
        let _subscriber = live::subscribe(timeline.clone())?;
        return g1_viewer::render::run_window(
            Playback::Growing(timeline),
            &opts,
            "g1d view --live",
            a.screenshot.map(|p| (p, a.after)),
        );
    }
    let Some(bag) = &a.bag else {
        bail!("give --bag DIR (a recording) or --live (the running node suite)");
    };
    let tl = Timeline::from_bag(bag)?;
    if let Some(png) = &a.png {
        g1_viewer::render_png(&tl, a.at, png, &opts)?;
        println!("{}", png.display());
        return Ok(());
    }
    if let Some(video) = &a.video {
        let bar = crate::progress::progress_bar(
            g1_viewer::render::frame_count(tl.duration(), a.fps as f64) as u64,
            "frames",
        );
        let n = g1_viewer::render_video(&tl, video, a.fps, &opts, |done, _| {
            bar.set_position(done as u64)
        })?;
        bar.finish_and_clear();
        println!(
            "{}: {n} frames, {:.2} s at {} fps ({:.2} s recorded)",
            video.display(),
            n as f64 / a.fps as f64,
            a.fps,
            tl.duration()
        );
        return Ok(());
    }
    let title = format!("g1d view {}", bag.display());
    g1_viewer::render::run_window(
        Playback::Recorded(Box::new(tl)),
        &opts,
        &title,
        a.screenshot.map(|p| (p, a.after)),
    )
}

/// The live source: a node subscribing to the topics the viewer draws.
mod live {
    use super::*;
    use g1_msgs::Message;
    use g1_ros::dds::{take_all, QosPreset, RosNode, Subscription};
    use serde::de::DeserializeOwned;

    trait Feed: Send {
        fn drain(&mut self, tl: &mut Timeline, t: f64);
    }

    struct Typed<M> {
        sub: Subscription<M>,
        topic: &'static str,
    }

    impl<M: Message + DeserializeOwned + Send + 'static> Feed for Typed<M> {
        fn drain(&mut self, tl: &mut Timeline, t: f64) {
            for m in take_all(&self.sub).0 {
                tl.ingest(self.topic, M::TYPE_NAME, &g1_msgs::to_cdr(&m), t);
            }
        }
    }

    fn typed<M: Message + DeserializeOwned + Send + 'static>(
        ros: &mut RosNode,
        topic: &'static str,
        qos: QosPreset,
    ) -> Result<Box<dyn Feed>> {
        Ok(Box::new(Typed::<M> {
            sub: ros.subscription(topic, qos)?,
            topic,
        }))
    }

    /// Keeps the subscriber thread alive.
    pub struct Subscriber {
        _thread: std::thread::JoinHandle<()>,
    }

    /// Subscribes to the viewer's topics and feeds `tl` from a thread (times: seconds since
    /// the viewer started).
    pub fn subscribe(tl: Arc<Mutex<Timeline>>) -> Result<Subscriber> {
        use g1_msgs::{
            diagnostic_msgs, g1d, geometry_msgs, nav_msgs, sensor_msgs, std_msgs,
            visualization_msgs,
        };
        use QosPreset::{Latched, Record};
        let (dds, mut ros) = crate::ros_tool::node("g1d_view")?;
        let mut feeds: Vec<Box<dyn Feed>> = vec![
            typed::<sensor_msgs::JointState>(&mut ros, "/joint_states", Record)?,
            typed::<nav_msgs::Odometry>(&mut ros, "/sim/odom", Record)?,
            typed::<nav_msgs::Odometry>(&mut ros, "/odom", Record)?,
            typed::<visualization_msgs::MarkerArray>(&mut ros, "/g1d/plan/markers", Record)?,
            typed::<g1d::ObstacleArray>(&mut ros, "/g1d/obstacles", Latched)?,
            typed::<g1d::TaskGoal>(&mut ros, "/g1d/goal", Record)?,
            typed::<geometry_msgs::PoseStamped>(&mut ros, "/goal_pose", Record)?,
            typed::<nav_msgs::Path>(&mut ros, "/g1d/route", Record)?,
            typed::<geometry_msgs::Twist>(&mut ros, "/cmd_vel", Record)?,
            typed::<std_msgs::StringMsg>(&mut ros, "/g1d/bridge/mode", Latched)?,
            typed::<diagnostic_msgs::DiagnosticArray>(&mut ros, "/diagnostics", Record)?,
        ];
        let t0 = std::time::Instant::now();
        let thread = std::thread::Builder::new()
            .name("g1d-view-live".into())
            .spawn(move || {
                let _keep = (dds, ros);
                loop {
                    let t = t0.elapsed().as_secs_f64();
                    {
                        let mut g = tl.lock().unwrap_or_else(PoisonError::into_inner);
                        for f in &mut feeds {
                            f.drain(&mut g, t);
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            })?;
        Ok(Subscriber { _thread: thread })
    }
}
