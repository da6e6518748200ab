//! One robustness episode, and every condition × episode in parallel workers.
//!
//! Episode `e` of condition `c` is a pure function of `(seed, e, c)`: the start phase, the
//! commands, the initial perturbation and the noise streams come from the episode's seed, which
//! all conditions share, so conditions are compared on the same starts and commands.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result};
use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::{JOINTS, NUM_JOINTS};
use g1_expert::{Expert, MotionSpec, PolicyKind};
use g1_sim::{MotorCommand, Sim, SimConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::conditions::{Condition, RobustnessConfig};
use super::metrics::{self, CommandErrors, Frame, TrackingErrors};
use crate::collect::gauss;
use crate::rollout::{initial_state, robot_state};

/// What to test.
#[derive(Debug, Clone)]
pub struct RobustnessOptions {
    pub policy: PathBuf,
    /// Reference clip for a tracking policy in the Unitree format (default: its motion.yaml).
    pub motion: Option<MotionSpec>,
    pub episodes: usize,
    pub seed: u64,
    pub workers: usize,
    /// The simulator's base settings; each condition changes its friction, masses and pushes.
    pub sim: SimConfig,
}

/// What one episode did.
#[derive(Debug, Clone)]
pub struct EpisodeResult {
    pub condition: usize,
    pub episode: usize,
    pub steps: usize,
    pub fell: bool,
    pub fall_time_s: Option<f64>,
    /// The part of the termination rule a tracking episode broke, if it did (the episode's
    /// tracking metrics end there; the simulation runs on to catch a later fall).
    pub terminated: Option<&'static str>,
    /// Where in the clip (s into the loaded reference) the rule was broken.
    pub terminated_at_clip_s: Option<f64>,
    pub tracking: Option<TrackingErrors>,
    pub command: Option<CommandErrors>,
}

impl EpisodeResult {
    pub fn success(&self) -> bool {
        !self.fell && self.terminated.is_none()
    }
}

/// Whether a condition applies to a policy of `kind`; the reason when it does not.
pub fn applies(c: &Condition, kind: PolicyKind) -> Result<(), String> {
    if kind == PolicyKind::Velocity && c.motion_speed.is_some_and(|s| s != 1.0) {
        return Err("motion speed needs a tracking policy".into());
    }
    Ok(())
}

fn episode_seed(seed: u64, e: u64) -> u64 {
    // splitmix64 of (seed, e).
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((e + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Random velocity commands for an episode, held `hold` seconds each, within the policy's
/// trained ranges when it states them.
fn command_schedule(
    rng: &mut ChaCha8Rng,
    seconds: f64,
    hold: [f64; 2],
    ranges: Option<g1_expert::CommandRanges>,
) -> Vec<(f64, [f64; 3])> {
    let mut out = Vec::new();
    let mut t = 0.0;
    while t < seconds {
        let mut c = crate::collect::random_command(rng);
        if let Some(r) = ranges {
            c[0] = c[0].clamp(r.lin_vel_x[0], r.lin_vel_x[1]);
            c[1] = c[1].clamp(r.lin_vel_y[0], r.lin_vel_y[1]);
            c[2] = c[2].clamp(r.ang_vel_z[0], r.ang_vel_z[1]);
        }
        out.push((t, c));
        t += if hold[1] > hold[0] {
            rng.gen_range(hold[0]..hold[1])
        } else {
            hold[0]
        };
    }
    out
}

/// Runs episode `e` of condition `ci` with this worker's simulator and policy.
fn run_episode(
    sim: &mut Sim,
    expert: &mut Expert,
    cfg: &RobustnessConfig,
    ci: usize,
    e: usize,
    seed: u64,
) -> Result<EpisodeResult> {
    let cond = &cfg.conditions[ci];
    let dt = sim.control_dt_s();
    let es = episode_seed(seed, e as u64);
    // Separate streams, so that a condition's extra draws never shift another's.
    let stream = |k: u64| ChaCha8Rng::seed_from_u64(es ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let (mut plan_rng, mut init_rng, mut noise_rng) = (stream(1), stream(2), stream(3));
    let tracking = expert.kind == PolicyKind::MotionTracking;
    let mut steps = (cfg.episode_seconds / dt).round() as usize;
    let mut commands = Vec::new();
    let phase: f64 = plan_rng.gen();
    let speed = cond.motion_speed.unwrap_or(1.0);
    let mut start_s = 0.0;
    if tracking {
        expert.set_playback(0.0, 1.0)?;
        let clip_s = expert
            .motion_steps()
            .map_or(0.0, |n| n.saturating_sub(1) as f64 * dt);
        start_s = phase * (clip_s - cfg.episode_seconds * speed).max(0.0);
        expert.set_playback(start_s, speed)?;
        if let Some(n) = expert.motion_steps() {
            steps = steps.min(n);
        }
    } else {
        commands = command_schedule(
            &mut plan_rng,
            cfg.episode_seconds,
            cfg.command_hold_s,
            expert.command_ranges,
        );
    }
    let nominal = sim.config().foot_friction;
    sim.set_randomization(cond.randomization(nominal))?;
    sim.set_pushes(cond.pushes.clone())?;
    let mut init = initial_state(sim, expert)?;
    // A tracking episode starts in the reference's state, moving as the reference does (as
    // tracking policies are trained to start anywhere in their clip).
    if let (Some(f), Some((lin, ang))) = (expert.motion_start()?, expert.motion_start_velocity()?) {
        init.dq = f.dq;
        init.root.lin_vel_w = lin;
        init.root.ang_vel_w = ang;
    }
    if let Some(p) = &cond.initial {
        for (j, q) in init.q.iter_mut().enumerate() {
            let [lo, hi] = JOINTS[j].pos_limits_rad;
            if p.joint_rad > 0.0 {
                *q = (*q + init_rng.gen_range(-p.joint_rad..p.joint_rad)).clamp(lo, hi);
            }
        }
        let dir = init_rng.gen_range(0.0..std::f64::consts::TAU);
        let speed = init_rng.gen_range(0.0..=p.root_speed_mps);
        init.root.lin_vel_w += Vector3::new(speed * dir.cos(), speed * dir.sin(), 0.0);
        if p.yaw_rad > 0.0 {
            let yaw = init_rng.gen_range(-p.yaw_rad..p.yaw_rad);
            init.root.quat_w =
                UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw) * init.root.quat_w;
        }
        sim.place_on_ground(&mut init);
    }
    sim.reset(&init, es)?;
    expert
        .reset(&robot_state(sim))
        .context("resetting the policy")?;

    let mut queue: VecDeque<[f64; NUM_JOINTS]> = VecDeque::new();
    let (mut robot, mut reference, mut contacts) = (Vec::new(), Vec::new(), Vec::new());
    let (mut actual, mut commanded) = (Vec::new(), Vec::new());
    let mut result = EpisodeResult {
        condition: ci,
        episode: e,
        steps: 0,
        fell: false,
        fall_time_s: None,
        terminated: None,
        terminated_at_clip_s: None,
        tracking: None,
        command: None,
    };
    let mut cmd_i = 0;
    for k in 0..steps {
        let t = k as f64 * dt;
        while cmd_i + 1 < commands.len() && commands[cmd_i + 1].0 <= t {
            cmd_i += 1;
        }
        let command = commands.get(cmd_i).map_or([0.0; 3], |c| c.1);
        // Tracking metrics cover the episode up to an early termination; the simulation goes
        // on to the end, so that a fall after it still counts as one.
        if tracking && result.terminated.is_none() {
            let gt = sim.ground_truth();
            let r = expert.reference()?;
            let rf = Frame::anchored(&r.q_sdk, &r.torso_pos_w, &r.torso_quat_w);
            let kin = g1::forward_kinematics(&gt.root, &gt.q, &[0.0; NUM_JOINTS]);
            let f = Frame::from_kinematics(&kin, &gt.q);
            robot.push(f);
            reference.push(rf);
            contacts.push(sim.foot_contacts());
            if let Some(why) = cfg.termination.and_then(|t| t.check(&f, &rf)) {
                result.terminated = Some(why);
                result.terminated_at_clip_s = Some(start_s + k as f64 * dt * speed);
            }
        }
        let mut rs = robot_state(sim);
        if let Some(n) = &cond.sensor_noise {
            for v in rs.gyro_b.iter_mut() {
                *v += n.gyro * gauss(&mut noise_rng);
            }
            for j in 0..NUM_JOINTS {
                rs.q[j] += n.q * gauss(&mut noise_rng);
                rs.dq[j] += n.dq * gauss(&mut noise_rng);
            }
            let tilt = Vector3::new(
                gauss(&mut noise_rng),
                gauss(&mut noise_rng),
                gauss(&mut noise_rng),
            ) * n.tilt;
            let q = g1::quat_from_wxyz(rs.imu_quat_wxyz) * UnitQuaternion::from_scaled_axis(tilt);
            rs.imu_quat_wxyz = [q.w, q.i, q.j, q.k];
        }
        let a = expert.step(&rs, command)?;
        queue.push_back(a.q_target);
        while queue.len() > cond.action_delay_steps as usize + 1 {
            queue.pop_front();
        }
        let exec = queue.front().copied().unwrap_or(a.q_target);
        sim.set_command(&MotorCommand::with_gains(exec, a.kp, a.kd));
        sim.step_control();
        result.steps += 1;
        let gt = sim.ground_truth();
        if !tracking {
            let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
            let (c, s) = (yaw.cos(), yaw.sin());
            let v = gt.root.lin_vel_w;
            actual.push([c * v.x + s * v.y, -s * v.x + c * v.y, gt.root.ang_vel_w.z]);
            commanded.push(command);
        }
        if gt.fallen() {
            result.fell = true;
            result.fall_time_s = Some(gt.time_s);
            break;
        }
    }
    if tracking {
        result.tracking = Some(metrics::tracking_errors(&robot, &reference, &contacts, dt));
    } else {
        let settle = (cfg.command_settle_s / dt).round() as usize;
        result.command = Some(metrics::command_errors(&actual, &commanded, settle));
    }
    Ok(result)
}

/// Finished episodes of a run and how many it has (known once the policy is loaded).
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

/// The policy's name and kind, and every applicable condition × episode, run by `workers`
/// threads.
pub fn run(
    cfg: &RobustnessConfig,
    opts: &RobustnessOptions,
    assets: &Path,
    progress: &Progress,
) -> Result<(String, PolicyKind, Vec<EpisodeResult>)> {
    cfg.validate()?;
    anyhow::ensure!(opts.episodes >= 1, "--episodes must be at least 1");
    let load = || {
        Expert::load(&opts.policy, opts.motion.clone())
            .with_context(|| format!("loading policy {}", opts.policy.display()))
    };
    let probe = load()?;
    let (name, kind) = (probe.name.clone(), probe.kind);
    let dt = opts.sim.control_dt_s();
    anyhow::ensure!(
        (probe.step_dt_s - dt).abs() < 1e-9,
        "policy step_dt {} s differs from the simulator control period {dt} s",
        probe.step_dt_s
    );
    drop(probe);
    let jobs: Vec<(usize, usize)> = (0..cfg.conditions.len())
        .filter(|&c| applies(&cfg.conditions[c], kind).is_ok())
        .flat_map(|c| (0..opts.episodes).map(move |e| (c, e)))
        .collect();
    progress.total.store(jobs.len() as u64, Ordering::Relaxed);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    let workers = opts.workers.clamp(1, jobs.len().max(1));
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    let mut sim = Sim::new(assets, opts.sim.clone())?;
                    let mut expert = load()?;
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&(c, e)) = jobs.get(i) else {
                            return Ok(());
                        };
                        let r = run_episode(&mut sim, &mut expert, cfg, c, e, opts.seed)
                            .with_context(|| {
                                format!("condition {}, episode {e}", cfg.conditions[c].name)
                            })?;
                        results
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(r);
                        progress.done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join()
                .unwrap_or_else(|_| anyhow::bail!("a robustness worker panicked"))?;
        }
        Ok(())
    })?;
    let mut results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    results.sort_by_key(|r| (r.condition, r.episode));
    Ok((name, kind, results))
}
