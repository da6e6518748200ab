//! `g1d collect`: many simulated G1s in parallel, each driven by a Stage 1 expert with
//! randomised commands, action noise, action delay, observation noise, pushes and
//! friction/mass/CoM randomisation; every control step recorded into rosbag2 (MCAP) bags.
//!
//! Episode `e` of a collection is a pure function of `(seed, e)`: which worker runs it, how many
//! workers there are and which shard a machine takes never change its content.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use g1::{bodypos, forward_kinematics, Joint, JOINTS, NUM_JOINTS};
use g1_bag::{BagWriter, Qos, WriterOptions};
use g1_expert::{Expert, MotionSpec, MotionWindow, PolicyKind};
use g1_msgs::builtin_interfaces::Time;
use g1_msgs::g1d::{BodyPosState, EpisodeEvent, JointTargets};
use g1_msgs::geometry_msgs::{Point, Pose, Quaternion, Twist, TwistStamped, Vector3};
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::Header;
use g1_sim::{MotorCommand, PushConfig, Randomization, Sim, SimConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::rollout::{initial_state, robot_state};

/// Topics a collection records.
pub mod topics {
    pub const STATE: &str = "/g1d/state";
    pub const ACTION: &str = "/g1d/action";
    pub const JOINT_STATES: &str = "/joint_states";
    pub const COMMAND: &str = "/g1d/command";
    pub const REFERENCE: &str = "/g1d/reference";
    pub const EPISODE: &str = "/g1d/episode";
}

/// Noise and delay injected per episode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NoiseConfig {
    /// Gaussian action noise std (normalised action units) per joint group, before the
    /// per-episode scale.
    pub action_std_legs: f64,
    pub action_std_waist: f64,
    pub action_std_arms: f64,
    /// Per-episode factor on the action noise, drawn uniformly from this range.
    pub action_noise_scale: [f64; 2],
    /// Action delay in whole control steps, drawn uniformly from 0..=max per episode.
    pub max_delay_steps: u32,
    /// Observation noise std: gyro (rad/s), joint positions (rad), joint velocities (rad/s).
    pub obs_std_gyro: f64,
    pub obs_std_q: f64,
    pub obs_std_dq: f64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            action_std_legs: 0.1,
            action_std_waist: 0.1,
            action_std_arms: 0.15,
            action_noise_scale: [0.0, 1.0],
            max_delay_steps: 1,
            obs_std_gyro: 0.05,
            obs_std_q: 0.005,
            obs_std_dq: 0.2,
        }
    }
}

/// Everything a collection needs; stored in every bag it writes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CollectConfig {
    pub policies: Vec<PathBuf>,
    pub sim_hours: f64,
    pub seed: u64,
    /// `(i, n)`: this machine records the episodes `e` with `e % n == i`.
    pub shard: (usize, usize),
    pub workers: usize,
    /// Length of an episode (mimic episodes: a random window of the clip this long, or the
    /// whole clip when it is shorter).
    pub episode_seconds: f64,
    /// Keep episodes that fell (up to the fall) instead of discarding them.
    pub keep_falls: bool,
    pub noise: NoiseConfig,
    pub pushes: Option<PushConfig>,
    pub randomization: Randomization,
    /// Velocity commands are held for a duration drawn from this range (s).
    pub command_hold_s: [f64; 2],
    /// Which velocity commands are drawn ([`CommandSpace`]).
    pub command_space: CommandSpace,
    /// zstd level of the bags.
    pub compression_level: u32,
    /// Tracking (mimic) policies are more fragile than the velocity policy: their action and
    /// observation noise is multiplied by this factor, their delay capped at
    /// `tracking_max_delay_steps`, and pushes applied only if `tracking_pushes`.
    pub tracking_noise_factor: f64,
    pub tracking_max_delay_steps: u32,
    pub tracking_pushes: bool,
}

impl Default for CollectConfig {
    fn default() -> Self {
        Self {
            policies: Vec::new(),
            sim_hours: 1.0,
            seed: 0,
            shard: (0, 1),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            episode_seconds: 20.0,
            keep_falls: false,
            noise: NoiseConfig::default(),
            pushes: Some(PushConfig {
                interval_s: [1.0, 3.0],
                max_speed_mps: 0.5,
            }),
            randomization: Randomization::training(),
            command_hold_s: [1.0, 4.0],
            command_space: CommandSpace::Classes,
            compression_level: 3,
            tracking_noise_factor: 0.3,
            tracking_max_delay_steps: 0,
            tracking_pushes: false,
        }
    }
}

