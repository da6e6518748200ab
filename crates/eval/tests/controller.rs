//! The strided sampler against the plain DDPM sampler, and the control loop's fallbacks with
//! scripted networks (a plan that runs out, a network that returns NaN).

use std::path::PathBuf;

use anyhow::Result;
use g1_control::{ControlConfig, Controller, LatencyModel, Planner, PlannerConfig, Task};
use g1_diffusion::sampler::{denoise_strided, noise_future, Denoiser, Prediction, Sequence};
use g1_diffusion::{Manifest, Schedule};
use g1_eval::drive;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// x0 = a fixed affine function of the noisy input (deterministic, input-dependent).
struct Affine;
impl Denoiser for Affine {
    fn backend(&self) -> String {
        "affine".into()
    }
    fn denoise(&mut self, s: &Sequence) -> Result<Prediction> {
        Ok(Prediction {
            states: s.states.iter().map(|v| 0.5 * v + 0.1).collect(),
            actions: s.actions.iter().map(|v| -0.3 * v).collect(),
        })
    }
}

/// Returns zeros (the data mean) for the first `good` calls, NaN afterwards.
struct Scripted {
    good: usize,
    calls: usize,
}
impl Denoiser for Scripted {
    fn backend(&self) -> String {
        "scripted".into()
    }
    fn denoise(&mut self, s: &Sequence) -> Result<Prediction> {
        self.calls += 1;
        let v = if self.calls <= self.good {
            0.0
        } else {
            f32::NAN
        };
        Ok(Prediction {
            states: vec![v; s.states.len()],
            actions: vec![v; s.actions.len()],
        })
    }
}

/// The textbook DDPM loop for an x0 model, written out here independently: k = K … 1, every
/// planned token from k to k − 1 with the posterior mean and variance of Ho et al. (2020).
fn reference_ddpm(
    net: &mut dyn Denoiser,
    sched: &Schedule,
    seq: &mut Sequence,
    rng: &mut ChaCha8Rng,
) {
    use rand::Rng;
    let k_max = sched.k_steps as i64;
    for k in (1..=k_max).rev() {
        let pred = net.denoise(seq).unwrap();
        let ku = k as usize;
        let (ab, ab_prev) = (sched.alpha_bars[ku], sched.alpha_bars[ku - 1]);
        let beta = sched.betas[ku];
        let c0 = ab_prev.sqrt() * beta / (1.0 - ab);
        let ck = (1.0 - beta).sqrt() * (1.0 - ab_prev) / (1.0 - ab);
        let sd = (beta * (1.0 - ab_prev) / (1.0 - ab)).sqrt();
        for (x, lv, x0, dim) in [
            (
                &mut seq.states,
                &mut seq.k_states,
                &pred.states,
                seq.state_dim,
            ),
            (
                &mut seq.actions,
                &mut seq.k_actions,
                &pred.actions,
                seq.action_dim,
            ),
        ] {
            for r in 0..lv.len() {
                if lv[r] != k {
                    continue;
                }
                for d in r * dim..(r + 1) * dim {
                    let z: f64 = if sd > 0.0 {
                        rng.sample(rand_distr::StandardNormal)
                    } else {
                        0.0
                    };
                    x[d] = (c0 * x0[d] as f64 + ck * x[d] as f64 + sd * z) as f32;
                }
                lv[r] = k - 1;
            }
        }
    }
}

