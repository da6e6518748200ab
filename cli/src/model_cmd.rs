//! `g1d model check`: an exported model against this robot, ONNX Runtime against libtorch.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use g1_diffusion::checkpoint::CHECKPOINT_FILE;
use g1_diffusion::manifest::Manifest;
use g1_diffusion::{Checkpoint, Denoiser, OrtDenoiser, OrtDevice, Schedule, Sequence, STEPS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::plans_cmd::PlansArgs;

#[derive(clap::Subcommand)]
pub enum ModelCommand {
    /// Check an exported model: manifest against this robot, ONNX Runtime against libtorch on
    /// random and real inputs (fails above --tolerance).
    Check(CheckArgs),
    /// Unguided plans from held-out recorded histories against the recorded futures, with a
    /// constant-velocity extrapolation baseline.
    Plans(PlansArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Model directory (manifest.json + denoiser.onnx).
    model: PathBuf,
    /// Training checkpoint (or directory) whose EMA weights libtorch runs (default: the model
    /// directory's weights.safetensors).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Dataset for real inputs (windows noised as in training).
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f64,
    /// Write the inputs and both backends' outputs as raw little-endian files (for
    /// scripts/check_onnx_python.py).
    #[arg(long)]
    dump: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn write_raw<T: Copy>(path: &Path, v: &[T], to_bytes: impl Fn(T) -> Vec<u8>) -> Result<()> {
    let bytes: Vec<u8> = v.iter().flat_map(|x| to_bytes(*x)).collect();
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Normalised clean windows of `ws` as a batch, plus the window indices used.
pub(crate) fn real_sequence(
    ds: &g1_data::dataset::Dataset,
    ws: &[usize],
    stats: &g1_diffusion::Stats,
) -> Result<Sequence> {
    let (sd, ad) = (ds.layout.dim(), g1::NUM_JOINTS);
    if stats.state_mean.len() != sd {
        bail!(
            "the dataset's states are {} ({sd} numbers); the model's have {}",
            ds.layout,
            stats.state_mean.len()
        );
    }
    let mut seq = Sequence::zeros(ws.len(), sd, ad);
    for (b, &w) in ws.iter().enumerate() {
        let (s, a) = ds.window(w)?;
        for i in 0..STEPS {
            let r = b * STEPS + i;
            stats.norm_state(&s[i], &mut seq.states[r * sd..(r + 1) * sd]);
            stats.norm_action(&a[i], &mut seq.actions[r * ad..(r + 1) * ad]);
        }
    }
    Ok(seq)
}

pub fn cmd_check(a: CheckArgs) -> Result<()> {
    let (m, onnx) = Manifest::load(&a.model)?;
    let (ck_path, prefix) = match &a.checkpoint {
        Some(p) if p.is_dir() => (p.join(CHECKPOINT_FILE), "ema"),
        Some(p) => (p.clone(), "ema"),
        None => (m.weights_path(&a.model), "model"),
    };
    let ck = Checkpoint::load(&ck_path)?;
    if ck.meta.config != m.config {
        bail!(
            "checkpoint {} is configuration {}, the model {}",
            ck_path.display(),
            ck.meta.config.name,
            m.config.name
        );
    }
    let mut ort = OrtDenoiser::load(&onnx, OrtDevice::Cpu, 1, m.state_dim, m.action_dim)?;
    let mut torch = crate::torch::weights_denoiser(&m.config, &ck.weights(prefix), false, 1)?;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Random inputs at random levels.
    let rand_seq = Sequence::random(
        4,
        m.state_dim,
        m.action_dim,
        m.config.k_steps as i64,
        &mut rng,
    );
    let pr_o = ort.denoise(&rand_seq)?;
    let pr_t = torch.denoise(&rand_seq)?;
    let d_rand = pr_o.max_abs_diff(&pr_t) as f64;
    // Real windows: clean history, planned tokens noised to random levels.
    let mut d_real = None;
    let mut real = None;
    if let Some(data) = &a.data {
        let ds = g1_data::dataset::Dataset::open(data)?;
        let n = ds.num_windows();
        let ws: Vec<usize> = (0..8).map(|_| rng.gen_range(0..n)).collect();
        let mut seq = real_sequence(&ds, &ws, &m.stats)?;
        let sched = Schedule::cosine(m.config.k_steps);
        let clean = seq.clone();
        g1_diffusion::sampler::noise_future(&mut seq, &sched, m.history, &mut rng);
        for b in 0..seq.batch {
            let k = rng.gen_range(1..=m.config.k_steps);
            let (c0, cn) = sched.forward_coefs(k);
            for i in m.history + 1..STEPS {
                let r = b * STEPS + i;
                seq.k_states[r] = k as i64;
                for d in r * m.state_dim..(r + 1) * m.state_dim {
                    seq.states[d] =
                        (c0 * clean.states[d] as f64 + cn * seq.states[d] as f64) as f32;
                }
            }
            for i in m.history..STEPS {
                let r = b * STEPS + i;
                seq.k_actions[r] = k as i64;
                for d in r * m.action_dim..(r + 1) * m.action_dim {
                    seq.actions[d] =
                        (c0 * clean.actions[d] as f64 + cn * seq.actions[d] as f64) as f32;
                }
            }
        }
        let po = ort.denoise(&seq)?;
        let pt = torch.denoise(&seq)?;
        d_real = Some(po.max_abs_diff(&pt) as f64);
        real = Some((seq, po, pt));
    }
    if let Some(dir) = &a.dump {
        std::fs::create_dir_all(dir)?;
        let (seq, po, pt) = real
            .as_ref()
            .map_or((&rand_seq, &pr_o, &pr_t), |(s, o, t)| (s, o, t));
        let f = |x: f32| x.to_le_bytes().to_vec();
        write_raw(&dir.join("states.f32"), &seq.states, f)?;
        write_raw(&dir.join("actions.f32"), &seq.actions, f)?;
        write_raw(&dir.join("k_states.i64"), &seq.k_states, |x: i64| {
            x.to_le_bytes().to_vec()
        })?;
        write_raw(&dir.join("k_actions.i64"), &seq.k_actions, |x: i64| {
            x.to_le_bytes().to_vec()
        })?;
        write_raw(&dir.join("ort_states_x0.f32"), &po.states, f)?;
        write_raw(&dir.join("ort_actions_x0.f32"), &po.actions, f)?;
        write_raw(&dir.join("torch_states_x0.f32"), &pt.states, f)?;
        write_raw(&dir.join("torch_actions_x0.f32"), &pt.actions, f)?;
        let shapes = serde_json::json!({
            "batch": seq.batch, "steps": STEPS, "state_dim": seq.state_dim, "action_dim": seq.action_dim,
            "onnx": onnx.canonicalize()?.display().to_string(),
        });
        std::fs::write(dir.join("shapes.json"), shapes.to_string())?;
    }
    let worst = d_rand.max(d_real.unwrap_or(0.0));
    let report = serde_json::json!({
        "model": a.model.display().to_string(),
        "config": m.config.name,
        "manifest_ok": true,
        "max_abs_diff_random": d_rand,
        "max_abs_diff_real": d_real,
        "tolerance": a.tolerance,
        "ok": worst <= a.tolerance,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "manifest      ok ({} , layout v{}, {} joints)",
            m.config.name,
            m.state_layout_version,
            m.joint_names.len()
        );
        println!("ORT vs torch  max |Δ| {d_rand:.2e} on random inputs");
        if let Some(d) = d_real {
            println!("ORT vs torch  max |Δ| {d:.2e} on real windows");
        }
    }
    if worst > a.tolerance {
        bail!(
            "ONNX Runtime and libtorch differ by {worst:.3e} (> {:.1e})",
            a.tolerance
        );
    }
    Ok(())
}
