//! `g1d collect`, `g1d bag info|repair`, `g1d dataset build`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use g1_data::collect::{collect, CollectConfig};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args)]
pub struct CollectArgs {
    /// Expert policy directory; repeat for several (episodes are split evenly among them).
    #[arg(long, required = true)]
    pub policy: Vec<PathBuf>,
    /// Simulated hours to collect (over all shards).
    #[arg(long)]
    pub sim_hours: f64,
    /// Output directory (one bag per worker is created inside).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `i/n`: record only episodes e with e % n == i (split a collection across machines).
    #[arg(long, value_parser = parse_shard, default_value = "0/1")]
    pub shard: (usize, usize),
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Collection settings (YAML of `CollectConfig`: noise, delay, pushes, randomisation);
    /// command-line flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Episode length (s).
    #[arg(long)]
    pub episode_seconds: Option<f64>,
    /// Keep fallen episodes up to the fall (default: discard them).
    #[arg(long)]
    pub keep_falls: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub assets: Option<PathBuf>,
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected i/n, e.g. 0/4"))?;
    let i: usize = i.trim().parse().map_err(|e| format!("`{s}`: {e}"))?;
    let n: usize = n.trim().parse().map_err(|e| format!("`{s}`: {e}"))?;
    if n == 0 || i >= n {
        return Err(format!("`{s}`: need 0 <= i < n"));
    }
    Ok((i, n))
}

/// Progress for logs (stderr not a terminal: CI, `nohup`, a pipe): a plain line at most every
/// 10 s, and the last one when the job is done, instead of nothing.
#[derive(Debug)]
struct LogLines {
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl indicatif::TermLike for LogLines {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(());
        }
        // "… POS/LEN unit …": done when POS = LEN.
        let done = s.split_whitespace().any(|w| {
            w.split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && a == b && a.parse::<u64>().is_ok())
        });
        let mut last = self.last.lock().expect("progress lock");
        if done || last.is_none_or(|t| t.elapsed().as_secs_f64() >= 10.0) {
            *last = Some(std::time::Instant::now());
            eprintln!("{s}");
        }
        Ok(())
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.write_line(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn progress_bar(total: u64, unit: &str) -> ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        let pb = ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::term_like_with_hz(
                Box::new(LogLines {
                    last: std::sync::Mutex::new(None),
                }),
                1,
            ),
        );
        pb.set_style(
            ProgressStyle::with_template(&format!(
                "[{{elapsed_precise}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        return pb;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

pub fn cmd_collect(a: CollectArgs) -> Result<()> {
    let assets = a.assets.unwrap_or_else(g1_sim::default_assets_dir);
    let mut cfg = match &a.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_yaml::from_str::<CollectConfig>(&text)
                .with_context(|| format!("parsing {}", p.display()))?
        }
        None => CollectConfig::default(),
    };
    cfg.policies = a.policy.clone();
    cfg.sim_hours = a.sim_hours;
    cfg.seed = a.seed;
    cfg.shard = a.shard;
    if let Some(w) = a.workers {
        cfg.workers = w;
    }
    if let Some(s) = a.episode_seconds {
        cfg.episode_seconds = s;
    }
    cfg.keep_falls |= a.keep_falls;
    cfg.validate()?;
    if a.out.exists() && std::fs::read_dir(&a.out)?.next().is_some() {
        bail!(
            "{} exists and is not empty; choose a new output directory",
            a.out.display()
        );
    }
    let control_steps = (cfg.sim_hours * 3600.0 / 0.02 / cfg.shard.1 as f64).round() as u64;
    let progress = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let pb = progress_bar(control_steps, "steps");
    let summary = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                pb.set_position(progress.load(Ordering::Relaxed).min(control_steps));
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let r = collect(&cfg, &assets, &a.out, &progress);
        done.store(true, Ordering::Relaxed);
        r
    });
    pb.finish_and_clear();
    let summary = summary?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "collected {} episodes into {} bag(s) under {}",
        summary.episodes,
        summary.bags.len(),
        a.out.display()
    );
    println!(
        "simulated {:.3} h, recorded {:.3} h, in {:.1} s wall: {:.0}× real time ({:.0}× per worker, {} workers)",
        summary.simulated_hours,
        summary.recorded_hours,
        summary.wall_s,
        summary.realtime_factor,
        summary.realtime_factor_per_worker,
        summary.workers
    );
    for (name, p) in &summary.per_policy {
        println!(
            "  {name:<32} {:>5} episodes, {:>4} falls ({:.1}%), {:.3} h recorded",
            p.episodes,
            p.falls,
            100.0 * p.fall_rate(),
            p.recorded_steps as f64 * 0.02 / 3600.0
        );
    }
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum BagCommand {
    /// What a bag holds (read from the MCAP file itself), like `ros2 bag info`.
    Info { bag: PathBuf },
    /// Make a bag cut short by a crash complete again (summary, footer, metadata.yaml).
    Repair { bag: PathBuf },
}