impl CollectConfig {
    pub fn validate(&self) -> Result<()> {
        if self.policies.is_empty() {
            bail!("at least one --policy is needed");
        }
        if !(self.sim_hours.is_finite() && self.sim_hours > 0.0) {
            bail!("--sim-hours must be positive, got {}", self.sim_hours);
        }
        let (i, n) = self.shard;
        if n == 0 || i >= n {
            bail!("--shard {i}/{n}: need 0 <= i < n");
        }
        if self.workers == 0 || self.workers > 256 {
            bail!("--workers must be in 1..=256, got {}", self.workers);
        }
        if !(self.episode_seconds >= 1.0 && self.episode_seconds <= 3600.0) {
            bail!(
                "episode_seconds must be in [1, 3600], got {}",
                self.episode_seconds
            );
        }
        let h = self.command_hold_s;
        if !(h[0] > 0.0 && h[0] <= h[1]) {
            bail!("command_hold_s {h:?} must be an ordered range of positive seconds");
        }
        let nz = &self.noise;
        for (k, v) in [
            ("noise.action_std_legs", nz.action_std_legs),
            ("noise.action_std_waist", nz.action_std_waist),
            ("noise.action_std_arms", nz.action_std_arms),
            ("noise.obs_std_gyro", nz.obs_std_gyro),
            ("noise.obs_std_q", nz.obs_std_q),
            ("noise.obs_std_dq", nz.obs_std_dq),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                bail!("{k} = {v}: must be in [0, 1]");
            }
        }
        let s = nz.action_noise_scale;
        if !(s[0] >= 0.0 && s[0] <= s[1] && s[1] <= 10.0) {
            bail!("noise.action_noise_scale {s:?} must be an ordered range in [0, 10]");
        }
        if nz.max_delay_steps > 25 {
            bail!(
                "noise.max_delay_steps = {} (> 0.5 s) is not a latency a controller should see",
                nz.max_delay_steps
            );
        }
        self.randomization.validate()?;
        if let Some(p) = &self.pushes {
            p.validate()?;
        }
        Ok(())
    }
}

/// The per-episode draws (recorded in the bag's episode events).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EpisodePlan {
    pub episode: u64,
    pub seed: u64,
    pub policy: String,
    pub action_noise_scale: f64,
    /// Factor on the configured observation noise.
    pub obs_noise_scale: f64,
    pub delay_steps: u32,
    pub pushes: bool,
    /// Velocity policies: `(start time s, [vx, vy, wz])`.
    pub commands: Vec<(f64, [f64; 3])>,
    /// Tracking policies: start of the clip window (s).
    pub motion_start_s: Option<f64>,
    pub seconds: f64,
}

/// One standard-normal draw.
pub(crate) fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

