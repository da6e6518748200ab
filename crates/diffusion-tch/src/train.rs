//! `g1d train`: AdamW with warm-up and cosine decay, EMA weights, gradient clipping, mirror
//! augmentation, a validation split, atomic checkpoints and exact resume, a CSV log and a PNG
//! of the loss curves.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use g1_diffusion::checkpoint::{CheckpointMeta, DataInfo, CHECKPOINT_FORMAT, CHECKPOINT_VERSION};
use g1_diffusion::{Checkpoint, ModelConfig, ModelSize, Schedule, STEPS};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use crate::data::{loss_masks, make_batch, Batch, NoiseOptions, TrainData};
use crate::model::{export_vars, import_vars, to_host, Net};

pub use g1_diffusion::checkpoint::CHECKPOINT_FILE;
pub const LOG_FILE: &str = "train_log.csv";
pub const PLOT_FILE: &str = "loss.png";
pub const SUMMARY_FILE: &str = "train_summary.json";

/// Everything `g1d train` can be told. `defaults(config)` gives the named configuration's values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub min_lr_ratio: f64,
    pub warmup: usize,
    pub weight_decay: f64,
    pub ema_decay: f64,
    pub grad_clip: f64,
    /// Probability of mirroring a window (left/right) on the fly.
    pub mirror_prob: f64,
    pub per_token_noise_prob: f64,
    pub val_fraction: f64,
    /// Validation windows evaluated (fixed noise, same set every time).
    pub val_windows: usize,
    pub val_every: usize,
    pub log_every: usize,
    pub checkpoint_every: usize,
    pub seed: u64,
    pub threads: usize,
    /// Fine-tune: start from this checkpoint's EMA weights and keep its normalisation
    /// statistics (the network was trained in those units), instead of a random start.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
}

impl TrainOptions {
    pub fn defaults(size: ModelSize) -> Self {
        let base = Self {
            steps: 20_000,
            batch: 64,
            lr: 5e-4,
            min_lr_ratio: 0.05,
            warmup: 500,
            weight_decay: 1e-3,
            ema_decay: 0.999,
            grad_clip: 1.0,
            mirror_prob: 0.5,
            per_token_noise_prob: 0.25,
            val_fraction: 0.05,
            val_windows: 512,
            val_every: 500,
            log_every: 50,
            checkpoint_every: 500,
            seed: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            init_from: None,
        };
        match size {
            ModelSize::Tiny => Self {
                steps: 300,
                batch: 32,
                lr: 1e-3,
                warmup: 30,
                ema_decay: 0.98,
                val_windows: 128,
                val_every: 100,
                log_every: 10,
                checkpoint_every: 100,
                ..base
            },
            ModelSize::Small => base,
            // Diffuse-CLoC: AdamW lr 1e-4, weight decay 1e-3, 10k warm-up.
            ModelSize::Paper => Self {
                steps: 200_000,
                batch: 256,
                lr: 1e-4,
                warmup: 10_000,
                ema_decay: 0.9999,
                val_every: 2000,
                checkpoint_every: 2000,
                ..base
            },
        }
    }

    pub fn check(&self) -> Result<()> {
        let bad = |k: &str, why: &str| bail!("train option {k}: {why}");
        if self.steps == 0 {
            return bad("steps", "must be positive");
        }
        if self.batch == 0 {
            return bad("batch", "must be positive");
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return bad("lr", "must be in (0, 1)");
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return bad("min_lr_ratio", "must be in [0, 1]");
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return bad("ema_decay", "must be in [0, 1)");
        }
        if self.grad_clip <= 0.0 {
            return bad("grad_clip", "must be positive");
        }
        if !(0.0..=1.0).contains(&self.mirror_prob)
            || !(0.0..=1.0).contains(&self.per_token_noise_prob)
        {
            return bad("mirror_prob/per_token_noise_prob", "must be probabilities");
        }
        if self.val_every == 0 || self.log_every == 0 || self.checkpoint_every == 0 {
            return bad("val_every/log_every/checkpoint_every", "must be positive");
        }
        Ok(())
    }

    /// Learning rate at `step`: linear warm-up, then cosine decay to `min_lr_ratio · lr`.
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        let span = (self.steps.saturating_sub(self.warmup)).max(1) as f64;
        let p = ((step - self.warmup) as f64 / span).min(1.0);
        let m = self.min_lr_ratio;
        self.lr * (m + (1.0 - m) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos()))
    }
}

