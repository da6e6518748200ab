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
    /// Output directory: `top_view.png`, `log.csv` and the rosbag2 `bag/`.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Replace the outputs of a previous run in `--out` (refused otherwise; `make demo` passes
    /// it).
    #[arg(long)]
    pub force: bool,
}

/// `g1d demo`: the main job — the simulated G1 under the diffusion controller (shipped model)
/// walks to the waypoint [4, 0] m through the obstacle course of `config/scene_forest.yaml`
/// (eval scenario `forest_a`), with progress lines, the outcome, a bag and a top-view PNG.
pub fn cmd_demo(a: DemoArgs) -> Result<()> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = a
        .model
        .unwrap_or_else(|| g1_sim::default_assets_dir().join("models/default"));
    let outputs = ["bag", "top_view.png", "log.csv"].map(|f| a.out.join(f));
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
        bag: Some(bag),
        progress_s: 1.0,
        json: false,
    })
}