#[test]
fn strided_sampler_with_k_calls_is_the_ddpm_sampler() {
    let sched = Schedule::cosine(20);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut seq = Sequence::zeros(2, 192, 29);
    noise_future(&mut seq, &sched, 4, &mut rng);
    let mut a = seq.clone();
    let mut b = seq.clone();
    let mut ra = ChaCha8Rng::seed_from_u64(9);
    let mut rb = ChaCha8Rng::seed_from_u64(9);
    reference_ddpm(&mut Affine, &sched, &mut a, &mut ra);
    let nb = denoise_strided(
        &mut Affine,
        &sched,
        &mut b,
        20,
        1.0,
        &mut rb,
        &mut |_, _, _| Ok(()),
    )
    .unwrap();
    assert_eq!(nb, 20);
    let worst = a
        .states
        .iter()
        .zip(&b.states)
        .chain(a.actions.iter().zip(&b.actions))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "strided vs reference DDPM: {worst}");
    assert_eq!(a.k_states, b.k_states);
    assert!(a.k_states.iter().chain(&a.k_actions).all(|k| *k == 0));
    // Fewer calls also end clean, and leave the history untouched.
    let mut c = seq.clone();
    let n = denoise_strided(
        &mut Affine,
        &sched,
        &mut c,
        7,
        1.0,
        &mut rb,
        &mut |_, _, _| Ok(()),
    )
    .unwrap();
    assert_eq!(n, 7);
    assert!(c.k_states.iter().chain(&c.k_actions).all(|k| *k == 0));
    assert_eq!(c.states[..5 * 192], seq.states[..5 * 192]);
}

/// The shipped model's manifest (statistics, schedule), for planners around test networks.
fn default_manifest() -> Manifest {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    Manifest::load(&repo.join("assets/models/default"))
        .unwrap()
        .0
}

/// A standing history (5 states, 4 actions) at the origin.
fn zero_history() -> (Vec<Vec<f64>>, Vec<[f64; g1::NUM_JOINTS]>) {
    (
        vec![vec![0.0; g1::STATE_DIM]; 5],
        vec![[0.0; g1::NUM_JOINTS]; 4],
    )
}

/// The controller around `planner` with `cfg`, plans landing after `latency_ms`.
fn ctl(planner: Planner, cfg: ControlConfig, latency_ms: f64) -> Controller {
    Controller::new(planner, cfg, LatencyModel::Fixed { ms: latency_ms }).unwrap()
}

fn setup(good: usize) -> (g1_sim::Sim, Planner) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let m = default_manifest();
    // One call per noise level, so that `good` counts whole plans (20 calls fresh, 17 rolling).
    let config = PlannerConfig {
        max_calls: 0,
        ..Default::default()
    };
    let planner = Planner::new(Box::new(Scripted { good, calls: 0 }), m, config).unwrap();
    let mut sim = g1_sim::Sim::new(&repo.join("assets"), g1_sim::SimConfig::default()).unwrap();
    let init = g1_eval::standing_start(&mut sim);
    sim.reset(&init, 0).unwrap();
    (sim, planner)
}

#[test]
fn nan_plans_fall_back_to_hold_then_damping() {
    let (mut sim, planner) = setup(0);
    let cfg = ControlConfig {
        hold_steps: 10,
        ..Default::default()
    };
    let mut c = ctl(planner, cfg, 5.0);
    let out = drive(&mut sim, &mut c, &|_, _| Task::Free, 30, |_, _, _, _| {}).unwrap();
    assert_eq!(out.failed_plans, 30);
    assert!(
        out.first_failure.as_deref().unwrap().contains("NaN"),
        "{:?}",
        out.first_failure
    );
    // Counted by kind, as the planner node's /diagnostics reports them.
    assert_eq!(c.failures.get("non_finite"), Some(&30), "{:?}", c.failures);
    assert_eq!(c.last_failure, Some("non_finite"));
    assert_eq!(out.hold_steps, 10);
    assert_eq!(out.damping_steps, 20);
    assert_eq!(
        out.log
            .iter()
            .filter(|l| l.mode == g1_control::StepMode::Plan)
            .count(),
        0
    );
    assert_eq!(out.log[29].mode, g1_control::StepMode::Damping);
}