/// What a run reports at the end (also written to `train_summary.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    pub config: String,
    pub parameters: usize,
    pub steps: usize,
    pub resumed_from: Option<usize>,
    pub device: String,
    pub threads: usize,
    pub wall_s: f64,
    pub steps_per_s: f64,
    pub initial_val_loss: f64,
    pub final_val_loss: f64,
    pub val_loss_ratio: f64,
    pub train_windows: usize,
    pub val_windows: usize,
    pub data_sha256: String,
    pub checkpoint: PathBuf,
}

struct Optim {
    names: Vec<String>,
    params: Vec<Tensor>,
    ema: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    decay: Vec<bool>,
}

fn sorted_vars(vs: &nn::VarStore) -> (Vec<String>, Vec<Tensor>) {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter().unzip()
}

/// Validation loss of `net` on a fixed batch list (no dropout).
fn evaluate(
    net: &Net,
    batches: &[Batch],
    masks: &(Tensor, Tensor),
    device: Device,
) -> (f64, f64, f64) {
    let (mut tot, mut ts, mut ta, mut n) = (0.0, 0.0, 0.0, 0usize);
    tch::no_grad(|| {
        for b in batches {
            let t = BatchTensors::new(b, device);
            let (ls, la) = t.losses(net, masks, false);
            let (ls, la) = (ls.double_value(&[]), la.double_value(&[]));
            tot += (ls + la) * b.size as f64;
            ts += ls * b.size as f64;
            ta += la * b.size as f64;
            n += b.size;
        }
    });
    let n = n.max(1) as f64;
    (tot / n, ts / n, ta / n)
}

struct BatchTensors {
    x0s: Tensor,
    x0a: Tensor,
    s: Tensor,
    a: Tensor,
    ks: Tensor,
    ka: Tensor,
}

impl BatchTensors {
    fn new(b: &Batch, device: Device) -> Self {
        let n = b.size as i64;
        let st = STEPS as i64;
        let sd = (b.x0_states.len() / (b.size * STEPS)) as i64;
        let ad = (b.x0_actions.len() / (b.size * STEPS)) as i64;
        let f = |v: &[f32], d: i64| Tensor::from_slice(v).view([n, st, d]).to_device(device);
        Self {
            x0s: f(&b.x0_states, sd),
            x0a: f(&b.x0_actions, ad),
            s: f(&b.states, sd),
            a: f(&b.actions, ad),
            ks: Tensor::from_slice(&b.k_states)
                .view([n, st])
                .to_device(device),
            ka: Tensor::from_slice(&b.k_actions)
                .view([n, st])
                .to_device(device),
        }
    }

    /// (state x0-MSE over planned states, action x0-MSE over the first 8 planned actions).
    fn losses(&self, net: &Net, masks: &(Tensor, Tensor), train: bool) -> (Tensor, Tensor) {
        let (ps, pa) = net.forward(&self.s, &self.a, &self.ks, &self.ka, train);
        let (ms, ma) = masks;
        let n = self.s.size()[0] as f64;
        let es = (ps - &self.x0s).square() * ms;
        let ea = (pa - &self.x0a).square() * ma;
        let ds = self.x0s.size()[2] as f64;
        let da = self.x0a.size()[2] as f64;
        let ns = ms.sum(Kind::Float).double_value(&[]) * n * ds;
        let na = ma.sum(Kind::Float).double_value(&[]) * n * da;
        (es.sum(Kind::Float) / ns, ea.sum(Kind::Float) / na)
    }
}

