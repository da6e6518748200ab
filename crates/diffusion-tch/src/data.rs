//! Training data: windows of a g1d dataset, split by episode, normalised, mirrored and noised.

use std::path::Path;

use anyhow::{bail, Context, Result};
use g1::mirror::JointMirror;
use g1::{StateLayout, NUM_JOINTS};
use g1_data::dataset::Dataset;
use g1_diffusion::tokens::{action_is_history, state_is_history};
use g1_diffusion::{Schedule, Stats, ACTION_LOSS_STEPS, HISTORY, HORIZON, STEPS};
use rand::Rng;
use rand_distr::StandardNormal;

/// A dataset opened for training.
pub struct TrainData {
    pub ds: Dataset,
    pub stats: Stats,
    pub sha256: String,
    pub hours: f64,
    /// Window indices (into the dataset's window table) of the training and validation splits.
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub val_episode_ids: Vec<i64>,
    pub action_offset: Vec<f64>,
    pub action_scale: Vec<f64>,
    pub dataset_mirrored: bool,
    /// The dataset's state representation (its width is `layout.dim()`).
    pub layout: StateLayout,
}

/// SplitMix64: a fixed, seedable hash for the episode split.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl TrainData {
    /// Opens `path`, checks it (layout, dimensions, finite values) and splits its episodes
    /// (an episode and its mirror image always land in the same split).
    pub fn open(path: &Path, val_fraction: f64, seed: u64) -> Result<Self> {
        if !(0.0..0.5).contains(&val_fraction) {
            bail!("validation fraction {val_fraction} must be in [0, 0.5)");
        }
        let ds = Dataset::open(path)?;
        let m = &ds.meta;
        let layout = ds.layout;
        let sd = layout.dim();
        for (key, want) in [
            ("state_dim", sd),
            ("action_dim", NUM_JOINTS),
            ("history", HISTORY),
            ("horizon", HORIZON),
        ] {
            if m[key].as_u64() != Some(want as u64) {
                bail!(
                    "{}: dataset {key} is {} (this model needs {want})",
                    path.display(),
                    m[key]
                );
            }
        }
        let state_mean = ds.f64s("state_mean")?;
        let state_std = ds.f64s("state_std")?;
        let action_mean = ds.f64s("action_mean")?;
        let action_std = ds.f64s("action_std")?;
        let stats = Stats {
            state_mean,
            state_std,
            action_mean,
            action_std,
        };
        stats
            .check(sd, NUM_JOINTS)
            .with_context(|| format!("{}: bad normalisation statistics", path.display()))?;
        let (n_state_values, bad) = ds.scan_f32("states")?;
        if n_state_values % sd != 0 {
            bail!(
                "{}: states tensor is not a multiple of {sd} wide",
                path.display()
            );
        }
        if let Some(i) = bad {
            bail!(
                "{}: NaN or Inf in states (step {}, index {})",
                path.display(),
                i / sd,
                i % sd
            );
        }
        let (n_action_values, bad) = ds.scan_f32("actions")?;
        if let Some(i) = bad {
            bail!(
                "{}: NaN or Inf in actions (step {}, joint {})",
                path.display(),
                i / NUM_JOINTS,
                i % NUM_JOINTS
            );
        }
        let rows = n_state_values / sd;
        if n_action_values / NUM_JOINTS != rows {
            bail!(
                "{}: {} action rows for {} state rows",
                path.display(),
                n_action_values / NUM_JOINTS,
                rows
            );
        }
        let windows = ds.i64s("windows")?;
        let offsets = ds.i64s("episode_offsets")?;
        let ids = ds.i64s("episode_ids")?;
        if windows.is_empty() {
            bail!("{}: dataset has no training windows", path.display());
        }
        let mut unique: Vec<i64> = ids.clone();
        unique.sort();
        unique.dedup();
        let mut val_ids: Vec<i64> = unique
            .iter()
            .copied()
            .filter(|&id| (mix(seed ^ mix(id as u64)) % 1_000_000) as f64 / 1e6 < val_fraction)
            .collect();
        if val_ids.is_empty() && val_fraction > 0.0 && unique.len() > 1 {
            val_ids.push(unique[(mix(seed) % unique.len() as u64) as usize]);
        }
        let (mut train, mut val) = (vec![], vec![]);
        for (w, &t) in windows.iter().enumerate() {
            // Episode e spans steps [offsets[e], offsets[e+1]).
            let e = offsets.partition_point(|&o| o <= t).wrapping_sub(1);
            if e >= ids.len() {
                bail!(
                    "{}: window at step {t} lies outside every episode",
                    path.display()
                );
            }
            if val_ids.binary_search(&ids[e]).is_ok() {
                val.push(w);
            } else {
                train.push(w);
            }
        }
        if train.is_empty() {
            bail!(
                "{}: every episode fell into the validation split",
                path.display()
            );
        }
        let f64s = |k: &str| -> Vec<f64> {
            m[k].as_array()
                .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                .unwrap_or_default()
        };
        let hours = rows as f64 * m["control_dt_s"].as_f64().unwrap_or(0.02) / 3600.0;
        Ok(Self {
            sha256: g1_data::collect::sha256_file(path)?,
            stats,
            hours,
            train,
            val,
            val_episode_ids: val_ids,
            action_offset: f64s("action_offset"),
            action_scale: f64s("action_scale"),
            dataset_mirrored: m["mirror"].as_bool().unwrap_or(false),
            layout,
            ds,
        })
    }

    /// Window `w` normalised: (states [STEPS·S], actions [STEPS·A]); mirrored if asked.
    pub fn normalised_window(
        &self,
        w: usize,
        mirror: bool,
        jm: &JointMirror,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let (states, actions) = self.ds.window(w)?;
        let sd = self.layout.dim();
        let mut s = vec![0.0f32; STEPS * sd];
        let mut a = vec![0.0f32; STEPS * NUM_JOINTS];
        for i in 0..STEPS {
            let st: Vec<f32> = if mirror {
                let d: Vec<f64> = states[i].iter().map(|v| *v as f64).collect();
                self.layout.mirror(&d).iter().map(|v| *v as f32).collect()
            } else {
                states[i].clone()
            };
            let ac: [f32; NUM_JOINTS] = if mirror {
                let d: [f64; NUM_JOINTS] = std::array::from_fn(|k| actions[i][k] as f64);
                let m = jm.apply(&d);
                std::array::from_fn(|k| m[k] as f32)
            } else {
                actions[i]
            };
            self.stats.norm_state(&st, &mut s[i * sd..(i + 1) * sd]);
            self.stats
                .norm_action(&ac, &mut a[i * NUM_JOINTS..(i + 1) * NUM_JOINTS]);
        }
        Ok((s, a))
    }
}