#[test]
fn a_plan_that_runs_out_is_held_then_damped() {
    // The first plan (20 calls) is good; every later one is NaN.
    let (mut sim, planner) = setup(20);
    let cfg = ControlConfig {
        hold_steps: 10,
        ..Default::default()
    };
    let mut c = ctl(planner, cfg, 5.0);
    let out = drive(&mut sim, &mut c, &|_, _| Task::Free, 40, |_, _, _, _| {}).unwrap();
    let modes: Vec<&str> = out.log.iter().map(|l| l.mode.name()).collect();
    // Step 0 has no plan yet (it lands at step ≥ 1); the plan from step 0 covers steps ≤ 16.
    assert_eq!(modes[0], "hold");
    let first_plan = modes.iter().position(|m| *m == "plan").unwrap();
    let last_plan = modes.iter().rposition(|m| *m == "plan").unwrap();
    assert_eq!(last_plan, 16, "{modes:?}");
    assert!(modes[first_plan..=last_plan].iter().all(|m| *m == "plan"));
    assert!(modes[17..27].iter().all(|m| *m == "hold"), "{modes:?}");
    assert!(modes[27..].iter().all(|m| *m == "damping"), "{modes:?}");
    assert!(out.failed_plans >= 1);
}

/// Counts the calls it serves (shared with the test) and returns the data mean.
struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);
impl Denoiser for Counting {
    fn backend(&self) -> String {
        "counting".into()
    }
    fn denoise(&mut self, s: &Sequence) -> Result<Prediction> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Prediction {
            states: vec![0.0; s.states.len()],
            actions: vec![0.0; s.actions.len()],
        })
    }
}

#[test]
fn max_calls_caps_the_network_calls_of_fresh_and_rolling_plans() {
    use std::sync::atomic::Ordering::SeqCst;
    let m = default_manifest();
    let (hist_s, hist_a) = zero_history();
    let guidance = g1_guidance::Guidance::default();
    // (max_calls, calls of the fresh plan, calls of a rolling plan one step later)
    for (cap, fresh, rolling) in [(0, 20, 17), (6, 6, 6), (25, 20, 17), (1, 1, 1)] {
        let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let config = PlannerConfig {
            max_calls: cap,
            ..Default::default()
        };
        let mut p = Planner::new(Box::new(Counting(n.clone())), m.clone(), config).unwrap();
        let first = p.plan(0, &hist_s, &hist_a, &guidance, None).unwrap();
        assert_eq!(n.swap(0, SeqCst), fresh, "max_calls {cap}, fresh plan");
        assert_eq!(first.denoiser_calls, fresh);
        let second = p
            .plan(1, &hist_s, &hist_a, &guidance, Some(&first))
            .unwrap();
        assert_eq!(n.load(SeqCst), rolling, "max_calls {cap}, rolling plan");
        assert_eq!(second.denoiser_calls, rolling);
    }
}

/// Records the noise levels of every call it serves and predicts the data mean.
/// The state and action noise levels of each call.
type SeenLevels = std::sync::Arc<std::sync::Mutex<Vec<(Vec<i64>, Vec<i64>)>>>;
struct Levels(SeenLevels);
impl Denoiser for Levels {
    fn backend(&self) -> String {
        "levels".into()
    }
    fn denoise(&mut self, s: &Sequence) -> Result<Prediction> {
        self.0
            .lock()
            .unwrap()
            .push((s.k_states.clone(), s.k_actions.clone()));
        Ok(Prediction {
            states: vec![0.0; s.states.len()],
            actions: vec![0.0; s.actions.len()],
        })
    }
}