fn episode_seed(seed: u64, e: u64) -> u64 {
    // splitmix64 of (seed, e): independent streams per episode.
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(e.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The velocity commands a collection draws for velocity policies.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CommandSpace {
    /// [`random_command`]: stops, forward walking with a little turning, backward, sideways
    /// steps with a little forward speed, and forward turns — one motion at a time (what the
    /// shipped model's data hold).
    #[default]
    Classes,
    /// [`full_command`]: the whole command box a joystick user reaches (vx −0.5…0.8,
    /// vy −0.4…0.4 m/s, wz −0.8…0.8 rad/s): stops, pure forward/backward, pure sideways,
    /// turning on the spot, and in half the draws any combination of the three.
    Full,
}

impl CommandSpace {
    pub fn draw(self, rng: &mut ChaCha8Rng) -> [f64; 3] {
        match self {
            Self::Classes => random_command(rng),
            Self::Full => full_command(rng),
        }
    }
}

/// The box [`CommandSpace::Full`] draws from: vx, vy (m/s), wz (rad/s).
pub const FULL_COMMAND_BOX: [[f64; 2]; 3] = [[-0.5, 0.8], [-0.4, 0.4], [-0.8, 0.8]];

/// A command from the whole joystick box ([`FULL_COMMAND_BOX`]): 10 % stops, 10 % pure
/// forward or backward, 15 % pure sideways, 15 % turning on the spot, 50 % uniform over the box
/// (combined commands: backward and sideways, sideways while turning, …).
pub fn full_command(rng: &mut ChaCha8Rng) -> [f64; 3] {
    let [bx, by, bz] = FULL_COMMAND_BOX;
    let sign = |rng: &mut ChaCha8Rng| if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
    let u: f64 = rng.gen();
    if u < 0.10 {
        [0.0, 0.0, 0.0]
    } else if u < 0.20 {
        [rng.gen_range(bx[0]..bx[1]), 0.0, 0.0]
    } else if u < 0.35 {
        [0.0, sign(rng) * rng.gen_range(0.15..by[1]), 0.0]
    } else if u < 0.50 {
        [0.0, 0.0, sign(rng) * rng.gen_range(0.2..bz[1])]
    } else {
        [
            rng.gen_range(bx[0]..bx[1]),
            rng.gen_range(by[0]..by[1]),
            rng.gen_range(bz[0]..bz[1]),
        ]
    }
}

/// A randomised velocity command: stops, walking forward/backward, sideways steps and turns,
/// within the velocity policy's trained ranges.
pub fn random_command(rng: &mut ChaCha8Rng) -> [f64; 3] {
    let u: f64 = rng.gen();
    let sign = |rng: &mut ChaCha8Rng| if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
    if u < 0.12 {
        [0.0, 0.0, 0.0]
    } else if u < 0.45 {
        [rng.gen_range(0.3..1.0), 0.0, rng.gen_range(-0.3..0.3)]
    } else if u < 0.57 {
        [rng.gen_range(-0.5..-0.2), 0.0, 0.0]
    } else if u < 0.72 {
        [
            rng.gen_range(-0.1..0.2),
            sign(rng) * rng.gen_range(0.2..0.5),
            0.0,
        ]
    } else {
        [
            rng.gen_range(0.0..0.6),
            0.0,
            sign(rng) * rng.gen_range(0.3..1.0),
        ]
    }
}

struct PolicyInfo {
    dir: PathBuf,
    name: String,
    kind: PolicyKind,
    motion: Option<MotionSpec>,
    /// Clip window length (s) for tracking policies.
    clip_seconds: Option<f64>,
}

fn plan_episode(cfg: &CollectConfig, policies: &[PolicyInfo], e: u64) -> EpisodePlan {
    let seed = episode_seed(cfg.seed, e);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let p = rng.gen_range(0..policies.len());
    let pol = &policies[p];
    let s = cfg.noise.action_noise_scale;
    let action_noise_scale = if s[1] > s[0] {
        rng.gen_range(s[0]..s[1])
    } else {
        s[0]
    };
    let tracking = pol.kind == PolicyKind::MotionTracking;
    let max_delay = if tracking {
        cfg.noise.max_delay_steps.min(cfg.tracking_max_delay_steps)
    } else {
        cfg.noise.max_delay_steps
    };
    let delay_steps = rng.gen_range(0..=max_delay);
    let action_noise_scale = if tracking {
        action_noise_scale * cfg.tracking_noise_factor
    } else {
        action_noise_scale
    };
    let obs_noise_scale = if tracking {
        cfg.tracking_noise_factor
    } else {
        1.0
    };
    let mut commands = Vec::new();
    let mut motion_start_s = None;
    let mut seconds = cfg.episode_seconds;
    match pol.kind {
        PolicyKind::Velocity => {
            let mut t = 0.0;
            while t < seconds {
                commands.push((t, cfg.command_space.draw(&mut rng)));
                let h = cfg.command_hold_s;
                t += if h[1] > h[0] {
                    rng.gen_range(h[0]..h[1])
                } else {
                    h[0]
                };
            }
        }
        PolicyKind::MotionTracking => {
            let clip = pol.clip_seconds.unwrap_or(seconds);
            let w0 = pol.motion.as_ref().map_or(0.0, |m| m.window.start_s);
            if clip <= seconds {
                seconds = clip;
                motion_start_s = Some(w0);
            } else {
                motion_start_s = Some(w0 + rng.gen_range(0.0..clip - seconds));
            }
        }
    }
    EpisodePlan {
        episode: e,
        seed,
        policy: pol.name.clone(),
        action_noise_scale,
        obs_noise_scale,
        delay_steps,
        pushes: !tracking || cfg.tracking_pushes,
        commands,
        motion_start_s,
        seconds,
    }
}

/// One recorded control step.
struct StepRecord {
    time_ns: u64,
    state: Vec<f32>,
    root_pose: Pose,
    root_twist: Twist,
    action: [f64; NUM_JOINTS],
    q_target: [f64; NUM_JOINTS],
    q: [f64; NUM_JOINTS],
    dq: [f64; NUM_JOINTS],
    tau: [f64; NUM_JOINTS],
    command: [f64; 3],
    reference: Option<[f64; NUM_JOINTS]>,
}

impl EpisodePlan {
    /// The conditions this episode ran under that a collection varies: the action delay and
    /// whether pushes were on (noise scales are drawn continuously and left out).
    pub fn condition(&self) -> String {
        format!(
            "delay {} step{}, {}",
            self.delay_steps,
            if self.delay_steps == 1 { "" } else { "s" },
            if self.pushes { "pushes" } else { "no pushes" }
        )
    }
}

/// Episodes and falls under one condition.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConditionTotals {
    pub episodes: u64,
    pub falls: u64,
}

/// Outcome of one episode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EpisodeOutcome {
    pub steps: u64,
    pub fell: bool,
    pub kept: bool,
}

