//! The guided planner: inpainted history, classifier guidance on every denoising step, and
//! rolling inference (the previous plan shifted and re-noised, so fewer calls are needed).

use std::time::Instant;

use anyhow::{bail, Result};
use g1::NUM_JOINTS;
use g1_diffusion::sampler::{denoise_strided, Denoiser, Prediction, Sequence};
use g1_diffusion::tokens::{action_is_history, state_is_history};
use g1_diffusion::{Manifest, Schedule, HISTORY, STEPS};
use g1_guidance::Guidance;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Planner settings (the `planner` section of the controller's parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
// Independent switches of a parameter file's `planner` section, not a state machine.
#[allow(clippy::struct_excessive_bools)]
pub struct PlannerConfig {
    /// Step size λ of −λ∇G applied to the x0 prediction at every denoising step.
    pub guidance_scale: f64,
    /// Largest guidance step per state token (normalised units), against barrier spikes.
    pub max_guidance_step: f64,
    /// Rolling inference: re-use the previous plan, re-noised to these levels.
    pub rolling: bool,
    pub roll_state_level: usize,
    pub roll_action_level: usize,
    /// Scale of the sampler's posterior noise (1 = DDPM, 0 = posterior mean).
    pub temperature: f64,
    /// Ramp the guidance step linearly over the denoising calls (weak at high noise, full at
    /// the last call) instead of a constant λ.
    pub guidance_ramp: bool,
    /// At most this many denoiser calls per plan (levels are skipped evenly when the highest
    /// start level is larger); 0 = one call per level.
    pub max_calls: usize,
    /// Guidance step in physical units: the gradient with respect to the normalised
    /// trajectory is divided by max(σ_d, floor)² per dimension (σ_d: the data spread), so a
    /// dimension spread at least `floor` moves by −λ∂G/∂x in its own units and one spread less
    /// (root positions over a window: 3–6 cm) proportionally less. 0 = off: the plain step in
    /// normalised units, where a dimension moves by λσ_d²∂G/∂x.
    pub precondition_floor: f64,
    /// Average every denoiser prediction with the mirror image of its prediction for the
    /// mirrored sequence ([`crate::Symmetrised`]: exactly left/right equivariant; one
    /// batch-of-two call per denoising step). false = the network as it is.
    pub symmetric: bool,
    /// One denoiser call per rolling plan: the planned tokens are kept partly noised, at
    /// levels rising along the horizon (a staircase from ⌈K/H⌉ at the first planned step to K
    /// at the last), and each plan shifts them by the steps elapsed and takes every token one
    /// stair down, so a token is denoised over all the plans it lives through (and, with
    /// `staircase_floor` 0, is clean when it is executed). A fresh plan (none to roll from) is
    /// made as without it, in `max_calls` calls. false = every rolling plan re-noises the
    /// previous clean plan to `roll_*_level` and denoises it in up to `max_calls` calls.
    pub staircase: bool,
    /// The staircase's lowest level: its levels rise from this (plus one stair) at the first
    /// planned step to K at the last, so that even the next steps' tokens keep this much
    /// noise and the plan can still change them; 0 = the first planned step clean.
    pub staircase_floor: usize,
    /// Plans for a joystick task (`Planner::set_task`) differ: symmetrised (as
    /// `symmetric`; false = plain calls), in at most `joystick_max_calls` calls (0 =
    /// `max_calls`) with guidance step `joystick_guidance_scale` (0 = `guidance_scale`). The
    /// symmetrised call costs about two plain ones, so half the calls keep a plan's cost.
    pub joystick_symmetric: bool,
    pub joystick_max_calls: usize,
    pub joystick_guidance_scale: f64,
    /// Turning on the spot: a joystick task whose planar velocity (as the command ramp has
    /// it) is under this (m/s) while it asks for a yaw rate (≥ `SPOT_TURN_RPS`) is planned
    /// with the base settings — the joystick plans barely turn on the spot; 0 = every
    /// joystick task gets the joystick plans.
    pub joystick_min_speed_mps: f64,
    pub seed: u64,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        // Measured with `g1d eval` on the default model (README, model card). Rolling levels:
        // with actions re-noised only to level 4 of 20 the plan kept executing pre-push actions
        // (walk+perturb 0/4 runs without a fall); actions at 10: 1/4; at 14: 7/10; states and
        // actions at 17: 11/14; both at 10: 0/6; both at 20: 5/6. Six denoiser calls per
        // rolling plan instead of 17 (levels skipped evenly): plan p50 7 ms instead of 18–21,
        // walk+perturb 13/16 without a fall instead of 11/16 on the same seeds, joystick
        // unchanged; four calls weakened the joystick (0.24 m/s error). Temperature 0 (the
        // posterior mean) is more stable than DDPM noise (1/3 hand-over walks lost).
        // Guidance step in physical units (floor 0.2, λ = 5): in normalised units the waypoint's
        // pull on the root positions (σ 3–6 cm) is ~28× weaker than its braking on the
        // velocities (σ 0.2–0.3 m/s), and the robot stopped 0.4–0.6 m short in 20/20 runs;
        // with the physical step 12–13/20 reached the goal (20 runs, two evals, README). Floor
        // 0.05 (every dimension physical) overshot and circled (0–1/4 reached); in 4-run
        // screens 0.17 reached 1/4, 0.2 2/4. λ = 5 moves the forward velocity as far as the
        // normalised λ = 50 did.
        // The cap of 10 per token bounds the far-field waypoint pull and the barrier.
        Self {
            guidance_scale: 5.0,
            max_guidance_step: 10.0,
            rolling: true,
            roll_state_level: 17,
            roll_action_level: 17,
            temperature: 0.0,
            guidance_ramp: false,
            max_calls: 6,
            precondition_floor: 0.2,
            symmetric: false,
            staircase: false,
            staircase_floor: 0,
            // Joystick plans symmetrised, in 3 calls at λ 10: generated joystick sequences
            // (reporting seeds) 98 % against 88 % with the base settings; made the default for
            // every task the obstacle courses fell to about 74 % (README, docs/EXPERIMENTS.md).
            joystick_symmetric: true,
            joystick_max_calls: 3,
            joystick_guidance_scale: 10.0,
            // Turns on the spot with the base settings (joystick_turns' turn on the spot
            // 0.08 → 0.41 rad/s for 0.6; generated tuning sequences: falls 1 → 0, yaw-rate
            // error 0.134/0.138 → 0.121 rad/s; docs/EXPERIMENTS.md).
            joystick_min_speed_mps: 0.15,
            seed: 0,
        }
    }
}