/// A training or validation batch: clean targets, noisy inputs and levels (row-major).
pub struct Batch {
    pub size: usize,
    pub x0_states: Vec<f32>,
    pub x0_actions: Vec<f32>,
    pub states: Vec<f32>,
    pub actions: Vec<f32>,
    pub k_states: Vec<i64>,
    pub k_actions: Vec<i64>,
}

/// How noise levels are drawn per sample.
#[derive(Debug, Clone, Copy)]
pub struct NoiseOptions {
    /// Probability that a sample gets an independent level per token (diffusion-forcing style,
    /// for rolling inference); otherwise one level for all planned states and one for all
    /// planned actions, drawn independently.
    pub per_token_prob: f64,
}

/// Builds a batch from windows `ws`; the history is clean (level 0) and the rest noised.
pub fn make_batch<R: Rng>(
    data: &TrainData,
    ws: &[usize],
    mirror_prob: f64,
    noise: NoiseOptions,
    schedule: &Schedule,
    rng: &mut R,
) -> Result<Batch> {
    let jm = JointMirror::new();
    let (sd, ad) = (data.layout.dim(), NUM_JOINTS);
    let n = ws.len();
    let mut b = Batch {
        size: n,
        x0_states: Vec::with_capacity(n * STEPS * sd),
        x0_actions: Vec::with_capacity(n * STEPS * ad),
        states: vec![0.0; n * STEPS * sd],
        actions: vec![0.0; n * STEPS * ad],
        k_states: vec![0; n * STEPS],
        k_actions: vec![0; n * STEPS],
    };
    let kmax = schedule.k_steps as i64;
    for (bi, &w) in ws.iter().enumerate() {
        let mirror = mirror_prob > 0.0 && rng.gen_bool(mirror_prob);
        let (s, a) = data.normalised_window(w, mirror, &jm)?;
        b.x0_states.extend_from_slice(&s);
        b.x0_actions.extend_from_slice(&a);
        let per_token = rng.gen_bool(noise.per_token_prob);
        let ks_all = rng.gen_range(1..=kmax);
        let ka_all = rng.gen_range(1..=kmax);
        for i in 0..STEPS {
            let r = bi * STEPS + i;
            let ks = if state_is_history(i, HISTORY) {
                0
            } else if per_token {
                rng.gen_range(1..=kmax)
            } else {
                ks_all
            };
            let ka = if action_is_history(i, HISTORY) {
                0
            } else if per_token {
                rng.gen_range(1..=kmax)
            } else {
                ka_all
            };
            b.k_states[r] = ks;
            b.k_actions[r] = ka;
            let (c0, cn) = schedule.forward_coefs(ks as usize);
            for d in 0..sd {
                let x0 = s[i * sd + d] as f64;
                let e: f64 = if ks > 0 {
                    rng.sample(StandardNormal)
                } else {
                    0.0
                };
                b.states[r * sd + d] = (c0 * x0 + cn * e) as f32;
            }
            let (c0, cn) = schedule.forward_coefs(ka as usize);
            for d in 0..ad {
                let x0 = a[i * ad + d] as f64;
                let e: f64 = if ka > 0 {
                    rng.sample(StandardNormal)
                } else {
                    0.0
                };
                b.actions[r * ad + d] = (c0 * x0 + cn * e) as f32;
            }
        }
    }
    Ok(b)
}

/// Loss weights per step: planned states (steps HISTORY+1 …), and the first
/// `ACTION_LOSS_STEPS` planned actions (steps HISTORY … HISTORY+7).
pub fn loss_masks() -> (Vec<f32>, Vec<f32>) {
    let ms = (0..STEPS)
        .map(|i| {
            if state_is_history(i, HISTORY) {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    let ma = (0..STEPS)
        .map(|i| {
            if (HISTORY..HISTORY + ACTION_LOSS_STEPS).contains(&i) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    (ms, ma)
}