/// The one-call staircase: a fresh plan takes `max_calls` calls; every rolling plan after it
/// one, with the planned tokens at levels rising along the horizon (⌈(f + 1)·K/H⌉, written
/// out here from the definition), shifted by the steps elapsed, the new ones at K.
#[test]
fn the_staircase_rolls_in_one_call_per_plan() {
    use g1_diffusion::{HISTORY, STEPS};
    let m = default_manifest();
    let k = m.config.k_steps;
    let (hist_s, hist_a) = zero_history();
    let guidance = g1_guidance::Guidance::default();
    for floor in [0, 10] {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let config = PlannerConfig {
            staircase: true,
            staircase_floor: floor,
            ..Default::default()
        };
        let mut p = Planner::new(Box::new(Levels(seen.clone())), m.clone(), config).unwrap();
        let first = p.plan(0, &hist_s, &hist_a, &guidance, None).unwrap();
        assert_eq!(first.denoiser_calls, 6);
        let second = p
            .plan(1, &hist_s, &hist_a, &guidance, Some(&first))
            .unwrap();
        assert_eq!(second.denoiser_calls, 1);
        // Two steps later: the tokens moved two positions, the last two are new.
        let third = p
            .plan(3, &hist_s, &hist_a, &guidance, Some(&second))
            .unwrap();
        assert_eq!(third.denoiser_calls, 1);
        let calls = seen.lock().unwrap().clone();
        assert_eq!(calls.len(), 8);
        let stair = |f: usize, h: usize| (floor + ((f + 1) * (k - floor)).div_ceil(h)) as i64;
        let (hs, ha) = (STEPS - HISTORY - 1, STEPS - HISTORY);
        let (ks, ka) = &calls[6];
        for i in 0..STEPS {
            let want_s = if i <= HISTORY {
                0
            } else {
                stair(i - HISTORY - 1, hs)
            };
            let want_a = if i < HISTORY {
                0
            } else {
                stair(i - HISTORY, ha)
            };
            assert_eq!(
                ks[i], want_s,
                "floor {floor}: state {i} of the first rolling plan"
            );
            assert_eq!(
                ka[i], want_a,
                "floor {floor}: action {i} of the first rolling plan"
            );
        }
        let (ks, ka) = &calls[7];
        for i in 0..STEPS {
            let shifted = |h: usize, first: usize| {
                if i < first {
                    0
                } else if i + 2 >= STEPS {
                    k as i64
                } else {
                    // Left at the level of the position before it, then moved two on.
                    stair(i + 2 - first - 1, h)
                }
            };
            assert_eq!(ks[i], shifted(hs, HISTORY + 1), "floor {floor}: state {i}");
            assert_eq!(ka[i], shifted(ha, HISTORY), "floor {floor}: action {i}");
        }
    }
    // Without the staircase, rolling plans take max_calls calls; a floor at K is refused.
    let n = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let mut q = Planner::new(
        Box::new(Levels(n.clone())),
        m.clone(),
        PlannerConfig::default(),
    )
    .unwrap();
    let a = q.plan(0, &hist_s, &hist_a, &guidance, None).unwrap();
    let b = q.plan(1, &hist_s, &hist_a, &guidance, Some(&a)).unwrap();
    assert_eq!(b.denoiser_calls, 6);
    let bad = PlannerConfig {
        staircase: true,
        staircase_floor: k,
        ..Default::default()
    };
    let err = Planner::new(Box::new(Levels(n)), m, bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("staircase_floor"), "{err}");
}