impl PlannerConfig {
    pub fn check(&self, k_steps: usize) -> Result<()> {
        for (k, v) in [
            ("guidance_scale", self.guidance_scale),
            ("joystick_guidance_scale", self.joystick_guidance_scale),
            ("joystick_min_speed_mps", self.joystick_min_speed_mps),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                bail!("planner.{k} = {v} must be finite and ≥ 0");
            }
        }
        if self.staircase_floor >= k_steps {
            bail!(
                "planner.staircase_floor = {} must be below the model's {k_steps} levels",
                self.staircase_floor
            );
        }
        if !(self.precondition_floor >= 0.0 && self.precondition_floor.is_finite()) {
            bail!("planner.precondition_floor must be ≥ 0 (0 = off)");
        }
        if self.max_guidance_step.is_nan() || self.max_guidance_step <= 0.0 {
            bail!("planner.max_guidance_step must be > 0");
        }
        if !(self.temperature >= 0.0 && self.temperature <= 10.0) {
            bail!(
                "planner.temperature = {} must be in 0..=10 (0: the posterior mean, 1: DDPM)",
                self.temperature
            );
        }
        for (k, v) in [
            ("roll_state_level", self.roll_state_level),
            ("roll_action_level", self.roll_action_level),
        ] {
            if v == 0 || v > k_steps {
                bail!("planner.{k} = {v} must be in 1..={k_steps}");
            }
        }
        Ok(())
    }
}

