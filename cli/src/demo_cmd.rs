//! `g1d demo`: the main job of `make demo`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::drive_cmd::{cmd_drive, DriveArgs};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Model directory (default: the shipped model, assets/models/default).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory: `top_view.png`, `log.csv`, the rosbag2 `bag/` and the 3-D clip
    /// `demo.gif`.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Replace the outputs of a previous run in `--out` (refused otherwise; `make demo` passes
    /// it).
    #[arg(long)]
    pub force: bool,
    /// Skip the 3-D clip (`demo.gif`, rendered offscreen from the bag; about a minute on two
    /// cores).
    #[arg(long)]
    pub no_video: bool,
    /// Watch the run in a 3-D window as it is computed (needs a display).
    #[arg(long)]
    pub view: bool,
}

/// `g1d demo`: the main job — the simulated G1 under the diffusion controller (shipped model)
/// walks to the waypoint [4, 0] m through the obstacle course of `config/scene_forest.yaml`
/// (eval scenario `forest_a`), with progress lines, the outcome, a bag and a top-view PNG.
pub fn cmd_demo(a: DemoArgs) -> Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = a
        .model
        .unwrap_or_else(|| g1_sim::default_assets_dir().join("models/default"));
    let outputs = ["bag", "top_view.png", "log.csv", "demo.gif"].map(|f| a.out.join(f));
    let existing: Vec<String> = outputs
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !a.force {
        anyhow::bail!(
            "{} exist from an earlier run; pass --force to replace them (or --out another folder)",
            existing.join(", ")
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let bag = a.out.join("bag");
    if bag.exists() {
        std::fs::remove_dir_all(&bag)
            .with_context(|| format!("replacing the previous demo bag {}", bag.display()))?;
    }
    eprintln!(
        "g1d demo: the diffusion controller ({}) walks the simulated G1 to [4, 0] m around 3 obstacles, {} s",
        model.display(),
        a.seconds
    );
    let video = a.out.join("demo.gif");
    if video.exists() {
        std::fs::remove_file(&video).with_context(|| format!("replacing {}", video.display()))?;
    }
    cmd_drive(DriveArgs {
        model,
        goal: Some([4.0, 0.0]),
        joystick: None,
        seconds: a.seconds,
        seed: a.seed,
        sim_config: Some(repo.join("config/scene_forest.yaml")),
        pushes: false,
        backend: g1_diffusion::BackendKind::OrtCpu,
        threads: 1,
        guidance_scale: None,
        max_guidance_step: None,
        params: None,
        latency: None,
        planner: None,
        control: None,
        no_rolling: false,
        handover_expert: None,
        handover_command: [0.5, 0.0, 0.0],
        handover_s: 2.0,
        png: Some(a.out.join("top_view.png")),
        log: Some(a.out.join("log.csv")),
        bag: Some(bag.clone()),
        view: a.view,
        progress_s: 1.0,
        json: false,
    })?;
    if !a.no_video {
        let tl = g1_viewer::Timeline::from_bag(&bag)?;
        let opts = g1_viewer::ViewOptions {
            width: 640,
            height: 480,
            ..crate::view_cmd::view_options(None)?
        };
        let fps = 10;
        let bar = crate::progress::progress_bar(
            g1_viewer::render::frame_count(tl.duration(), fps as f64) as u64,
            "frames",
        );
        bar.set_message("rendering the 3-D clip");
        g1_viewer::render_video(&tl, &video, fps, &opts, |done, _| {
            bar.set_position(done as u64)
        })?;
        bar.finish_and_clear();
        println!("{:<14}{}", "clip", video.display());
    }
    Ok(())
}