/// Per-policy totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyTotals {
    pub episodes: u64,
    pub falls: u64,
    /// The same per condition ([`EpisodePlan::condition`]).
    pub by_condition: BTreeMap<String, ConditionTotals>,
    pub kept_episodes: u64,
    pub recorded_steps: u64,
    pub simulated_steps: u64,
}

impl PolicyTotals {
    pub fn fall_rate(&self) -> f64 {
        self.falls as f64 / self.episodes.max(1) as f64
    }
}

/// What a collection did.
#[derive(Debug, Clone, Serialize)]
pub struct CollectSummary {
    pub bags: Vec<PathBuf>,
    pub episodes: u64,
    pub recorded_hours: f64,
    pub simulated_hours: f64,
    pub wall_s: f64,
    /// Simulated time / wall time, whole machine.
    pub realtime_factor: f64,
    /// The same per worker thread.
    pub realtime_factor_per_worker: f64,
    pub workers: usize,
    pub per_policy: BTreeMap<String, PolicyTotals>,
}

fn joint_names() -> Vec<String> {
    JOINTS.iter().map(|j| j.model_name()).collect()
}

fn time_msg(ns: u64) -> Time {
    Time::from_nanos(ns)
}

/// A ROS pose from a position and orientation.
pub fn pose_of(p: &g1::nalgebra::Vector3<f64>, q: &g1::nalgebra::UnitQuaternion<f64>) -> Pose {
    Pose {
        position: Point {
            x: p.x,
            y: p.y,
            z: p.z,
        },
        orientation: Quaternion {
            x: q.i,
            y: q.j,
            z: q.k,
            w: q.w,
        },
    }
}

/// A ROS vector.
pub fn vec3(v: &g1::nalgebra::Vector3<f64>) -> Vector3 {
    Vector3 {
        x: v.x,
        y: v.y,
        z: v.z,
    }
}

fn group_std(cfg: &NoiseConfig) -> [f64; NUM_JOINTS] {
    std::array::from_fn(|i| {
        let name = Joint::ALL[i].name();
        if name.contains("hip") || name.contains("knee") || name.contains("ankle") {
            cfg.action_std_legs
        } else if name.contains("waist") {
            cfg.action_std_waist
        } else {
            cfg.action_std_arms
        }
    })
}

struct BagTopics {
    state: g1_bag::Topic<BodyPosState>,
    action: g1_bag::Topic<JointTargets>,
    joints: g1_bag::Topic<JointState>,
    command: g1_bag::Topic<TwistStamped>,
    reference: g1_bag::Topic<JointState>,
    episode: g1_bag::Topic<EpisodeEvent>,
}

fn open_topics(w: &mut BagWriter) -> Result<BagTopics> {
    Ok(BagTopics {
        state: w.topic(topics::STATE, Qos::Reliable)?,
        action: w.topic(topics::ACTION, Qos::Reliable)?,
        joints: w.topic(topics::JOINT_STATES, Qos::SensorData)?,
        command: w.topic(topics::COMMAND, Qos::Reliable)?,
        reference: w.topic(topics::REFERENCE, Qos::Reliable)?,
        episode: w.topic(topics::EPISODE, Qos::Reliable)?,
    })
}