/// A plan in physical units, in the character frame of its step t. Its states are in the
/// model's layout (`Manifest::state_layout`: Body-Pos, or joint space).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Control step of the state the plan starts from (step t).
    pub step: u64,
    pub states: Vec<Vec<f32>>,
    pub actions: Vec<[f32; NUM_JOINTS]>,
    /// The states the model itself predicted at its last call, before that call's guidance
    /// step (what the executed actions are expected to lead to; `states` carries the final
    /// guidance step on top).
    pub model_states: Vec<Vec<f32>>,
    pub denoiser_calls: usize,
    pub compute_s: f64,
    pub cost: f64,
    /// The normalised clean sequence (re-noised by the next rolling plan).
    normalised: Sequence,
    /// With [`PlannerConfig::staircase`]: the noise of each planned token (normalised units)
    /// and the level it was left at; the token is √ᾱ·x0 + √(1 − ᾱ)·noise of its clean value
    /// in `normalised`, so it survives re-expression in a later frame.
    carry: Option<Sequence>,
}

impl Plan {
    /// The planned action for control step `k` (None once the plan has run out).
    pub fn action_at(&self, k: u64) -> Option<&[f32; NUM_JOINTS]> {
        let i = HISTORY as i64 + (k as i64 - self.step as i64);
        if (HISTORY as i64..STEPS as i64).contains(&i) {
            Some(&self.actions[i as usize])
        } else {
            None
        }
    }
}

/// A yaw-rate command at least this large (rad/s) with a planar speed under
/// `PlannerConfig::joystick_min_speed_mps` is a turn on the spot.
pub const SPOT_TURN_RPS: f64 = 0.1;

pub struct Planner {
    net: Net,
    pub manifest: Manifest,
    schedule: Schedule,
    pub config: PlannerConfig,
    rng: ChaCha8Rng,
    /// The next plans are for a joystick task (`PlannerConfig::joystick_*`).
    joystick: bool,
}

/// The network, wrapped for symmetrised calls when any plan may need them.
enum Net {
    Plain(Box<dyn Denoiser + Send>),
    Symmetric(crate::Symmetrised<dyn Denoiser + Send>),
}

/// What a plan is made with: symmetrised calls, at most this many, this guidance step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanProfile {
    pub symmetric: bool,
    pub max_calls: usize,
    pub guidance_scale: f64,
}

/// Why a plan failed; the planner node counts failures by [`PlanError::kind`] in
/// `/diagnostics`.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the history has {states} states and {actions} actions (a plan needs {} and {HISTORY})", HISTORY + 1)]
    History { states: usize, actions: usize },
    #[error("the denoiser failed: {0:#}")]
    Denoiser(anyhow::Error),
    #[error("the plan contains NaN or Inf (step {step})")]
    NonFinite { step: usize },
    #[error("{0}")]
    Layout(String),
}

impl PlanError {
    /// `history`, `denoiser`, `non_finite` or `layout`.
    pub fn kind(&self) -> &'static str {
        match self {
            PlanError::History { .. } => "history",
            PlanError::Denoiser(_) => "denoiser",
            PlanError::NonFinite { .. } => "non_finite",
            PlanError::Layout(_) => "layout",
        }
    }
}

impl Planner {
    pub fn new(
        net: Box<dyn Denoiser + Send>,
        manifest: Manifest,
        config: PlannerConfig,
    ) -> Result<Self> {
        config.check(manifest.config.k_steps)?;
        let net = if config.symmetric || config.joystick_symmetric {
            let mut s = crate::Symmetrised::<dyn Denoiser + Send>::new(
                net,
                manifest.state_layout,
                &manifest.stats,
            )?;
            s.set_enabled(config.symmetric);
            Net::Symmetric(s)
        } else {
            Net::Plain(net)
        };
        let schedule = Schedule::cosine(manifest.config.k_steps);
        let rng = rand::SeedableRng::seed_from_u64(config.seed);
        Ok(Self {
            net,
            manifest,
            schedule,
            config,
            rng,
            joystick: false,
        })
    }