/// With a network that predicts the data mean and one call, the plan is the mean moved by one
/// guidance step, which has a closed form for the joystick cost: in normalised units the
/// forward velocity moves by λσ²(v − mean), in physical units (precondition floor ≤ σ) by
/// λ(v − mean) — written out here from the definitions, not from the planner's code.
#[test]
fn guidance_step_in_normalised_and_physical_units() {
    use g1::bodypos::layout::ROOT_LIN_VEL;
    let m = default_manifest();
    let d = ROOT_LIN_VEL.start;
    let (mean, sd) = (m.stats.state_mean[d], m.stats.state_std[d]);
    assert!(sd > 0.2, "σ of the forward velocity {sd}");
    let (hist_s, hist_a) = zero_history();
    let mut guidance = g1_guidance::Guidance::default();
    let v = mean + 0.05;
    guidance.push(1.0, g1_guidance::Joystick::constant([v, 0.0]));
    let lambda = 0.5;
    for (floor, expect) in [
        (0.0, mean + lambda * sd * sd * (v - mean)),
        (0.2, mean + lambda * (v - mean)),
        // A floor above σ damps the step by σ²/floor².
        (2.0 * sd, mean + lambda * 0.25 * (v - mean)),
    ] {
        let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let config = PlannerConfig {
            max_calls: 1,
            guidance_scale: lambda,
            max_guidance_step: 1e6,
            precondition_floor: floor,
            ..Default::default()
        };
        let mut p = Planner::new(Box::new(Counting(n)), m.clone(), config).unwrap();
        let plan = p.plan(0, &hist_s, &hist_a, &guidance, None).unwrap();
        for t in 5..plan.states.len() {
            let got = plan.states[t][d] as f64;
            assert!(
                (got - expect).abs() < 1e-5,
                "floor {floor}, step {t}: {got} vs {expect}"
            );
        }
    }
}

/// Records the batch size of every call and predicts the data mean.
struct Batches(std::sync::Arc<std::sync::Mutex<Vec<usize>>>);
impl Denoiser for Batches {
    fn backend(&self) -> String {
        "batches".into()
    }
    fn denoise(&mut self, s: &Sequence) -> Result<Prediction> {
        self.0.lock().unwrap().push(s.batch);
        Ok(Prediction {
            states: vec![0.0; s.states.len()],
            actions: vec![0.0; s.actions.len()],
        })
    }
}

/// Plans for a joystick task use the joystick profile — symmetrised calls (batches of two), at
/// most `joystick_max_calls` of them, the joystick guidance step — and every other plan the
/// base settings, switching back and forth with the task.
#[test]
fn joystick_tasks_plan_with_their_own_profile() {
    use g1::bodypos::layout::ROOT_LIN_VEL;
    let m = default_manifest();
    let d = ROOT_LIN_VEL.start;
    let mean = m.stats.state_mean[d];
    let (hist_s, hist_a) = zero_history();
    let mut guidance = g1_guidance::Guidance::default();
    let v = mean + 0.05;
    guidance.push(1.0, g1_guidance::Joystick::constant([v, 0.0]));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let config = PlannerConfig {
        max_calls: 4,
        guidance_scale: 0.5,
        max_guidance_step: 1e6,
        joystick_symmetric: true,
        joystick_max_calls: 2,
        joystick_guidance_scale: 1.5,
        ..Default::default()
    };
    let mut p = Planner::new(Box::new(Batches(seen.clone())), m, config).unwrap();
    assert_eq!(p.backend(), "batches (symmetrised for joystick tasks)");
    for (joystick, batch, calls, lambda) in
        [(false, 1, 4, 0.5), (true, 2, 2, 1.5), (false, 1, 4, 0.5)]
    {
        p.set_task(joystick.then_some(([v, 0.0], 0.0)));
        seen.lock().unwrap().clear();
        let plan = p.plan(0, &hist_s, &hist_a, &guidance, None).unwrap();
        assert_eq!(plan.denoiser_calls, calls, "joystick {joystick}");
        assert_eq!(
            *seen.lock().unwrap(),
            vec![batch; calls],
            "joystick {joystick}"
        );
        // The forward velocity mirrors onto itself, so the mean prediction stays the mean and
        // the last guidance step (physical units, σ above the floor) moves it by λ (v − mean).
        let expect = mean + lambda * (v - mean);
        for t in 5..plan.states.len() {
            let got = plan.states[t][d] as f64;
            assert!(
                (got - expect).abs() < 1e-5,
                "joystick {joystick}, step {t}: {got} vs {expect}"
            );
        }
    }
}

