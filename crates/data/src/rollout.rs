//! Closed-loop rollout of a Stage 1 expert in the simulator (in process, no DDS).

use std::time::Instant;

use anyhow::{Context, Result};
use g1::nalgebra::Vector3;
use g1::NUM_JOINTS;
use g1_expert::{Expert, PolicyKind, RobotState};
use g1_sim::{InitialState, MotorCommand, Sim};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct RolloutOptions {
    pub seconds: Option<f64>,
    pub command: [f64; 3],
    pub seed: u64,
}

/// What happened, as printed by `g1d sim --json`.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutSummary {
    pub policy: String,
    pub kind: PolicyKind,
    pub seed: u64,
    pub command: [f64; 3],
    pub seconds: f64,
    pub steps: usize,
    pub fell: bool,
    pub fall_time_s: Option<f64>,
    /// Root horizontal displacement from start to end (m).
    pub distance_m: f64,
    /// Mean root velocity `[vx, vy, wz]` in the heading frame (m/s, m/s, rad/s).
    pub mean_velocity: [f64; 3],
    /// RMS joint tracking error against the reference (tracking policies only).
    pub joint_rmse_rad: Option<f64>,
    pub pushes: usize,
    pub min_head_height_m: f64,
    /// Simulated time / wall time of the whole loop (physics + policy).
    pub realtime_factor: f64,
}

/// The robot's view of itself: its own sensors, plus simulator truth for the root position and
/// velocity (which the real robot would get from the state estimator).
pub fn robot_state(sim: &Sim) -> RobotState {
    let s = sim.sensors();
    let gt = sim.ground_truth();
    let v_b = gt.root.quat_w.inverse() * gt.root.lin_vel_w;
    RobotState {
        imu_quat_wxyz: s.imu_quat_wxyz,
        gyro_b: s.gyro_b,
        q: s.q,
        dq: s.dq,
        root_pos_w: Some([gt.root.pos_w.x, gt.root.pos_w.y, gt.root.pos_w.z]),
        root_lin_vel_b: Some([v_b.x, v_b.y, v_b.z]),
    }
}

/// The initial state for a policy: its default pose standing at the origin, or the first
/// reference frame of a tracking policy's motion; feet on the floor either way.
pub fn initial_state(sim: &mut Sim, expert: &mut Expert) -> Result<InitialState> {
    let mut init = match expert.motion_start()? {
        Some(f) => InitialState {
            root: g1::RootState::at_rest(f.root_pos_w, f.root_quat_w),
            q: f.q,
            dq: [0.0; NUM_JOINTS],
        },
        None => {
            let mut s = InitialState::standing(0.8);
            s.q = expert.default_pose_sdk();
            s
        }
    };
    sim.place_on_ground(&mut init);
    Ok(init)
}

/// Runs `expert` in `sim` until the time is up, the clip ends, or the robot falls.
pub fn run(sim: &mut Sim, expert: &mut Expert, opts: &RolloutOptions) -> Result<RolloutSummary> {
    let dt = sim.control_dt_s();
    if (expert.step_dt_s - dt).abs() > 1e-9 {
        anyhow::bail!(
            "policy step_dt {} s differs from the simulator control period {dt} s",
            expert.step_dt_s
        );
    }
    let init = initial_state(sim, expert)?;
    sim.reset(&init, opts.seed)?;
    expert
        .reset(&robot_state(sim))
        .context("resetting the policy")?;
    let max_steps = match (opts.seconds, expert.motion_steps()) {
        (Some(s), Some(n)) => ((s / dt).round() as usize).min(n),
        (Some(s), None) => (s / dt).round() as usize,
        (None, Some(n)) => n,
        (None, None) => (10.0 / dt) as usize,
    };
    let start = sim.ground_truth().root.pos_w;
    let (mut vel_sum, mut sq_err, mut n_err) = (Vector3::zeros(), 0.0, 0usize);
    let (mut fell, mut fall_time_s, mut min_head) = (false, None, f64::INFINITY);
    let mut steps = 0;
    let t0 = Instant::now();
    for _ in 0..max_steps {
        let state = robot_state(sim);
        if expert.kind == PolicyKind::MotionTracking {
            let r = expert.reference()?;
            let gt = sim.ground_truth();
            sq_err += (0..NUM_JOINTS)
                .map(|j| (gt.q[j] - r.q_sdk[j]).powi(2))
                .sum::<f64>();
            n_err += NUM_JOINTS;
        }
        let a = expert.step(&state, opts.command)?;
        sim.set_command(&MotorCommand::with_gains(a.q_target, a.kp, a.kd));
        sim.step_control();
        steps += 1;
        let gt = sim.ground_truth();
        let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
        let (c, s) = (yaw.cos(), yaw.sin());
        let v = gt.root.lin_vel_w;
        vel_sum += Vector3::new(c * v.x + s * v.y, -s * v.x + c * v.y, gt.root.ang_vel_w.z);
        min_head = min_head.min(gt.head_height_m);
        if gt.fallen() {
            fell = true;
            fall_time_s = Some(gt.time_s);
            break;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let gt = sim.ground_truth();
    let mean = vel_sum / steps.max(1) as f64;
    Ok(RolloutSummary {
        policy: expert.name.clone(),
        kind: expert.kind,
        seed: opts.seed,
        command: opts.command,
        seconds: gt.time_s,
        steps,
        fell,
        fall_time_s,
        distance_m: ((gt.root.pos_w.x - start.x).powi(2) + (gt.root.pos_w.y - start.y).powi(2))
            .sqrt(),
        mean_velocity: [mean.x, mean.y, mean.z],
        joint_rmse_rad: (n_err > 0).then(|| (sq_err / n_err as f64).sqrt()),
        pushes: sim.pushes_applied(),
        min_head_height_m: min_head,
        realtime_factor: gt.time_s / wall.max(1e-9),
    })
}
