//! The denoiser interface and the DDPM sampler with history inpainting.

use anyhow::{bail, Result};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::config::STEPS;
use crate::schedule::Schedule;
use crate::tokens::{action_is_history, state_is_history};

/// A batch of token sequences in normalised units, with one noise level per token.
/// Layout: `states[b][i][d]` (step-major), `actions[b][i][j]`, `k_states[b][i]`, `k_actions[b][i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub batch: usize,
    pub state_dim: usize,
    pub action_dim: usize,
    pub states: Vec<f32>,
    pub actions: Vec<f32>,
    pub k_states: Vec<i64>,
    pub k_actions: Vec<i64>,
}

impl Sequence {
    pub fn zeros(batch: usize, state_dim: usize, action_dim: usize) -> Self {
        Self {
            batch,
            state_dim,
            action_dim,
            states: vec![0.0; batch * STEPS * state_dim],
            actions: vec![0.0; batch * STEPS * action_dim],
            k_states: vec![0; batch * STEPS],
            k_actions: vec![0; batch * STEPS],
        }
    }

    /// Standard-normal tokens with noise levels drawn uniformly from 0..=`k_max` (tests,
    /// benchmarks and backend comparisons).
    pub fn random<R: Rng>(
        batch: usize,
        state_dim: usize,
        action_dim: usize,
        k_max: i64,
        rng: &mut R,
    ) -> Self {
        let mut s = Self::zeros(batch, state_dim, action_dim);
        s.states
            .iter_mut()
            .for_each(|v| *v = rng.sample(StandardNormal));
        s.actions
            .iter_mut()
            .for_each(|v| *v = rng.sample(StandardNormal));
        s.k_states
            .iter_mut()
            .for_each(|k| *k = rng.gen_range(0..=k_max));
        s.k_actions
            .iter_mut()
            .for_each(|k| *k = rng.gen_range(0..=k_max));
        s
    }

    pub fn check(&self) -> Result<()> {
        let n = self.batch * STEPS;
        if self.states.len() != n * self.state_dim
            || self.actions.len() != n * self.action_dim
            || self.k_states.len() != n
            || self.k_actions.len() != n
        {
            bail!(
                "sequence buffers do not match batch {} × {STEPS} steps × ({} state, {} action) dims",
                self.batch,
                self.state_dim,
                self.action_dim
            );
        }
        Ok(())
    }

    pub fn state(&self, b: usize, i: usize) -> &[f32] {
        let o = (b * STEPS + i) * self.state_dim;
        &self.states[o..o + self.state_dim]
    }
    pub fn action(&self, b: usize, i: usize) -> &[f32] {
        let o = (b * STEPS + i) * self.action_dim;
        &self.actions[o..o + self.action_dim]
    }
}

/// Predicted clean trajectory x0 for every token of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub states: Vec<f32>,
    pub actions: Vec<f32>,
}

impl Prediction {
    /// Refuses a prediction whose shape differs from the sequence it was made for.
    pub fn check_against(&self, seq: &Sequence) -> Result<()> {
        if self.states.len() != seq.states.len() || self.actions.len() != seq.actions.len() {
            bail!(
                "denoiser returned {}+{} values for {}+{}",
                self.states.len(),
                self.actions.len(),
                seq.states.len(),
                seq.actions.len()
            );
        }
        Ok(())
    }

    /// Largest absolute difference over all states and actions of two predictions.
    pub fn max_abs_diff(&self, other: &Prediction) -> f32 {
        self.states
            .iter()
            .zip(&other.states)
            .chain(self.actions.iter().zip(&other.actions))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }
}

/// One call of the denoiser network: noisy tokens and their levels in, x0 out.
pub trait Denoiser {
    /// Backend and device, for reports ("onnxruntime-cpu", "libtorch-cuda", …).
    fn backend(&self) -> String;
    fn denoise(&mut self, seq: &Sequence) -> Result<Prediction>;
}

/// Called after each denoiser call with the x0 prediction (normalised), which it may change
/// (classifier guidance) before the posterior step.
pub type Guide<'a> = dyn FnMut(usize, &Sequence, &mut Prediction) -> Result<()> + 'a;

