//! `g1d collect`: expert rollouts with noise, delays, pushes and randomisation into rosbags.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::progress::progress_bar;
use anyhow::{bail, Context, Result};
use g1_data::collect::{collect, CollectConfig};

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