/// Runs one episode in `sim`, returning its recorded steps.
fn run_episode(
    sim: &mut Sim,
    expert: &mut Expert,
    plan: &EpisodePlan,
    cfg: &CollectConfig,
    t0_ns: u64,
    progress: &AtomicU64,
) -> Result<(Vec<StepRecord>, EpisodeOutcome)> {
    let dt = sim.control_dt_s();
    let dt_ns = (dt * 1e9).round() as u64;
    sim.set_pushes(if plan.pushes {
        cfg.pushes.clone()
    } else {
        None
    })?;
    let init = initial_state(sim, expert)?;
    sim.reset(&init, plan.seed)?;
    expert.reset(&robot_state(sim))?;
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed ^ 0xA5A5_5A5A);
    let std = group_std(&cfg.noise);
    let (offset, scale) = expert.action_map_sdk();
    let (kp, kd) = expert.gains();
    let mut steps_total = (plan.seconds / dt).round() as usize;
    if let Some(n) = expert.motion_steps() {
        steps_total = steps_total.min(n);
    }
    let mut queue: VecDeque<[f64; NUM_JOINTS]> = VecDeque::new();
    let mut out = Vec::with_capacity(steps_total);
    let mut fell = false;
    let mut cmd_i = 0;
    for k in 0..steps_total {
        let t_s = k as f64 * dt;
        while cmd_i + 1 < plan.commands.len() && plan.commands[cmd_i + 1].0 <= t_s {
            cmd_i += 1;
        }
        let command = plan.commands.get(cmd_i).map_or([0.0; 3], |c| c.1);
        let gt = sim.ground_truth();
        let kin = forward_kinematics(&gt.root, &gt.q, &gt.dq);
        let state = bodypos::build_state_self(&kin);
        let sensors = sim.sensors();
        let mut rs = robot_state(sim);
        for v in rs.gyro_b.iter_mut() {
            *v += plan.obs_noise_scale * cfg.noise.obs_std_gyro * gauss(&mut rng);
        }
        for j in 0..NUM_JOINTS {
            rs.q[j] += plan.obs_noise_scale * cfg.noise.obs_std_q * gauss(&mut rng);
            rs.dq[j] += plan.obs_noise_scale * cfg.noise.obs_std_dq * gauss(&mut rng);
        }
        let reference = if expert.kind == PolicyKind::MotionTracking {
            Some(expert.reference()?.q_sdk)
        } else {
            None
        };
        let a = expert.step(&rs, command)?;
        let noisy: [f64; NUM_JOINTS] = std::array::from_fn(|j| {
            a.normalized[j] + plan.action_noise_scale * std[j] * gauss(&mut rng)
        });
        queue.push_back(noisy);
        while queue.len() > plan.delay_steps as usize + 1 {
            queue.pop_front();
        }
        let exec = queue.front().copied().unwrap_or(noisy);
        let q_target: [f64; NUM_JOINTS] = std::array::from_fn(|j| offset[j] + scale[j] * exec[j]);
        sim.set_command(&MotorCommand::with_gains(q_target, kp, kd));
        out.push(StepRecord {
            time_ns: t0_ns + k as u64 * dt_ns,
            state: state.iter().map(|&x| x as f32).collect(),
            root_pose: pose_of(&gt.root.pos_w, &gt.root.quat_w),
            root_twist: Twist {
                linear: vec3(&gt.root.lin_vel_w),
                angular: vec3(&gt.root.ang_vel_w),
            },
            action: exec,
            q_target,
            q: gt.q,
            dq: gt.dq,
            tau: sensors.tau,
            command,
            reference,
        });
        sim.step_control();
        progress.fetch_add(1, Ordering::Relaxed);
        let gt = sim.ground_truth();
        if gt.fallen() {
            fell = true;
            break;
        }
    }
    let n = out.len() as u64;
    Ok((
        out,
        EpisodeOutcome {
            steps: n,
            fell,
            kept: !fell || cfg.keep_falls,
        },
    ))
}

fn write_episode(
    w: &mut BagWriter,
    t: &BagTopics,
    plan: &EpisodePlan,
    recs: &[StepRecord],
    outcome: &EpisodeOutcome,
    kp: &[f64; NUM_JOINTS],
    kd: &[f64; NUM_JOINTS],
    names: &[String],
) -> Result<()> {
    let Some(first) = recs.first() else {
        return Ok(());
    };
    let params = serde_yaml::to_string(plan)?;
    let event = |kind: u8, time_ns: u64| EpisodeEvent {
        header: Header::new(time_msg(time_ns), "odom"),
        event: kind,
        episode: plan.episode,
        policy_id: plan.policy.clone(),
        seed: plan.seed,
        fell: outcome.fell,
        steps: outcome.steps as u32,
        parameters: params.clone(),
    };
    w.write(
        &t.episode,
        first.time_ns,
        &event(EpisodeEvent::START, first.time_ns),
    )?;
    let kp32: Vec<f32> = kp.iter().map(|&x| x as f32).collect();
    let kd32: Vec<f32> = kd.iter().map(|&x| x as f32).collect();
    for r in recs {
        let h = Header::new(time_msg(r.time_ns), "odom");
        w.write(
            &t.state,
            r.time_ns,
            &BodyPosState {
                header: h.clone(),
                layout_version: bodypos::LAYOUT_VERSION,
                state: r.state.clone(),
                root_pose: r.root_pose,
                root_twist: r.root_twist,
            },
        )?;
        w.write(
            &t.action,
            r.time_ns,
            &JointTargets {
                header: h.clone(),
                policy_id: plan.policy.clone(),
                action: r.action.iter().map(|&x| x as f32).collect(),
                q_target: r.q_target.to_vec(),
                kp: kp32.clone(),
                kd: kd32.clone(),
            },
        )?;
        w.write(
            &t.joints,
            r.time_ns,
            &JointState {
                header: Header::new(time_msg(r.time_ns), ""),
                name: names.to_vec(),
                position: r.q.to_vec(),
                velocity: r.dq.to_vec(),
                effort: r.tau.to_vec(),
            },
        )?;
        match &r.reference {
            None => w.write(
                &t.command,
                r.time_ns,
                &TwistStamped {
                    header: Header::new(time_msg(r.time_ns), "pelvis"),
                    twist: Twist {
                        linear: Vector3 {
                            x: r.command[0],
                            y: r.command[1],
                            z: 0.0,
                        },
                        angular: Vector3 {
                            x: 0.0,
                            y: 0.0,
                            z: r.command[2],
                        },
                    },
                },
            )?,
            Some(q) => w.write(
                &t.reference,
                r.time_ns,
                &JointState {
                    header: Header::new(time_msg(r.time_ns), ""),
                    name: names.to_vec(),
                    position: q.to_vec(),
                    velocity: vec![],
                    effort: vec![],
                },
            )?,
        }
    }
    let last = recs.last().map_or(first.time_ns, |r| r.time_ns);
    w.write(&t.episode, last, &event(EpisodeEvent::END, last))?;
    Ok(())
}

