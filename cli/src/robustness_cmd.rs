//! `g1d robustness`: a Stage 1 policy under every condition of a robustness test, with
//! tracking metrics, a table, a JSON report and one chart per metric.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use g1_data::robustness::{self, Progress, RobustnessConfig, RobustnessOptions, RobustnessReport};
use g1_expert::MotionSpec;

use crate::progress::progress_bar;

#[derive(clap::Args)]
pub struct RobustnessArgs {
    /// Policy directory (deploy.yaml + policy.onnx) or BeyondMimic .onnx file.
    #[arg(long)]
    pub policy: PathBuf,
    /// Reference motion CSV for a tracking policy (default: the policy's motion.yaml).
    #[arg(long)]
    pub motion: Option<PathBuf>,
    /// Frame rate of --motion (default: 60 if the file name says 60hz, else 30).
    #[arg(long)]
    pub motion_fps: Option<f64>,
    /// Conditions and criteria (default: config/robustness.yaml).
    #[arg(long)]
    pub conditions: Option<PathBuf>,
    /// Episodes per condition.
    #[arg(long, default_value_t = 100)]
    pub episodes: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Write report.json, table.md and one PNG chart per metric here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the report as one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub assets: Option<PathBuf>,
    /// Simulator base settings (YAML of `SimConfig`); each condition changes its friction,
    /// masses and pushes.
    #[arg(long)]
    pub sim_config: Option<PathBuf>,
}

pub fn cmd_robustness(a: RobustnessArgs) -> Result<()> {
    let assets = a.assets.unwrap_or_else(g1_sim::default_assets_dir);
    let path = a
        .conditions
        .unwrap_or_else(|| g1_sim::default_assets_dir().join("../config/robustness.yaml"));
    let cfg = RobustnessConfig::load(&path)?;
    if !(1..=100_000).contains(&a.episodes) {
        anyhow::bail!("--episodes {} must be in 1..=100000", a.episodes);
    }
    let opts = RobustnessOptions {
        motion: a
            .motion
            .as_deref()
            .map(|m| MotionSpec::from_csv(m, a.motion_fps)),
        policy: a.policy,
        episodes: a.episodes,
        seed: a.seed,
        workers: a
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        sim: crate::load_sim_config(a.sim_config.as_deref())?,
    };
    anyhow::ensure!(
        opts.sim.randomization == g1_sim::Randomization::default() && opts.sim.pushes.is_none(),
        "--sim-config: leave randomization and pushes to the conditions file"
    );
    let total = (cfg.conditions.len() * a.episodes) as u64;
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    let pb = progress_bar(total, "episodes");
    let started = Instant::now();
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let n = progress.total.load(Ordering::Relaxed);
                if n > 0 {
                    pb.set_length(n);
                }
                pb.set_position(progress.done.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let r = robustness::run(&cfg, &opts, &assets, &progress);
        done.store(true, Ordering::Relaxed);
        r
    });
    pb.finish_and_clear();
    let (name, kind, results) = out?;
    let dt = opts.sim.control_dt_s();
    let report = RobustnessReport::new(
        name,
        kind,
        a.episodes,
        a.seed,
        &cfg,
        &results,
        started.elapsed().as_secs_f64(),
        dt,
    );
    if let Some(dir) = &a.out {
        let files = report
            .write(dir)
            .with_context(|| format!("writing the report into {}", dir.display()))?;
        eprintln!("wrote {} files into {}", files.len(), dir.display());
    }
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!(
        "{} ({}): {} episodes per condition, seed {}, {:.0} s simulated in {:.0} s",
        report.policy, report.kind, report.episodes, report.seed, report.simulated_s, report.wall_s
    );
    println!();
    print!("{}", report.table());
    println!();
    println!(
        "{} of {} conditions meet the criteria (early terminations ≤ {:.0} %, body position error ≤ {:.0} cm, anchor orientation error ≤ {:.0}°)",
        report.passed,
        report.conditions.len(),
        100.0 * cfg.criteria.max_early_termination_rate,
        100.0 * cfg.criteria.max_body_pos_err_m,
        cfg.criteria.max_anchor_ori_err_deg
    );
    Ok(())
}
