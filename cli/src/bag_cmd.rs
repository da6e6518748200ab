//! `g1d bag info|repair|play`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

#[derive(clap::Subcommand)]
pub enum BagCommand {
    /// What a bag holds (read from the MCAP file itself), like `ros2 bag info`.
    Info { bag: PathBuf },
    /// Make a bag cut short by a crash complete again (summary, footer, metadata.yaml).
    Repair { bag: PathBuf },
    /// Publish a bag's messages with their recorded timing, like `ros2 bag play`: every
    /// topic's messages go out as recorded (serialized bytes, any type), in the order and
    /// spacing of their recording times (ROS_DOMAIN_ID and ROS_LOCALHOST_ONLY apply).
    Play(PlayArgs),
}

#[derive(clap::Args)]
pub struct PlayArgs {
    bag: PathBuf,
    /// Only these topics (comma-separated; default: every topic of the bag).
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// Playback speed: 2 plays twice as fast as recorded.
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Also publish /clock (rosgraph_msgs/Clock) with the bag's time, at this rate (Hz; 40
    /// when given without a value), for nodes on `use_sim_time`.
    #[arg(long, num_args = 0..=1, default_missing_value = "40")]
    clock: Option<f64>,
    /// Before the first message, wait up to this long (s) until every played topic has a
    /// subscriber (messages sent before discovery reach no one).
    #[arg(long, default_value_t = 0.0)]
    wait_for_subscribers: f64,
    /// Seconds to pause before the first message (after any wait).
    #[arg(long, default_value_t = 0.0)]
    delay: f64,
}

pub fn cmd_bag(c: BagCommand) -> Result<()> {
    match c {
        BagCommand::Play(a) => play(&a)?,
        BagCommand::Info { bag } => {
            let i = g1_bag::info(&bag)?;
            print!("{i}");
        }
        BagCommand::Repair { bag } => {
            let r = g1_bag::repair(&bag)?;
            if !r.rewritten {
                println!(
                    "{}: complete and consistent ({} messages); nothing to do",
                    bag.display(),
                    r.messages_kept
                );
            } else {
                println!(
                    "{}: rewritten with {} messages{}",
                    bag.display(),
                    r.messages_kept,
                    match &r.dropped_tail {
                        Some(t) => format!(
                            " (dropped an unreadable tail: {t}; original kept as *.damaged)"
                        ),
                        None => String::new(),
                    }
                );
                for c in &r.dropped_chunks {
                    println!("  dropped damaged {c}: its messages are lost");
                }
                if !r.dropped_chunks.is_empty() {
                    println!("  original kept as *.damaged");
                }
            }
        }
    }
    Ok(())
}

/// A topic's name and type.
type TopicName = (String, String);

/// One recorded message.
struct Recorded {
    topic: usize,
    t_ns: u64,
    data: Vec<u8>,
}

fn check_play_args(a: &PlayArgs) -> Result<()> {
    if !(a.rate.is_finite() && a.rate > 0.0 && a.rate <= 1000.0) {
        bail!("--rate {}: must be in (0, 1000]", a.rate);
    }
    if let Some(hz) = a.clock {
        if !(hz.is_finite() && hz > 0.0 && hz <= 1000.0) {
            bail!("--clock {hz}: must be in (0, 1000] Hz");
        }
    }
    for (flag, v) in [
        ("--wait-for-subscribers", a.wait_for_subscribers),
        ("--delay", a.delay),
    ] {
        if !(v.is_finite() && (0.0..=3600.0).contains(&v)) {
            bail!("{flag} {v}: must be in [0, 3600] s");
        }
    }
    Ok(())
}

/// The bag's messages on `wanted` (all topics when empty), by recording time; the topics'
/// names and types.
fn load(bag: &g1_bag::Bag, wanted: &[String]) -> Result<(Vec<Recorded>, Vec<TopicName>)> {
    let path = bag.path.as_path();
    let mut topics: Vec<TopicName> = Vec::new();
    let mut msgs = Vec::new();
    let report = bag
        .read(|m| -> Result<()> {
            if !wanted.is_empty() && !wanted.iter().any(|w| w == m.topic) {
                return Ok(());
            }
            let i = match topics.iter().position(|(t, _)| t == m.topic) {
                Some(i) => i,
                None => {
                    topics.push((m.topic.to_string(), m.type_name.to_string()));
                    topics.len() - 1
                }
            };
            msgs.push(Recorded {
                topic: i,
                t_ns: m.log_time_ns,
                data: m.data.to_vec(),
            });
            Ok(())
        })
        .with_context(|| format!("reading {}", path.display()))??;
    if let Some(t) = &report.truncation {
        eprintln!(
            "warning: {} is cut short ({t}); playing its {} complete messages \
             (`g1d bag repair` makes it whole)",
            path.display(),
            report.messages
        );
    }
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|w| !topics.iter().any(|(t, _)| t == *w))
        .collect();
    if !missing.is_empty() {
        let info = g1_bag::info(path)?;
        let have: Vec<String> = info.report.topics.keys().cloned().collect();
        bail!(
            "{} has no messages on {} (its topics: {})",
            path.display(),
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            have.join(", ")
        );
    }
    if msgs.is_empty() {
        bail!("{} holds no messages to play", path.display());
    }
    msgs.sort_by_key(|m| m.t_ns);
    Ok((msgs, topics))
}