/// Fills the planned tokens of `seq` with Gaussian noise at level K (history untouched).
pub fn noise_future<R: Rng>(seq: &mut Sequence, schedule: &Schedule, history: usize, rng: &mut R) {
    let k = schedule.k_steps as i64;
    for b in 0..seq.batch {
        for i in 0..STEPS {
            let r = b * STEPS + i;
            if !state_is_history(i, history) {
                seq.k_states[r] = k;
                for v in &mut seq.states[r * seq.state_dim..(r + 1) * seq.state_dim] {
                    *v = rng.sample(StandardNormal);
                }
            } else {
                seq.k_states[r] = 0;
            }
            if !action_is_history(i, history) {
                seq.k_actions[r] = k;
                for v in &mut seq.actions[r * seq.action_dim..(r + 1) * seq.action_dim] {
                    *v = rng.sample(StandardNormal);
                }
            } else {
                seq.k_actions[r] = 0;
            }
        }
    }
}

/// Denoises every token of `seq` to level 0 in as many denoiser calls as the highest level
/// (one level per call for tokens that start at the top; see [`denoise_strided`]). Tokens at
/// level 0 — the inpainted history — are left exactly as given. Returns the number of calls.
pub fn denoise_to_clean<R: Rng>(
    net: &mut dyn Denoiser,
    schedule: &Schedule,
    seq: &mut Sequence,
    rng: &mut R,
    guide: Option<&mut Guide<'_>>,
) -> Result<usize> {
    let top = seq
        .k_states
        .iter()
        .chain(&seq.k_actions)
        .copied()
        .max()
        .unwrap_or(0);
    if top <= 0 {
        return Ok(0);
    }
    let mut none = |_: usize, _: &Sequence, _: &mut Prediction| Ok(());
    let g: &mut Guide<'_> = match guide {
        Some(g) => g,
        None => &mut none,
    };
    denoise_strided(net, schedule, seq, top as usize, 1.0, rng, g)
}

/// Denoises every token to level 0 in `calls` denoiser calls: a token that starts at level L
/// is at level ⌊L·(calls − j − 1)/calls⌋ after call j (DDPM posterior steps, jumping levels when
/// L > calls). With every planned token at K and calls = K this is the ordinary sampler; rolling
/// inference uses it to bring re-noised plans (e.g. states at 14, actions at 4, new steps at K)
/// to level 0 in 14 calls. `guide` sees and may change each x0 prediction before the step.
/// `temperature` scales the posterior noise (1 = DDPM; 0 = the posterior mean every step).
pub fn denoise_strided<R: Rng>(
    net: &mut dyn Denoiser,
    schedule: &Schedule,
    seq: &mut Sequence,
    calls: usize,
    temperature: f64,
    rng: &mut R,
    guide: &mut Guide<'_>,
) -> Result<usize> {
    seq.check()?;
    if let Some(top) = seq.k_states.iter().chain(&seq.k_actions).copied().max() {
        if top as usize > schedule.k_steps || top < 0 {
            bail!(
                "noise level {top} outside the schedule's 0..={}",
                schedule.k_steps
            );
        }
    }
    let start_s = seq.k_states.clone();
    let start_a = seq.k_actions.clone();
    let calls = calls.max(1);
    for j in 0..calls {
        let mut pred = net.denoise(seq)?;
        pred.check_against(seq)?;
        guide(j, seq, &mut pred)?;
        let target = |l: i64| (l as usize * (calls - j - 1) / calls) as i64;
        for (x, levels, start, x0, dim) in [
            (
                &mut seq.states,
                &mut seq.k_states,
                &start_s,
                &pred.states,
                seq.state_dim,
            ),
            (
                &mut seq.actions,
                &mut seq.k_actions,
                &start_a,
                &pred.actions,
                seq.action_dim,
            ),
        ] {
            for r in 0..levels.len() {
                let (from, to) = (levels[r], target(start[r]));
                if from <= 0 || to >= from {
                    continue;
                }
                let (c0, ck, sd) = schedule.posterior(from as usize, to as usize);
                let sd = sd * temperature;
                for d in r * dim..(r + 1) * dim {
                    let z: f64 = if sd > 0.0 {
                        rng.sample(StandardNormal)
                    } else {
                        0.0
                    };
                    x[d] = (c0 * x0[d] as f64 + ck * x[d] as f64 + sd * z) as f32;
                }
                levels[r] = to;
            }
        }
    }
    Ok(calls)
}

/// A full unguided plan from clean history: noise the future, denoise K times.
pub fn sample<R: Rng>(
    net: &mut dyn Denoiser,
    schedule: &Schedule,
    seq: &mut Sequence,
    history: usize,
    rng: &mut R,
) -> Result<usize> {
    noise_future(seq, schedule, history, rng);
    denoise_to_clean(net, schedule, seq, rng, None)
}