    /// The next plans' task: a joystick command (planar velocity as ramped, yaw rate) or
    /// another task (None). A joystick command gets the joystick profile unless it is a turn
    /// on the spot (`PlannerConfig::joystick_min_speed_mps`, [`SPOT_TURN_RPS`]).
    pub fn set_task(&mut self, joystick: Option<([f64; 2], f64)>) {
        let min_speed = self.config.joystick_min_speed_mps;
        self.joystick = joystick.is_some_and(|(v, yaw_rate)| {
            v[0].hypot(v[1]) >= min_speed || yaw_rate.abs() < SPOT_TURN_RPS
        });
    }

    /// The settings the next plan is made with.
    pub fn profile(&self) -> PlanProfile {
        let c = &self.config;
        if self.joystick {
            PlanProfile {
                symmetric: c.joystick_symmetric,
                max_calls: if c.joystick_max_calls > 0 {
                    c.joystick_max_calls
                } else {
                    c.max_calls
                },
                guidance_scale: if c.joystick_guidance_scale > 0.0 {
                    c.joystick_guidance_scale
                } else {
                    c.guidance_scale
                },
            }
        } else {
            PlanProfile {
                symmetric: c.symmetric,
                max_calls: c.max_calls,
                guidance_scale: c.guidance_scale,
            }
        }
    }

    /// Restarts the planner's random stream (a new episode with this seed).
    pub fn reseed(&mut self, seed: u64) {
        self.config.seed = seed;
        self.rng = rand::SeedableRng::seed_from_u64(seed);
    }

    pub fn backend(&self) -> String {
        match &self.net {
            Net::Plain(n) => n.backend(),
            Net::Symmetric(s) if self.config.symmetric => {
                format!("{} (symmetrised)", s.inner_backend())
            }
            Net::Symmetric(s) => format!("{} (symmetrised for joystick tasks)", s.inner_backend()),
        }
    }