/// SHA-256 of a file (hex), read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// The repository's git revision (and `-dirty`), or `unknown` outside a checkout.
pub fn git_revision(repo: &Path) -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(rev) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}-dirty")
            } else {
                rev
            }
        }
        None => "unknown".into(),
    }
}

/// Hashes of a policy's files (what exactly produced the data).
pub fn policy_hashes(dir: &Path) -> Result<String> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading policy directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "onnx" || e == "yaml" || e == "csv")
        })
        .collect();
    entries.sort();
    for p in entries {
        out.push(format!(
            "{}: {}",
            p.file_name().unwrap_or_default().to_string_lossy(),
            sha256_file(&p)?
        ));
    }
    Ok(out.join("\n"))
}

/// Runs a collection into `out` (a directory holding one bag per worker).
/// `progress` counts simulated control steps as they happen.
pub fn collect(
    cfg: &CollectConfig,
    assets: &Path,
    out: &Path,
    progress: &AtomicU64,
) -> Result<CollectSummary> {
    cfg.validate()?;
    let policies = load_policies(cfg)?;
    let control_dt = SimConfig::default().control_dt_s();
    let ep_steps = (cfg.episode_seconds / control_dt).round() as u64;
    let total_episodes = ((cfg.sim_hours * 3600.0) / cfg.episode_seconds).ceil() as u64;
    let (shard_i, shard_n) = cfg.shard;
    let mine: Vec<u64> = (0..total_episodes)
        .filter(|e| (*e % shard_n as u64) == shard_i as u64)
        .collect();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;

    let mut run = BTreeMap::new();
    run.insert("tool".to_string(), "g1d collect".to_string());
    run.insert("config".to_string(), serde_yaml::to_string(cfg)?);
    let repo = assets.parent().unwrap_or(assets);
    run.insert("git_revision".to_string(), git_revision(repo));
    for p in &policies {
        run.insert(format!("policy_hashes/{}", p.name), policy_hashes(&p.dir)?);
    }
    run.insert(
        "state_layout_version".to_string(),
        bodypos::LAYOUT_VERSION.to_string(),
    );
    run.insert(
        "sim_config".to_string(),
        serde_yaml::to_string(&sim_config(cfg))?,
    );

    let next = AtomicUsize::new(0);
    let totals: Mutex<BTreeMap<String, PolicyTotals>> = Mutex::new(BTreeMap::new());
    let workers = cfg.workers.min(mine.len().max(1));
    let started = Instant::now();
    let bags: Vec<PathBuf> = std::thread::scope(|s| -> Result<Vec<PathBuf>> {
        let mut handles = Vec::new();
        for wk in 0..workers {
            let (mine, next, totals, policies, run) = (&mine, &next, &totals, &policies, &run);
            handles.push(s.spawn(move || -> Result<PathBuf> {
                let name = format!("shard{shard_i:03}of{shard_n:03}_w{wk:02}");
                let dir = out.join(&name);
                let mut w = BagWriter::create(
                    &dir,
                    WriterOptions {
                        compression_level: cfg.compression_level,
                        run_metadata: run.clone(),
                        ..Default::default()
                    },
                )?;
                let t = open_topics(&mut w)?;
                let mut sim = Sim::new(assets, sim_config(cfg))?;
                let names = joint_names();
                let mut cache: BTreeMap<usize, Expert> = BTreeMap::new();
                let mut clock_ns: u64 = 1_000_000_000;
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&e) = mine.get(i) else { break };
                    let plan = plan_episode(cfg, policies, e);
                    let (pi, pol) = policies
                        .iter()
                        .enumerate()
                        .find(|(_, p)| p.name == plan.policy)
                        .with_context(|| format!("episode {e}: no policy {}", plan.policy))?;
                    let mut fresh;
                    let expert: &mut Expert = match (pol.kind, &pol.motion, plan.motion_start_s) {
                        (PolicyKind::MotionTracking, Some(_), Some(_)) => {
                            fresh = Expert::load(&pol.dir, episode_motion(pol, &plan))?;
                            &mut fresh
                        }
                        _ => match cache.entry(pi) {
                            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                            std::collections::btree_map::Entry::Vacant(v) => {
                                v.insert(Expert::load(&pol.dir, pol.motion.clone())?)
                            }
                        },
                    };
                    let (recs, outcome) =
                        run_episode(&mut sim, expert, &plan, cfg, clock_ns, progress)
                            .with_context(|| format!("episode {e} ({})", plan.policy))?;
                    let (kp, kd) = expert.gains();
                    if outcome.kept {
                        write_episode(&mut w, &t, &plan, &recs, &outcome, &kp, &kd, &names)?;
                        clock_ns += outcome.steps * 20_000_000 + 1_000_000_000;
                    }
                    // Unfinished steps of a fallen episode still count for the progress bar.
                    progress.fetch_add(ep_steps.saturating_sub(outcome.steps), Ordering::Relaxed);
                    let mut tot = totals.lock().unwrap_or_else(PoisonError::into_inner);
                    let p = tot.entry(plan.policy.clone()).or_default();
                    p.episodes += 1;
                    p.falls += outcome.fell as u64;
                    let c = p.by_condition.entry(plan.condition()).or_default();
                    c.episodes += 1;
                    c.falls += outcome.fell as u64;
                    p.kept_episodes += outcome.kept as u64;
                    p.simulated_steps += outcome.steps;
                    if outcome.kept {
                        p.recorded_steps += outcome.steps;
                    }
                }
                Ok(w.finish()?)
            }));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| bail!("a collection worker panicked"))
            })
            .collect()
    })?;
    let wall = started.elapsed().as_secs_f64();
    let per_policy = totals.into_inner().unwrap_or_else(PoisonError::into_inner);
    let sim_steps: u64 = per_policy.values().map(|p| p.simulated_steps).sum();
    let rec_steps: u64 = per_policy.values().map(|p| p.recorded_steps).sum();
    let sim_s = sim_steps as f64 * control_dt;
    let summary = CollectSummary {
        bags,
        episodes: mine.len() as u64,
        recorded_hours: rec_steps as f64 * control_dt / 3600.0,
        simulated_hours: sim_s / 3600.0,
        wall_s: wall,
        realtime_factor: sim_s / wall.max(1e-9),
        realtime_factor_per_worker: sim_s / wall.max(1e-9) / workers as f64,
        workers,
        per_policy,
    };
    std::fs::write(
        out.join(format!("collect_shard{shard_i:03}of{shard_n:03}.yaml")),
        serde_yaml::to_string(&(cfg, &summary))?,
    )?;
    Ok(summary)
}