fn seeded_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Trains `config` on `data_path` into `out`. With `resume`, continues from
/// `out/checkpoint.safetensors` (same configuration and data required) and reproduces the
/// uninterrupted run's batches.
/// `stop_after`: end (with a checkpoint) after this many steps of this invocation, as if
/// interrupted — for time-boxed sessions and resume tests; the schedule still spans `opts.steps`.
pub fn train(
    data_path: &Path,
    config: &ModelConfig,
    opts: &TrainOptions,
    out: &Path,
    device: Device,
    resume: bool,
    stop_after: Option<usize>,
    code_revision: &str,
    progress: bool,
) -> Result<TrainSummary> {
    opts.check()?;
    config.validate()?;
    tch::set_num_threads(opts.threads.max(1) as i32);
    tch::set_num_interop_threads(1);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let ck_path = out.join(CHECKPOINT_FILE);
    let mut data = TrainData::open(data_path, opts.val_fraction, opts.seed)?;
    // The state width is the dataset's layout's (Body-Pos or joint space).
    let config = &ModelConfig {
        state_dim: data.layout.dim(),
        ..config.clone()
    };
    if data.val.is_empty() {
        bail!(
            "{}: no validation windows (too few episodes for val_fraction {})",
            data_path.display(),
            opts.val_fraction
        );
    }
    let mirror_prob = if data.dataset_mirrored {
        0.0
    } else {
        opts.mirror_prob
    };
    let schedule = Schedule::cosine(config.k_steps);
    let noise = NoiseOptions {
        per_token_prob: opts.per_token_noise_prob,
    };

    tch::manual_seed(opts.seed as i64);
    let mut vs = nn::VarStore::new(device);
    let net = Net::new(&vs.root(), config)?;
    let mut ema_vs = nn::VarStore::new(device);
    let ema_net = Net::new(&ema_vs.root(), config)?;
    let init = export_vars(&vs);
    import_vars(&mut ema_vs, &init, config)?;
    let (names, params) = sorted_vars(&vs);
    let (ema_names, ema) = sorted_vars(&ema_vs);
    assert_eq!(names, ema_names);
    let decay = names
        .iter()
        .zip(&params)
        .map(|(n, p)| p.dim() == 2 && !n.starts_with("noise_") && !n.starts_with("pos."))
        .collect();
    let zeros = |p: &Tensor| p.zeros_like().detach();
    let mut opt = Optim {
        m: params.iter().map(zeros).collect(),
        v: params.iter().map(zeros).collect(),
        names,
        params,
        ema,
        decay,
    };

    if let (Some(p), false) = (&opts.init_from, resume) {
        // A training run's checkpoint (its EMA weights), or an exported model directory (the
        // weights file its manifest names and checks, holding the EMA weights under `model.`
        // with the checkpoint's metadata).
        let (file, prefix) = if p.is_dir() {
            let (m, _) = g1_diffusion::Manifest::load(p)
                .with_context(|| format!("init_from {}", p.display()))?;
            let w = m.weights_path(p);
            g1_diffusion::manifest::verify_sha256(&w, &m.weights_sha256, p)?;
            (w, "model")
        } else {
            (p.clone(), "ema")
        };
        let ck = Checkpoint::load(&file).with_context(|| format!("init_from {}", p.display()))?;
        if ck.meta.config != *config {
            bail!(
                "init_from {}: trained with configuration {}, not {}",
                p.display(),
                ck.meta.config.name,
                config.name
            );
        }
        let same = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
        };
        if !same(&ck.meta.data.action_offset, &data.action_offset)
            || !same(&ck.meta.data.action_scale, &data.action_scale)
        {
            bail!(
                "init_from {}: its action convention (offset/scale) differs from {}",
                p.display(),
                data_path.display()
            );
        }
        if ck.meta.data.state_layout != data.layout {
            bail!(
                "init_from {}: trained on the {} state, {} holds the {} state",
                p.display(),
                ck.meta.data.state_layout.name(),
                data_path.display(),
                data.layout.name()
            );
        }
        let w = ck.weights(prefix);
        import_vars(&mut vs, &w, config)?;
        import_vars(&mut ema_vs, &w, config)?;
        data.stats = ck.meta.stats.clone();
    }

    let mut start = 0usize;
    let mut best: Option<f64> = None;
    let mut initial_val: Option<f64> = None;
    if resume {
        if !ck_path.exists() {
            bail!("--resume: no checkpoint at {}", ck_path.display());
        }
        let ck = Checkpoint::load(&ck_path)?;
        if ck.meta.config != *config {
            bail!(
                "--resume: the checkpoint was trained with configuration {} ({:?}), not {}",
                ck.meta.config.name,
                ck.meta.config,
                config.name
            );
        }
        if ck.meta.data.sha256 != data.sha256 {
            bail!(
                "--resume: the checkpoint was trained on data {} (sha256 {}), --data has sha256 {}",
                ck.meta.data.path,
                ck.meta.data.sha256,
                data.sha256
            );
        }
        import_vars(&mut vs, &ck.weights("model"), config)?;
        import_vars(&mut ema_vs, &ck.weights("ema"), config)?;
        tch::no_grad(|| -> Result<()> {
            for (i, n) in opt.names.iter().enumerate() {
                for (prefix, dst) in [("adam_m", &mut opt.m[i]), ("adam_v", &mut opt.v[i])] {
                    let t = ck
                        .tensors
                        .get(&format!("{prefix}.{n}"))
                        .with_context(|| format!("checkpoint lacks {prefix}.{n}"))?;
                    let shape: Vec<i64> = t.shape.iter().map(|&v| v as i64).collect();
                    dst.copy_(
                        &Tensor::from_slice(&t.data)
                            .view(shape.as_slice())
                            .to_device(device),
                    );
                }
            }
            Ok(())
        })?;
        start = ck.meta.step;
        best = ck.meta.best_val_loss;
        initial_val = ck
            .meta
            .train
            .get("initial_val_loss")
            .and_then(|v| v.as_f64());
        if start >= opts.steps {
            bail!(
                "--resume: the checkpoint is at step {start}, --steps is {}",
                opts.steps
            );
        }
    }

    // Fixed validation batches: the same windows, levels and noise at every evaluation.
    let mut vrng = seeded_rng(opts.seed, 1);
    let mut val_ws = data.val.clone();
    val_ws.shuffle(&mut vrng);
    val_ws.truncate(opts.val_windows.max(1));
    let val_batches: Vec<Batch> = val_ws
        .chunks(opts.batch)
        .map(|c| make_batch(&data, c, 0.0, noise, &schedule, &mut vrng))
        .collect::<Result<_>>()?;
    let (ms, ma) = loss_masks();
    let masks = (
        Tensor::from_slice(&ms)
            .view([1, STEPS as i64, 1])
            .to_device(device),
        Tensor::from_slice(&ma)
            .view([1, STEPS as i64, 1])
            .to_device(device),
    );

    // CSV log (on resume: keep rows up to the checkpoint's step).
    let log_path = out.join(LOG_FILE);
    let header = "step,lr,loss,state_loss,action_loss,grad_norm,val_loss,val_state_loss,val_action_loss,elapsed_s";
    let mut rows: Vec<String> = vec![];
    if resume && log_path.exists() {
        let text = std::fs::read_to_string(&log_path)?;
        rows = text
            .lines()
            .skip(1)
            .filter(|l| {
                l.split(',')
                    .next()
                    .and_then(|s| s.parse::<usize>().ok())
                    .is_some_and(|s| s <= start)
            })
            .map(String::from)
            .collect();
    }
    let mut log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    writeln!(log, "{header}")?;
    for r in &rows {
        writeln!(log, "{r}")?;
    }
    let mut curve_train: Vec<(usize, f64)> = vec![];
    let mut curve_val: Vec<(usize, f64)> = vec![];
    for r in &rows {
        let f: Vec<&str> = r.split(',').collect();
        if let (Ok(s), Ok(l)) = (f[0].parse::<usize>(), f[2].parse::<f64>()) {
            curve_train.push((s, l));
        }
        if let (Ok(s), Some(Ok(v))) = (f[0].parse::<usize>(), f.get(6).map(|x| x.parse::<f64>())) {
            curve_val.push((s, v));
        }
    }

    let initial_val = match initial_val {
        Some(v) => v,
        None => {
            let (v, vs_, va) = evaluate(&ema_net, &val_batches, &masks, device);
            writeln!(log, "0,,,,,,{v},{vs_},{va},0")?;
            curve_val.push((0, v));
            v
        }
    };

    let bar = if progress {
        let b = indicatif::ProgressBar::new(opts.steps as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} steps ({per_sec}, eta {eta}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.set_position(start as u64);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };

    let clock = Instant::now();
    let (mut acc_l, mut acc_s, mut acc_a, mut acc_g, mut acc_n) = (0.0, 0.0, 0.0, 0.0, 0usize);
    let mut last_val = curve_val.last().map_or(initial_val, |v| v.1);
    let save = |step: usize, best: Option<f64>, opt: &Optim| -> Result<()> {
        let mut tensors = BTreeMap::new();
        for (i, n) in opt.names.iter().enumerate() {
            tensors.insert(format!("model.{n}"), to_host(&opt.params[i]));
            tensors.insert(format!("ema.{n}"), to_host(&opt.ema[i]));
            tensors.insert(format!("adam_m.{n}"), to_host(&opt.m[i]));
            tensors.insert(format!("adam_v.{n}"), to_host(&opt.v[i]));
        }
        let mut train = serde_json::to_value(opts)?;
        train["initial_val_loss"] = serde_json::json!(initial_val);
        let meta = CheckpointMeta {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            config: config.clone(),
            step,
            total_steps: opts.steps,
            seed: opts.seed,
            stats: data.stats.clone(),
            data: DataInfo {
                path: data_path.display().to_string(),
                sha256: data.sha256.clone(),
                windows: data.train.len() + data.val.len(),
                train_windows: data.train.len(),
                val_windows: data.val.len(),
                val_episode_ids: data.val_episode_ids.clone(),
                hours: data.hours,
                state_layout: data.layout,
                state_layout_version: data.layout.version(),
                action_offset: data.action_offset.clone(),
                action_scale: data.action_scale.clone(),
            },
            train,
            code_revision: code_revision.to_string(),
            best_val_loss: best,
        };
        Checkpoint { meta, tensors }.save(&ck_path)
    };

    let end = stop_after.map_or(opts.steps, |n| (start + n).min(opts.steps));
    for step in start..end {
        // Batches and dropout depend only on (seed, step): a resumed run repeats them.
        let mut rng = seeded_rng(opts.seed, 1000 + step as u64);
        tch::manual_seed(
            (opts.seed as i64)
                .wrapping_mul(1_000_003)
                .wrapping_add(step as i64),
        );
        let ws: Vec<usize> = (0..opts.batch)
            .map(|_| data.train[rand::Rng::gen_range(&mut rng, 0..data.train.len())])
            .collect();
        let batch = make_batch(&data, &ws, mirror_prob, noise, &schedule, &mut rng)?;
        let bt = BatchTensors::new(&batch, device);
        for p in &opt.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        let (ls, la) = bt.losses(&net, &masks, true);
        let loss = &ls + &la;
        loss.backward();
        let lv = loss.double_value(&[]);
        if !lv.is_finite() {
            bail!(
                "training diverged at step {step}: loss is {lv} (lower --lr?); last checkpoint {}",
                ck_path.display()
            );
        }
        let lr = opts.lr_at(step);
        let gnorm = tch::no_grad(|| {
            let mut sq = 0.0;
            for p in &opt.params {
                let g = p.grad();
                if g.defined() {
                    sq += g.square().sum(Kind::Double).double_value(&[]);
                }
            }
            let norm = sq.sqrt();
            let clip = if norm > opts.grad_clip {
                opts.grad_clip / norm
            } else {
                1.0
            };
            let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
            let t = (step + 1) as f64;
            let (c1, c2) = (1.0 - b1.powf(t), 1.0 - b2.powf(t));
            let ed = opts.ema_decay.min((1.0 + t) / (10.0 + t));
            for i in 0..opt.params.len() {
                let g = opt.params[i].grad();
                if !g.defined() {
                    continue;
                }
                let g = g * clip;
                let _ = opt.m[i].g_mul_scalar_(b1).g_add_(&(&g * (1.0 - b1)));
                let _ = opt.v[i]
                    .g_mul_scalar_(b2)
                    .g_add_(&(g.square() * (1.0 - b2)));
                let upd = (&opt.m[i] / c1) / ((&opt.v[i] / c2).sqrt() + eps);
                let p = &mut opt.params[i];
                if opt.decay[i] {
                    let _ = p.g_mul_scalar_(1.0 - lr * opts.weight_decay);
                }
                let _ = p.g_sub_(&(upd * lr));
                let _ = opt.ema[i].g_mul_scalar_(ed).g_add_(&(&*p * (1.0 - ed)));
            }
            norm
        });
        acc_l += lv;
        acc_s += ls.double_value(&[]);
        acc_a += la.double_value(&[]);
        acc_g += gnorm;
        acc_n += 1;
        let done = step + 1;
        let val_now = done % opts.val_every == 0 || done == end;
        let mut val_cols = String::from(",,");
        if val_now {
            let (v, vs_, va) = evaluate(&ema_net, &val_batches, &masks, device);
            last_val = v;
            curve_val.push((done, v));
            val_cols = format!("{v},{vs_},{va}");
            if best.is_none_or(|b| v < b) {
                best = Some(v);
            }
        }
        if done % opts.log_every == 0 || val_now {
            let n = acc_n.max(1) as f64;
            writeln!(
                log,
                "{done},{lr},{},{},{},{},{val_cols},{:.1}",
                acc_l / n,
                acc_s / n,
                acc_a / n,
                acc_g / n,
                clock.elapsed().as_secs_f64()
            )?;
            log.flush()?;
            curve_train.push((done, acc_l / n));
            bar.set_message(format!(
                "loss {:.4} val {:.4} (initial {:.3})",
                acc_l / n,
                last_val,
                initial_val
            ));
            (acc_l, acc_s, acc_a, acc_g, acc_n) = (0.0, 0.0, 0.0, 0.0, 0);
        }
        if done % opts.checkpoint_every == 0 || done == end {
            save(done, best, &opt)?;
            plot_losses(&out.join(PLOT_FILE), &curve_train, &curve_val)?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wall = clock.elapsed().as_secs_f64();
    let ran = end - start;
    let summary = TrainSummary {
        config: config.name.clone(),
        parameters: config.num_params(),
        steps: end,
        resumed_from: resume.then_some(start),
        device: format!("{device:?}"),
        threads: opts.threads,
        wall_s: wall,
        steps_per_s: ran as f64 / wall.max(1e-9),
        initial_val_loss: initial_val,
        final_val_loss: last_val,
        val_loss_ratio: initial_val / last_val,
        train_windows: data.train.len(),
        val_windows: data.val.len(),
        data_sha256: data.sha256.clone(),
        checkpoint: ck_path.clone(),
    };
    std::fs::write(
        out.join(SUMMARY_FILE),
        serde_json::to_string_pretty(&summary)? + "\n",
    )?;
    Ok(summary)
}

/// log10 loss against step: training (blue) and validation (orange, dots), with light lines at
/// every power of ten. The canvas has equal axes, so both axes are rescaled: x ∈ [0, 1.6] is
/// steps 0 … last, y ∈ [0, 1] is the log10 range.
pub fn plot_losses(path: &Path, train: &[(usize, f64)], val: &[(usize, f64)]) -> Result<()> {
    let raw = |c: &[(usize, f64)]| -> Vec<[f64; 2]> {
        c.iter()
            .filter(|p| p.1 > 0.0 && p.1.is_finite())
            .map(|p| [p.0 as f64, p.1.log10()])
            .collect()
    };
    let (t, v) = (raw(train), raw(val));
    let all: Vec<&[f64; 2]> = t.iter().chain(&v).collect();
    if all.is_empty() {
        return Ok(());
    }
    let xmax = all.iter().map(|p| p[0]).fold(1.0, f64::max);
    let ymin = all
        .iter()
        .map(|p| p[1])
        .fold(f64::INFINITY, f64::min)
        .floor();
    let ymax = all
        .iter()
        .map(|p| p[1])
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil()
        .max(ymin + 1.0);
    let (sx, sy) = (1.6 / xmax, 1.0 / (ymax - ymin));
    let map = |p: &[[f64; 2]]| -> Vec<[f64; 2]> {
        p.iter().map(|q| [q[0] * sx, (q[1] - ymin) * sy]).collect()
    };
    let mut c = g1_data::plot::Canvas::new(800, 520, 0.0, 1.6, 0.0, 1.0);
    let mut y = ymin;
    while y <= ymax {
        c.line(0.0, (y - ymin) * sy, 1.6, (y - ymin) * sy, [200, 200, 200]);
        y += 1.0;
    }
    let (t, v) = (map(&t), map(&v));
    c.path(&t, g1_data::plot::palette(0));
    c.path(&v, g1_data::plot::palette(1));
    for p in &v {
        c.disc(p[0], p[1], 0.006, g1_data::plot::palette(1));
    }
    c.save_png(path)
}