    /// Plans from the history (states s_{t−4..t} and actions a_{t−4..t−1}, physical, in the
    /// frame of step t) under `guidance` (costs in the same frame). With `previous` (a plan
    /// from an earlier step, same frame conventions re-expressed by the caller) and rolling on,
    /// its tokens are shifted and re-noised instead of starting from pure noise.
    pub fn plan(
        &mut self,
        step: u64,
        hist_states: &[Vec<f64>],
        hist_actions: &[[f64; NUM_JOINTS]],
        guidance: &Guidance,
        previous: Option<&Plan>,
    ) -> Result<Plan, PlanError> {
        let sd = self.manifest.state_dim;
        if let Some(s) = hist_states.iter().find(|s| s.len() != sd) {
            return Err(PlanError::Layout(format!(
                "a history state has {} numbers; the model's {} states have {sd}",
                s.len(),
                self.manifest.state_layout
            )));
        }
        if hist_states.len() != HISTORY + 1 || hist_actions.len() != HISTORY {
            return Err(PlanError::History {
                states: hist_states.len(),
                actions: hist_actions.len(),
            });
        }
        let clock = Instant::now();
        let profile = self.profile();
        let net: &mut (dyn Denoiser + Send) = match &mut self.net {
            Net::Plain(n) => n.as_mut(),
            Net::Symmetric(s) => {
                s.set_enabled(profile.symmetric);
                s
            }
        };
        let m = &self.manifest;
        let ad = NUM_JOINTS;
        let mut seq = Sequence::zeros(1, sd, ad);
        let kmax = self.schedule.k_steps;
        // Start levels per token, and initial values.
        let shift = previous.filter(|_| self.config.rolling).and_then(|p| {
            let s = step.checked_sub(p.step)? as usize;
            (1..STEPS - HISTORY).contains(&s).then_some((p, s))
        });
        let stair = shift
            .filter(|_| self.config.staircase)
            .and_then(|(p, s)| Some((p, s, p.carry.as_ref()?)));
        for i in 0..STEPS {
            let srow = &mut seq.states[i * sd..(i + 1) * sd];
            if state_is_history(i, HISTORY) {
                let x: Vec<f32> = hist_states[i].iter().map(|v| *v as f32).collect();
                m.stats.norm_state(&x, srow);
                seq.k_states[i] = 0;
            } else {
                seq.k_states[i] = kmax as i64;
                for v in srow.iter_mut() {
                    *v = self.rng.sample(StandardNormal);
                }
            }
            let arow = &mut seq.actions[i * ad..(i + 1) * ad];
            if action_is_history(i, HISTORY) {
                let x: Vec<f32> = hist_actions[i].iter().map(|v| *v as f32).collect();
                m.stats.norm_action(&x, arow);
                seq.k_actions[i] = 0;
            } else {
                seq.k_actions[i] = kmax as i64;
                for v in arow.iter_mut() {
                    *v = self.rng.sample(StandardNormal);
                }
            }
        }
        let calls_target = if let Some((p, s, carry)) = stair {
            // The previous plan's tokens at the levels they were left at, shifted by s steps.
            for i in 0..STEPS {
                let j = i + s;
                if j >= STEPS {
                    break;
                }
                if !state_is_history(i, HISTORY) && carry.k_states[j] > 0 {
                    let (c0, cn) = self.schedule.forward_coefs(carry.k_states[j] as usize);
                    for d in 0..sd {
                        let (x0, e) = (p.normalised.states[j * sd + d], carry.states[j * sd + d]);
                        seq.states[i * sd + d] = (c0 * x0 as f64 + cn * e as f64) as f32;
                    }
                    seq.k_states[i] = carry.k_states[j];
                }
                if !action_is_history(i, HISTORY) && carry.k_actions[j] > 0 {
                    let (c0, cn) = self.schedule.forward_coefs(carry.k_actions[j] as usize);
                    for d in 0..ad {
                        let (x0, e) = (p.normalised.actions[j * ad + d], carry.actions[j * ad + d]);
                        seq.actions[i * ad + d] = (c0 * x0 as f64 + cn * e as f64) as f32;
                    }
                    seq.k_actions[i] = carry.k_actions[j];
                }
            }
            1
        } else if let Some((p, s)) = shift {
            // Shift the previous clean plan by s steps and re-noise it. Its states were
            // expressed in its own step's frame: re-express them in this frame first — the
            // caller passes `previous` already rebased (see `Plan::rebased`).
            let (ks, ka) = (self.config.roll_state_level, self.config.roll_action_level);
            for i in 0..STEPS {
                let j = i + s;
                if j >= STEPS {
                    break;
                }
                if !state_is_history(i, HISTORY) {
                    let (c0, cn) = self.schedule.forward_coefs(ks);
                    for d in 0..sd {
                        let x0 = p.normalised.states[j * sd + d] as f64;
                        let e = seq.states[i * sd + d] as f64; // already N(0, 1)
                        seq.states[i * sd + d] = (c0 * x0 + cn * e) as f32;
                    }
                    seq.k_states[i] = ks as i64;
                }
                if !action_is_history(i, HISTORY) {
                    let (c0, cn) = self.schedule.forward_coefs(ka);
                    for d in 0..ad {
                        let x0 = p.normalised.actions[j * ad + d] as f64;
                        let e = seq.actions[i * ad + d] as f64;
                        seq.actions[i * ad + d] = (c0 * x0 + cn * e) as f32;
                    }
                    seq.k_actions[i] = ka as i64;
                }
            }
            ks.max(ka)
        } else {
            kmax
        };
        let calls_target = match profile.max_calls {
            0 => calls_target,
            n => calls_target.min(n),
        };
        let stats = &m.stats;
        let scale = profile.guidance_scale as f32;
        let max_step = self.config.max_guidance_step as f32;
        let mut cost = 0.0;
        let use_guidance = !guidance.terms.is_empty() && scale > 0.0;
        let mut grad = vec![0.0f32; STEPS * sd];
        let ramp = self.config.guidance_ramp;
        // Per-dimension factors of the physical-units step (None: the normalised step).
        let floor = self.config.precondition_floor;
        let precond: Option<Vec<f32>> = (floor > 0.0).then(|| {
            let f = |s: &f64| (1.0 / s.max(floor).powi(2)) as f32;
            stats.state_std.iter().map(f).collect()
        });
        // The model's own prediction of the last call, before its guidance step.
        let mut unguided = vec![0.0f32; STEPS * sd];
        let mut guide = |call: usize, _seq: &Sequence, pred: &mut Prediction| -> Result<()> {
            unguided.copy_from_slice(&pred.states);
            if !use_guidance {
                return Ok(());
            }
            let scale = if ramp {
                scale * (call + 1) as f32 / calls_target as f32
            } else {
                scale
            };
            cost = guidance.eval_normalised(&pred.states, stats, &mut grad);
            if let Some(p) = &precond {
                for (g, f) in grad.iter_mut().zip(p.iter().cycle()) {
                    *g *= f;
                }
            }
            for i in HISTORY + 1..STEPS {
                let row = &grad[i * sd..(i + 1) * sd];
                let n = row.iter().map(|g| g * g).sum::<f32>().sqrt() * scale;
                let k = if n > max_step { max_step / n } else { 1.0 };
                for d in 0..sd {
                    pred.states[i * sd + d] -= scale * k * row[d];
                }
            }
            Ok(())
        };
        let mut carry = None;
        let calls = if stair.is_some() {
            // One call; every planned token goes one stair down, and the plan is its x0.
            let mut pred = net.denoise(&seq).map_err(PlanError::Denoiser)?;
            pred.check_against(&seq).map_err(PlanError::Denoiser)?;
            guide(0, &seq, &mut pred).map_err(PlanError::Denoiser)?;
            let mut next = seq.clone();
            staircase_step(
                &self.schedule,
                &mut next,
                &pred,
                self.config.temperature,
                self.config.staircase_floor,
                &mut self.rng,
            );
            carry = Some(next);
            for i in 0..STEPS {
                if !state_is_history(i, HISTORY) {
                    seq.states[i * sd..(i + 1) * sd]
                        .copy_from_slice(&pred.states[i * sd..(i + 1) * sd]);
                    seq.k_states[i] = 0;
                }
                if !action_is_history(i, HISTORY) {
                    seq.actions[i * ad..(i + 1) * ad]
                        .copy_from_slice(&pred.actions[i * ad..(i + 1) * ad]);
                    seq.k_actions[i] = 0;
                }
            }
            1
        } else {
            denoise_strided(
                net,
                &self.schedule,
                &mut seq,
                calls_target,
                self.config.temperature,
                &mut self.rng,
                &mut guide,
            )
            .map_err(PlanError::Denoiser)?
        };
        if self.config.staircase && carry.is_none() {
            // A fresh plan: its clean tokens enter the staircase with fresh noise.
            let mut next = seq.clone();
            for v in next.states.iter_mut().chain(next.actions.iter_mut()) {
                *v = self.rng.sample(StandardNormal);
            }
            for i in 0..STEPS {
                next.k_states[i] = stair_after(i, true, kmax, self.config.staircase_floor);
                next.k_actions[i] = stair_after(i, false, kmax, self.config.staircase_floor);
            }
            carry = Some(next);
        }
        // Physical plan; the history tokens are the given history exactly.
        let mut states = Vec::with_capacity(STEPS);
        let mut actions = Vec::with_capacity(STEPS);
        let mut model_states = Vec::with_capacity(STEPS);
        for i in 0..STEPS {
            let mut u = vec![0.0f32; sd];
            m.stats
                .denorm_state(&unguided[i * sd..(i + 1) * sd], &mut u);
            model_states.push(u);
            let mut s = vec![0.0f32; sd];
            m.stats.denorm_state(seq.state(0, i), &mut s);
            let mut a = [0.0f32; NUM_JOINTS];
            m.stats.denorm_action(seq.action(0, i), &mut a);
            if s.iter().chain(a.iter()).any(|v| !v.is_finite()) {
                return Err(PlanError::NonFinite { step: i });
            }
            states.push(s);
            actions.push(a);
        }
        Ok(Plan {
            step,
            states,
            actions,
            model_states,
            denoiser_calls: calls,
            compute_s: clock.elapsed().as_secs_f64(),
            cost,
            normalised: seq,
            carry,
        })
    }
}