/// Runs `episodes` screening episodes per policy, drawn as the collection draws its own (noise,
/// delay, pushes, randomisation, commands or clip windows) from a separate seed, and nothing
/// recorded: each policy's fall rate, per condition too, before a collection commits to it.
pub fn screen(
    cfg: &CollectConfig,
    assets: &Path,
    episodes: u64,
) -> Result<BTreeMap<String, PolicyTotals>> {
    cfg.validate()?;
    let policies = load_policies(cfg)?;
    let mut out = BTreeMap::new();
    let ignored = AtomicU64::new(0);
    for pol in &policies {
        let single = [PolicyInfo {
            dir: pol.dir.clone(),
            name: pol.name.clone(),
            kind: pol.kind,
            motion: pol.motion.clone(),
            clip_seconds: pol.clip_seconds,
        }];
        let screening = CollectConfig {
            seed: cfg.seed ^ 0x5C2E_E41E_D000_0000,
            ..cfg.clone()
        };
        let next = AtomicU64::new(0);
        let totals = Mutex::new(PolicyTotals::default());
        let workers = cfg.workers.clamp(1, episodes.max(1) as usize);
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| -> Result<()> {
                        let mut sim = Sim::new(assets, sim_config(cfg))?;
                        loop {
                            let e = next.fetch_add(1, Ordering::SeqCst);
                            if e >= episodes {
                                return Ok(());
                            }
                            let plan = plan_episode(&screening, &single, e);
                            let mut expert = Expert::load(&pol.dir, episode_motion(pol, &plan))?;
                            let (_, outcome) =
                                run_episode(&mut sim, &mut expert, &plan, cfg, 0, &ignored)
                                    .with_context(|| format!("screening {}", pol.name))?;
                            let mut t = totals.lock().unwrap_or_else(PoisonError::into_inner);
                            t.episodes += 1;
                            t.falls += outcome.fell as u64;
                            t.simulated_steps += outcome.steps;
                            let c = t.by_condition.entry(plan.condition()).or_default();
                            c.episodes += 1;
                            c.falls += outcome.fell as u64;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .unwrap_or_else(|_| bail!("a screening worker panicked"))?;
            }
            Ok(())
        })?;
        out.insert(
            pol.name.clone(),
            totals.into_inner().unwrap_or_else(PoisonError::into_inner),
        );
    }
    Ok(out)
}

