//! `g1d dataset build`: bags → training windows.

use std::path::PathBuf;

use crate::progress::progress_bar;
use anyhow::{bail, Result};

#[derive(clap::Subcommand)]
pub enum DatasetCommand {
    /// Bags → one memory-mappable safetensors file of training windows (N = 4, H = 16),
    /// with normalisation statistics, a summary and a top-view PNG of root trajectories.
    Build(DatasetBuildArgs),
}

// Each bool is an independent command-line flag.
#[allow(clippy::struct_excessive_bools)]
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
    /// State representation: `body-pos` (the method's, the default) or `joint-space` (the root,
    /// then joint positions and velocities: the baseline of the state-representation table).
    #[arg(long, default_value = "body-pos")]
    pub state: g1::StateLayout,
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
            layout: a.state,
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
    println!(
        "  per-dimension statistics ({} states, windows as the model sees them):",
        summary.layout
    );
    let local = match summary.layout {
        g1::StateLayout::BodyPos => [
            ("body positions", layout::BODY_POS),
            ("body velocities", layout::BODY_VEL),
        ],
        g1::StateLayout::JointSpace => [
            ("joint positions", g1::state::JOINT_POS),
            ("joint velocities", g1::state::JOINT_VEL),
        ],
    };
    for (name, r) in [
        ("root position", layout::ROOT_POS),
        ("root rotation vector", layout::ROOT_ROTVEC),
        ("root linear velocity", layout::ROOT_LIN_VEL),
        ("root angular velocity", layout::ROOT_ANG_VEL),
    ]
    .into_iter()
    .chain(local)
    {
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