/// The staircase level of planned token `i` (a state token when `state`) before a plan's
/// call: floor + ⌈(f + 1)·(K − floor)/H⌉ for the f-th of the H planned tokens of its kind;
/// 0 for the history.
fn stair_before(i: usize, state: bool, k: usize, floor: usize) -> i64 {
    let (first, h) = if state {
        (HISTORY + 1, STEPS - HISTORY - 1)
    } else {
        (HISTORY, STEPS - HISTORY)
    };
    if i < first {
        return 0;
    }
    (floor + ((i - first + 1) * (k - floor)).div_ceil(h)) as i64
}

/// The level a planned token is left at by a plan's call: the level of the position it moves
/// to at the next step (0 for the first planned step).
fn stair_after(i: usize, state: bool, k: usize, floor: usize) -> i64 {
    let first = if state { HISTORY + 1 } else { HISTORY };
    if i <= first {
        0
    } else {
        stair_before(i - 1, state, k, floor)
    }
}

/// Takes every planned token of `seq` from its level to [`stair_after`] by the DDPM posterior
/// given the prediction `pred`, and replaces each token by the noise that, with its x0, makes
/// the result (√ᾱ·x0 + √(1 − ᾱ)·noise): what [`Plan`] carries to the next plan.
fn staircase_step<R: Rng>(
    schedule: &Schedule,
    seq: &mut Sequence,
    pred: &Prediction,
    temperature: f64,
    floor: usize,
    rng: &mut R,
) {
    let k = schedule.k_steps;
    for (x, levels, x0, dim, state) in [
        (
            &mut seq.states,
            &mut seq.k_states,
            &pred.states,
            seq.state_dim,
            true,
        ),
        (
            &mut seq.actions,
            &mut seq.k_actions,
            &pred.actions,
            seq.action_dim,
            false,
        ),
    ] {
        for r in 0..levels.len() {
            let (from, to) = (levels[r], stair_after(r, state, k, floor).min(levels[r]));
            if from <= 0 || to == 0 {
                levels[r] = 0;
                continue;
            }
            let (c0, ck, sd) = if to < from {
                schedule.posterior(from as usize, to as usize)
            } else {
                (0.0, 1.0, 0.0)
            };
            let (a, b) = schedule.forward_coefs(to as usize);
            for d in r * dim..(r + 1) * dim {
                let z: f64 = if sd * temperature > 0.0 {
                    rng.sample(StandardNormal)
                } else {
                    0.0
                };
                let xt = c0 * x0[d] as f64 + ck * x[d] as f64 + sd * temperature * z;
                x[d] = ((xt - a * x0[d] as f64) / b) as f32;
            }
            levels[r] = to;
        }
    }
}

impl Plan {
    /// The plan with its normalised states re-expressed from `from` (its frame) to `to` (a
    /// later step's frame), for rolling inference.
    pub fn rebased(
        &self,
        from: &g1::CharacterFrame,
        to: &g1::CharacterFrame,
        stats: &g1_diffusion::Stats,
    ) -> Plan {
        let mut p = self.clone();
        let sd = stats.state_mean.len();
        for i in 0..STEPS {
            let mut d: Vec<f64> = self.states[i].iter().map(|v| *v as f64).collect();
            g1::state::rebase_global(&mut d, from, to);
            let rf: Vec<f32> = d.iter().map(|v| *v as f32).collect();
            stats.norm_state(&rf, &mut p.normalised.states[i * sd..(i + 1) * sd]);
            p.states[i] = rf;
        }
        p
    }
}