/// The controller plans a joystick task with the joystick profile and a waypoint task with
/// the base settings; with `joystick_min_speed_mps`, a turn on the spot (a yaw rate, no
/// planar speed) with the base settings too, while standing still keeps the joystick plans.
#[test]
fn the_controller_picks_the_profile_by_task() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let joystick = |vx: f64, wz: f64| Task::Joystick {
        velocity: [vx, 0.0],
        yaw_rate: wz,
    };
    for (task, min_speed, calls, batch) in [
        (joystick(0.3, 0.0), 0.0, 2, 2),
        (Task::Waypoint { goal: [2.0, 0.0] }, 0.0, 4, 1),
        (joystick(0.0, 0.6), 0.0, 2, 2),
        (joystick(0.0, 0.6), 0.15, 4, 1),
        (joystick(0.0, 0.0), 0.15, 2, 2),
    ] {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let config = PlannerConfig {
            max_calls: 4,
            joystick_symmetric: true,
            joystick_max_calls: 2,
            joystick_min_speed_mps: min_speed,
            ..Default::default()
        };
        let planner =
            Planner::new(Box::new(Batches(seen.clone())), default_manifest(), config).unwrap();
        let mut sim = g1_sim::Sim::new(&repo.join("assets"), g1_sim::SimConfig::default()).unwrap();
        let init = g1_eval::standing_start(&mut sim);
        sim.reset(&init, 0).unwrap();
        let mut c = ctl(planner, ControlConfig::default(), 5.0);
        let out = drive(&mut sim, &mut c, &|_, _| task.clone(), 3, |_, _, _, _| {}).unwrap();
        assert!(!out.denoiser_calls.is_empty(), "{task:?}: no plan");
        assert!(
            out.denoiser_calls.iter().all(|&n| n == calls),
            "{task:?}: {:?}",
            out.denoiser_calls
        );
        assert!(seen.lock().unwrap().iter().all(|&b| b == batch), "{task:?}");
    }
}

#[test]
fn a_minimum_plan_delay_holds_plans_back() {
    for min_delay in [1u64, 3] {
        let (mut sim, planner) = setup(usize::MAX);
        let cfg = ControlConfig {
            min_plan_delay_steps: min_delay,
            ..Default::default()
        };
        let mut c = ctl(planner, cfg, 0.0);
        let out = drive(&mut sim, &mut c, &|_, _| Task::Free, 12, |_, _, _, _| {}).unwrap();
        let first = out
            .log
            .iter()
            .position(|l| l.mode == g1_control::StepMode::Plan)
            .unwrap() as u64;
        // The latency model says 0 ms: the floor decides.
        assert_eq!(first, min_delay, "min delay {min_delay}");
        let ages: Vec<u64> = out.log.iter().filter_map(|l| l.plan_age_steps).collect();
        assert!(ages.iter().all(|a| *a >= min_delay), "{ages:?}");
        // Plans are started once the previous one landed: one per `min_delay` steps.
        assert!(
            out.plans as u64 <= 12 / min_delay + 1,
            "{} plans",
            out.plans
        );
    }
}

/// A plan lands ⌈latency / period⌉ steps after its state (at least one): 50 ms → 3 steps, a
/// plan every 3 steps; whatever the plan's own compute time.
#[test]
fn plans_land_when_the_latency_model_says() {
    for (ms, steps) in [(1.0, 1u64), (20.0, 1), (20.5, 2), (50.0, 3)] {
        let (mut sim, planner) = setup(usize::MAX);
        let mut c = ctl(planner, ControlConfig::default(), ms);
        let out = drive(&mut sim, &mut c, &|_, _| Task::Free, 13, |_, _, _, _| {}).unwrap();
        let ages: Vec<Option<u64>> = out.log.iter().map(|l| l.plan_age_steps).collect();
        let first = ages.iter().position(|a| a.is_some()).unwrap() as u64;
        assert_eq!(first, steps, "{ms} ms: {ages:?}");
        assert_eq!(out.plans as u64, 13_u64.div_ceil(steps), "{ms} ms");
        // Every executed plan is between `steps` and 2·steps − 1 steps old.
        assert!(
            ages.iter()
                .flatten()
                .all(|a| (steps..2 * steps).contains(a)),
            "{ms} ms: {ages:?}"
        );
    }
}