/// Whether the bag's metadata says `topic` was offered transient-local (latched).
fn latched(bag: &g1_bag::Bag, topic: &str) -> bool {
    bag.metadata.as_ref().is_some_and(|m| {
        m.rosbag2_bagfile_information
            .topics_with_message_count
            .iter()
            .filter(|t| t.topic_metadata.name == topic)
            .any(|t| {
                serde_yaml::to_string(&t.topic_metadata.offered_qos_profiles)
                    .is_ok_and(|y| y.contains("transient_local"))
            })
    })
}

pub fn play(a: &PlayArgs) -> Result<()> {
    use g1_msgs::rosgraph_msgs::Clock;
    use g1_msgs::std_types::builtin_interfaces::Time;
    use g1_ros::dds::QosPreset;
    use g1_ros::raw::RawPublisher;

    check_play_args(a)?;
    let bag = g1_bag::Bag::open(&a.bag)?;
    let (msgs, topics) = load(&bag, &a.topics)?;
    let latched: Vec<bool> = topics.iter().map(|(t, _)| latched(&bag, t)).collect();
    drop(bag); // the messages are copied out: the file's bytes go

    let (_dds, mut node) = crate::ros_tool::node("rosbag2_player")?;
    let pubs = topics
        .iter()
        .zip(&latched)
        .map(|((t, ty), l)| RawPublisher::new(&node, t, ty, 1000, *l))
        .collect::<Result<Vec<_>>>()?;
    let clock = match a.clock {
        Some(_) => Some(node.publisher::<Clock>("/clock", QosPreset::Command)?),
        None => None,
    };
    if a.wait_for_subscribers > 0.0 {
        let t0 = Instant::now();
        while t0.elapsed().as_secs_f64() < a.wait_for_subscribers
            && pubs.iter().any(|p| p.matched() == 0)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let alone: Vec<&str> = pubs
            .iter()
            .filter(|p| p.matched() == 0)
            .map(|p| p.topic())
            .collect();
        if !alone.is_empty() {
            eprintln!(
                "warning: no subscriber after {} s on {}; playing anyway",
                a.wait_for_subscribers,
                alone.join(", ")
            );
        } else {
            // The readers' side of the match may trail the writers' by a moment.
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    std::thread::sleep(Duration::from_secs_f64(a.delay));
    let (t_first, t_last) = (msgs[0].t_ns, msgs[msgs.len() - 1].t_ns);
    eprintln!(
        "playing {} messages on {} topics, {:.1} s of recording at rate {}",
        msgs.len(),
        topics.len(),
        (t_last - t_first) as f64 * 1e-9,
        a.rate
    );
    let bar = indicatif::ProgressBar::new(msgs.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} messages  {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    let bag_ns_at = |since: Duration| t_first + (since.as_secs_f64() * a.rate * 1e9) as u64;
    let clock_period = a.clock.map(|hz| Duration::from_secs_f64(1.0 / hz));
    let mut next_clock = Duration::ZERO;
    let mut failures = 0u64;
    for m in &msgs {
        let due = Duration::from_secs_f64((m.t_ns - t_first) as f64 * 1e-9 / a.rate);
        loop {
            let now = start.elapsed();
            if let (Some(c), Some(period)) = (&clock, clock_period) {
                if now >= next_clock {
                    c.publish(Clock {
                        clock: Time::from_nanos(bag_ns_at(now)),
                    })
                    .ok();
                    next_clock = now + period;
                }
            }
            if now >= due {
                break;
            }
            let wake = match clock_period {
                Some(_) => due.min(next_clock),
                None => due,
            };
            std::thread::sleep(wake.saturating_sub(now).min(Duration::from_millis(50)));
        }
        if pubs[m.topic].publish_cdr(&m.data).is_err() {
            failures += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "played {} messages on {} topics in {:.1} s{}",
        msgs.len(),
        topics.len(),
        start.elapsed().as_secs_f64(),
        if failures > 0 {
            format!(" ({failures} could not be written)")
        } else {
            String::new()
        }
    );
    if failures > 0 {
        bail!("{failures} messages could not be written");
    }
    Ok(())
}