/// The clip window a tracking episode plays (`None`: the policy's own).
fn episode_motion(pol: &PolicyInfo, plan: &EpisodePlan) -> Option<MotionSpec> {
    match (pol.kind, &pol.motion, plan.motion_start_s) {
        (PolicyKind::MotionTracking, Some(m), Some(start)) => Some(MotionSpec {
            csv: m.csv.clone(),
            fps: m.fps,
            window: MotionWindow {
                start_s: start,
                end_s: Some(start + plan.seconds),
            },
        }),
        _ => pol.motion.clone(),
    }
}

fn sim_config(cfg: &CollectConfig) -> SimConfig {
    SimConfig {
        randomization: cfg.randomization.clone(),
        pushes: cfg.pushes.clone(),
        ..SimConfig::default()
    }
}

/// Episode plans of a collection (for inspection): what each episode will do.
pub fn plans(cfg: &CollectConfig) -> Result<Vec<EpisodePlan>> {
    let policies = load_policies(cfg)?;
    let total = ((cfg.sim_hours * 3600.0) / cfg.episode_seconds).ceil() as u64;
    Ok((0..total)
        .map(|e| plan_episode(cfg, &policies, e))
        .collect())
}

/// Loads every policy once to learn its name, kind and clip length.
fn load_policies(cfg: &CollectConfig) -> Result<Vec<PolicyInfo>> {
    let mut policies = Vec::new();
    for dir in &cfg.policies {
        let motion = MotionSpec::from_policy_dir(dir)?;
        let expert = Expert::load(dir, motion.clone())
            .with_context(|| format!("loading policy {}", dir.display()))?;
        policies.push(PolicyInfo {
            dir: dir.clone(),
            name: expert.name.clone(),
            kind: expert.kind,
            clip_seconds: expert.motion_steps().map(|n| n as f64 * expert.step_dt_s),
            motion,
        });
    }
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_command_space_covers_the_box_and_its_combinations() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20_000;
        let draws: Vec<[f64; 3]> = (0..n).map(|_| full_command(&mut rng)).collect();
        for c in &draws {
            for (v, r) in c.iter().zip(FULL_COMMAND_BOX) {
                assert!(
                    (r[0]..=r[1]).contains(v),
                    "{c:?} outside {FULL_COMMAND_BOX:?}"
                );
            }
        }
        let share =
            |f: &dyn Fn(&[f64; 3]) -> bool| draws.iter().filter(|c| f(c)).count() as f64 / n as f64;
        // Stops, and combinations the classes never draw: backward while stepping sideways,
        // sideways while turning.
        let stops = share(&|c| c.iter().all(|v| *v == 0.0));
        assert!((0.08..0.12).contains(&stops), "stops {stops}");
        let back_side = share(&|c| c[0] < -0.2 && c[1].abs() > 0.2);
        assert!(back_side > 0.03, "backward + sideways {back_side}");
        let side_turn = share(&|c| c[1].abs() > 0.2 && c[2].abs() > 0.4);
        assert!(side_turn > 0.05, "sideways + turning {side_turn}");
        let spot_turn = share(&|c| c[0] == 0.0 && c[1] == 0.0 && c[2] != 0.0);
        assert!(
            (0.13..0.17).contains(&spot_turn),
            "turning on the spot {spot_turn}"
        );
        // The classes draw none of these combinations.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!((0..n).all(|_| {
            let c = random_command(&mut rng);
            let back_side = c[0] < -0.2 && c[1].abs() > 0.2;
            let side_turn = c[1].abs() > 0.2 && c[2].abs() > 0.4;
            !back_side && !side_turn
        }));
    }

    #[test]
    fn command_space_is_read_from_the_collection_yaml() {
        let c: CollectConfig = serde_yaml::from_str("command_space: full\n").unwrap();
        assert_eq!(c.command_space, CommandSpace::Full);
        assert_eq!(
            CollectConfig::default().command_space,
            CommandSpace::Classes
        );
        let e = serde_yaml::from_str::<CollectConfig>("command_space: everything\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("classes") && e.contains("full"), "{e}");
    }
}
