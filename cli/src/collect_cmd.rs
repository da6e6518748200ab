//! `g1d collect`: expert rollouts with noise, delays, pushes and randomisation into rosbags.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::progress::progress_bar;
use anyhow::{bail, Context, Result};
use g1_data::collect::{collect, screen, CollectConfig, PolicyTotals};

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
    /// Refuse a policy whose fall rate in screening episodes (drawn as the collection draws its
    /// own, nothing recorded) exceeds this fraction, before collecting anything.
    #[arg(long)]
    pub max_fall_rate: Option<f64>,
    /// Screening episodes per policy for --max-fall-rate.
    #[arg(long, default_value_t = 20)]
    pub screen_episodes: u64,
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
    if let Some(max) = a.max_fall_rate {
        if !(0.0..=1.0).contains(&max) {
            bail!("--max-fall-rate {max} must be a fraction in [0, 1]");
        }
        if a.screen_episodes == 0 || a.screen_episodes > 10_000 {
            bail!(
                "--screen-episodes {} must be in 1..=10000",
                a.screen_episodes
            );
        }
        let screened = screen(&cfg, &assets, a.screen_episodes)?;
        let mut refused = Vec::new();
        for (name, p) in &screened {
            eprintln!("screening: {}", fall_line(name, p));
            if p.fall_rate() > max {
                refused.push(format!("{name} ({:.0} %)", 100.0 * p.fall_rate()));
            }
        }
        if !refused.is_empty() {
            bail!(
                "refusing to collect with {}: fall rate above --max-fall-rate {:.0} % in {} screening episodes (see `g1d robustness --policy DIR` for where it fails)",
                refused.join(", "),
                100.0 * max,
                a.screen_episodes
            );
        }
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
            "  {}, {:.3} h recorded",
            fall_line(name, p),
            p.recorded_steps as f64 * 0.02 / 3600.0
        );
        for (cond, c) in &p.by_condition {
            println!(
                "    {cond:<30} {:>5} episodes, {:>4} falls ({:.1} %)",
                c.episodes,
                c.falls,
                100.0 * c.falls as f64 / c.episodes.max(1) as f64
            );
        }
    }
    Ok(())
}

fn fall_line(name: &str, p: &PolicyTotals) -> String {
    format!(
        "{name:<32} {:>5} episodes, {:>4} falls ({:.1} %)",
        p.episodes,
        p.falls,
        100.0 * p.fall_rate()
    )
}