/// Measured latencies are drawn from the controller's seeded stream: the same seed lands the
/// same plans at the same steps, another seed differently; a latency file names bad samples.
#[test]
fn measured_latency_is_drawn_per_seed() {
    let model = LatencyModel::Measured {
        source: "test".into(),
        samples_ms: vec![5.0, 30.0, 55.0],
    };
    let lands = |seed: u64| {
        let (_, planner) = setup(usize::MAX);
        let mut c = Controller::new(planner, ControlConfig::default(), model.clone()).unwrap();
        c.reset(seed);
        let (mut sim, _) = setup(usize::MAX);
        let mut at = vec![];
        for _ in 0..40 {
            let (s, f) = g1_eval::observe_ground_truth(&sim);
            let o = g1_control::Observation {
                state: s,
                frame: f,
                q: sim.ground_truth().q,
                dq: sim.ground_truth().dq,
                executed: None,
                task: &Task::Free,
                obstacles: &[],
            };
            let (_, plan) = c.step(&o);
            at.extend(plan.map(|p| p.lands_at));
            sim.step_control();
        }
        at
    };
    let a = lands(7);
    assert_eq!(a, lands(7));
    assert_ne!(a, lands(8));
    let gaps: std::collections::BTreeSet<u64> = a.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| [1, 2, 3].contains(g)), "{gaps:?}");
    assert!(gaps.len() >= 2, "one latency drawn every time: {gaps:?}");
    let dir = std::env::temp_dir().join(format!("g1d-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("lat.json");
    std::fs::write(&f, r#"{"source": "x", "samples_ms": [3.0, -1.0]}"#).unwrap();
    let err = format!(
        "{:#}",
        LatencyModel::parse(f.to_str().unwrap()).unwrap_err()
    );
    assert!(err.contains("-1"), "{err}");
    assert!(LatencyModel::parse("fixed:abc").is_err());
    assert_eq!(
        LatencyModel::parse("fixed:20").unwrap(),
        LatencyModel::Fixed { ms: 20.0 }
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_planner_settings_name_the_key() {
    for (config, key) in [
        (
            PlannerConfig {
                precondition_floor: -0.1,
                ..Default::default()
            },
            "precondition_floor",
        ),
        (
            PlannerConfig {
                precondition_floor: f64::NAN,
                ..Default::default()
            },
            "precondition_floor",
        ),
        (
            PlannerConfig {
                roll_action_level: 21,
                ..Default::default()
            },
            "roll_action_level",
        ),
        (
            PlannerConfig {
                joystick_guidance_scale: -1.0,
                ..Default::default()
            },
            "joystick_guidance_scale",
        ),
        (
            PlannerConfig {
                joystick_min_speed_mps: f64::NAN,
                ..Default::default()
            },
            "joystick_min_speed_mps",
        ),
    ] {
        let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let err = Planner::new(Box::new(Counting(n)), default_manifest(), config)
            .err()
            .expect("accepted a bad setting")
            .to_string();
        assert!(err.contains(key), "{err}");
    }
}

/// A non-finite or negative sampling temperature is refused with its key named (it used to run
/// with every plan failing and report no fall).
#[test]
fn a_nan_temperature_is_refused() {
    for t in [f64::NAN, -1.0, f64::INFINITY] {
        let cfg = g1_control::PlannerConfig {
            temperature: t,
            ..Default::default()
        };
        let e = format!("{:#}", cfg.check(20).unwrap_err());
        assert!(e.contains("planner.temperature"), "{e}");
    }
    assert!(g1_control::PlannerConfig::default().check(20).is_ok());
}