pub fn cmd_bag(c: BagCommand) -> Result<()> {
    match c {
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

#[derive(clap::Subcommand)]
pub enum DatasetCommand {
    /// Bags → one memory-mappable safetensors file of training windows (N = 4, H = 16),
    /// with normalisation statistics, a summary and a top-view PNG of root trajectories.
    Build(DatasetBuildArgs),
}

#[derive(clap::Args)]
pub struct DatasetBuildArgs {
    /// Bag directories, .mcap files, or directories holding bags (e.g. a `g1d collect --out`).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output file (.safetensors); the PNG and a JSON summary are written beside it.
    #[arg(long)]
    pub out: PathBuf,
    /// Skip bags that cannot be read (named in the summary) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
    /// Replace an existing OUT (and its summary and PNG).
    #[arg(long)]
    pub force: bool,
    /// Add the left/right mirror image of every episode.
    #[arg(long)]
    pub mirror: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_dataset(c: DatasetCommand) -> Result<()> {
    use g1_data::dataset::{build, BuildOptions, Dataset};
    let DatasetCommand::Build(a) = c;
    if a.out.exists() && !a.force {
        bail!("{} exists: --force replaces it", a.out.display());
    }
    let t0 = std::time::Instant::now();
    let pb = progress_bar(0, "bags");
    let summary = build(
        &a.inputs,
        &a.out,
        &BuildOptions {
            mirror: a.mirror,
            skip_bad: a.skip_bad,
        },
        &|i, n| {
            pb.set_length(n as u64);
            pb.set_position(i as u64);
        },
    )?;
    pb.finish_and_clear();
    // Top view of a sample of root trajectories, each from its start pose (heading +x).
    let ds = Dataset::open(&a.out)?;
    let frames = ds.f64s("frames")?;
    let offs = ds.i64s("episode_offsets")?;
    let n_eps = offs.len() - 1;
    let step = (n_eps / 200).max(1);
    let mut paths = Vec::new();
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for e in (0..n_eps).step_by(step) {
        let (a0, b0) = (offs[e] as usize, offs[e + 1] as usize);
        let f0 = [frames[3 * a0], frames[3 * a0 + 1], frames[3 * a0 + 2]];
        let (c, s) = (f0[2].cos(), f0[2].sin());
        let pts: Vec<[f64; 2]> = (a0..b0)
            .map(|k| {
                let (dx, dy) = (frames[3 * k] - f0[0], frames[3 * k + 1] - f0[1]);
                [c * dx + s * dy, -s * dx + c * dy]
            })
            .collect();
        for p in &pts {
            for i in 0..2 {
                lo[i] = lo[i].min(p[i]);
                hi[i] = hi[i].max(p[i]);
            }
        }
        paths.push(pts);
    }
    let png = a.out.with_extension("trajectories.png");
    let mut canvas =
        g1_data::plot::Canvas::new(900, 900, lo[0] - 0.5, hi[0] + 0.5, lo[1] - 0.5, hi[1] + 0.5);
    for (i, p) in paths.iter().enumerate() {
        canvas.path(p, g1_data::plot::palette(i));
    }
    canvas.disc(0.0, 0.0, 0.08, [0, 0, 0]);
    canvas.save_png(&png)?;
    let json_path = a.out.with_extension("summary.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&summary)?)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "{}: {} windows from {} episodes ({:.3} h, {} steps{}) of {} bag(s) in {:.1} s",
        a.out.display(),
        summary.windows,
        summary.episodes,
        summary.hours,
        summary.steps,
        if summary.mirrored {
            ", mirrored copies included"
        } else {
            ""
        },
        summary.bags,
        t0.elapsed().as_secs_f64()
    );
    for (p, n) in &summary.episodes_per_policy {
        println!("  {p:<32} {n} episodes");
    }
    if summary.dropped_incomplete_episodes > 0 {
        println!(
            "  dropped {} incomplete episode(s) (recording cut short)",
            summary.dropped_incomplete_episodes
        );
    }
    for s in &summary.skipped_bags {
        println!("  SKIPPED {s}");
    }
    use g1::bodypos::layout;
    println!("  per-dimension statistics (windows as the model sees them):");
    for (name, r) in [
        ("root position", layout::ROOT_POS),
        ("root rotation vector", layout::ROOT_ROTVEC),
        ("root linear velocity", layout::ROOT_LIN_VEL),
        ("root angular velocity", layout::ROOT_ANG_VEL),
        ("body positions", layout::BODY_POS),
        ("body velocities", layout::BODY_VEL),
    ] {
        let m = &summary.state_mean[r.clone()];
        let s = &summary.state_std[r];
        println!(
            "    {name:<22} mean [{:+.3}, {:+.3}]  std [{:.3}, {:.3}]",
            m.iter().cloned().fold(f64::MAX, f64::min),
            m.iter().cloned().fold(f64::MIN, f64::max),
            s.iter().cloned().fold(f64::MAX, f64::min),
            s.iter().cloned().fold(f64::MIN, f64::max),
        );
    }
    println!(
        "    {:<22} mean [{:+.3}, {:+.3}]  std [{:.3}, {:.3}]",
        "actions",
        summary.action_mean.iter().cloned().fold(f64::MAX, f64::min),
        summary.action_mean.iter().cloned().fold(f64::MIN, f64::max),
        summary.action_std.iter().cloned().fold(f64::MAX, f64::min),
        summary.action_std.iter().cloned().fold(f64::MIN, f64::max),
    );
    println!("  full statistics: {}", json_path.display());
    println!(
        "  root trajectories (top view, 1 m grid): {}",
        png.display()
    );
    Ok(())
}
