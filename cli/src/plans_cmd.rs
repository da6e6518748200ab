//! `g1d model plans`: unguided plans from held-out recorded histories against the recorded
//! futures, with a constant-velocity extrapolation baseline.

use std::path::PathBuf;

use anyhow::{bail, Result};
use g1_diffusion::{Schedule, STEPS};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::model_cmd::real_sequence;

#[derive(clap::Args)]
pub struct PlansArgs {
    /// Model directory (manifest.json + denoiser.onnx).
    model: PathBuf,
    /// The dataset the model was trained on (its held-out episodes are used).
    #[arg(long)]
    data: PathBuf,
    /// Held-out windows to plan from.
    #[arg(long, default_value_t = 200)]
    windows: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Inference backend: ort-cpu, ort-cuda, ort-tensorrt, torch-cpu, torch-cuda.
    #[arg(long, default_value = "ort-cpu")]
    pub backend: g1_diffusion::BackendKind,
    /// Intra-op threads of the backend.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct PlansReport {
    model: String,
    backend: String,
    windows: usize,
    horizon_steps: usize,
    model_root_error_m: Stat,
    constant_velocity_root_error_m: Stat,
    model_over_baseline: f64,
    model_first_action_rmse: f64,
    hold_action_rmse: f64,
    plans_per_s: f64,
}

#[derive(serde::Serialize)]
struct Stat {
    mean: f64,
    median: f64,
    p90: f64,
}

fn stat(v: &mut [f64]) -> Stat {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Stat {
        mean: v.iter().sum::<f64>() / v.len() as f64,
        median: q(0.5),
        p90: q(0.9),
    }
}

pub fn cmd_plans(a: PlansArgs) -> Result<()> {
    let (m, mut net) = crate::torch::open_backend(&a.model, a.backend, a.threads)?;
    if a.windows == 0 {
        bail!("--windows must be at least 1");
    }
    let ds = g1_data::dataset::Dataset::open(&a.data)?;
    let windows = ds.i64s("windows")?;
    let offsets = ds.i64s("episode_offsets")?;
    let ids = ds.i64s("episode_ids")?;
    let held_out = &m.training_data.val_episode_ids;
    let mut cand: Vec<usize> = (0..windows.len())
        .filter(|&w| {
            let e = offsets.partition_point(|&o| o <= windows[w]) - 1;
            held_out.contains(&ids[e])
        })
        .collect();
    if cand.is_empty() {
        bail!(
            "{}: none of the model's held-out episodes ({} ids) are in this dataset",
            a.data.display(),
            held_out.len()
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    cand.shuffle(&mut rng);
    cand.truncate(a.windows);
    let sched = Schedule::cosine(m.config.k_steps);
    let (sd, ad, h) = (m.state_dim, m.action_dim, m.history);
    let dt = 1.0 / m.control_hz;
    let last = STEPS - 1;
    let (mut e_model, mut e_cv, mut a_model, mut a_hold) = (vec![], vec![], 0.0, 0.0);
    let clock = std::time::Instant::now();
    for chunk in cand.chunks(50) {
        let truth = real_sequence(&ds, chunk, &m.stats)?;
        let mut seq = truth.clone();
        g1_diffusion::sampler::sample(net.as_mut(), &sched, &mut seq, h, &mut rng)?;
        for b in 0..chunk.len() {
            let phys = |x: &[f32]| -> Vec<f32> {
                let mut o = vec![0.0; sd];
                m.stats.denorm_state(x, &mut o);
                o
            };
            let pred = phys(seq.state(b, last));
            let rec = phys(truth.state(b, last));
            let now = phys(truth.state(b, h));
            let horizon_s = (last - h) as f64 * dt;
            let cv = [
                now[0] as f64 + now[6] as f64 * horizon_s,
                now[1] as f64 + now[7] as f64 * horizon_s,
            ];
            let err =
                |x: f64, y: f64| ((x - rec[0] as f64).powi(2) + (y - rec[1] as f64).powi(2)).sqrt();
            e_model.push(err(pred[0] as f64, pred[1] as f64));
            e_cv.push(err(cv[0], cv[1]));
            // First planned action a_t against the recorded one, and against holding a_{t−1}.
            let mut pa = vec![0.0; ad];
            let mut ra = vec![0.0; ad];
            let mut prev = vec![0.0; ad];
            m.stats.denorm_action(seq.action(b, h), &mut pa);
            m.stats.denorm_action(truth.action(b, h), &mut ra);
            m.stats.denorm_action(truth.action(b, h - 1), &mut prev);
            for j in 0..ad {
                let s = m.action_scale[j];
                a_model += ((pa[j] - ra[j]) as f64 * s).powi(2);
                a_hold += ((prev[j] - ra[j]) as f64 * s).powi(2);
            }
        }
    }
    let n = e_model.len();
    let wall = clock.elapsed().as_secs_f64();
    let mm = e_model.iter().sum::<f64>() / n as f64;
    let mc = e_cv.iter().sum::<f64>() / n as f64;
    let r = PlansReport {
        model: a.model.display().to_string(),
        backend: net.backend(),
        windows: n,
        horizon_steps: last - h,
        model_root_error_m: stat(&mut e_model),
        constant_velocity_root_error_m: stat(&mut e_cv),
        model_over_baseline: mm / mc,
        model_first_action_rmse: (a_model / (n * ad) as f64).sqrt(),
        hold_action_rmse: (a_hold / (n * ad) as f64).sqrt(),
        plans_per_s: n as f64 / wall,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} held-out windows, root position after {} steps ({:.2} s):",
            n,
            r.horizon_steps,
            r.horizon_steps as f64 * dt
        );
        println!(
            "  diffusion plan          mean {:.3} m  median {:.3} m  p90 {:.3} m",
            r.model_root_error_m.mean, r.model_root_error_m.median, r.model_root_error_m.p90
        );
        println!(
            "  constant velocity       mean {:.3} m  median {:.3} m  p90 {:.3} m",
            r.constant_velocity_root_error_m.mean,
            r.constant_velocity_root_error_m.median,
            r.constant_velocity_root_error_m.p90
        );
        println!("  model / baseline        {:.2}", r.model_over_baseline);
        println!(
            "first action (q target)   RMSE {:.3} rad (holding the last action: {:.3} rad)",
            r.model_first_action_rmse, r.hold_action_rmse
        );
    }
    Ok(())
}
