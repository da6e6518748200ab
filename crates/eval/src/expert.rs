//! The expert baseline of `g1d eval --baseline expert`: the shipped velocity policy, given the
//! scenario's command, or for a waypoint (and each of a tour's in turn) a heading controller's (turn toward the goal, walk
//! when roughly facing it, slow down near it), on the simulator's ground truth.

use std::path::Path;

use anyhow::{Context, Result};
use g1_expert::Expert;
use g1_sim::{MotorCommand, Sim};

use crate::scenario::TourProgress;
use crate::score::{score, wrap_pi, Sample};
use crate::{RunResult, Scenario, TaskKind};

/// The baseline's policy (`policies/velocity_mjlab` under the assets directory).
pub fn load_expert(assets: &Path) -> Result<Expert> {
    Ok(Expert::load(&assets.join("policies/velocity_mjlab"), None)?)
}

/// One run of scenario `s` under the expert, from a standing start with `seed`.
pub fn run_expert(
    s: &Scenario,
    expert: &mut Expert,
    sim: &mut Sim,
    seed: u64,
) -> Result<RunResult> {
    let init = g1_data::rollout::initial_state(sim, expert)?;
    sim.reset(&init, seed)?;
    expert.reset(&g1_data::rollout::robot_state(sim))?;
    let dt = sim.control_dt_s();
    let steps = (s.duration_s() / dt).round() as u64;
    let (mut log, mut contacts, mut fall_time_s) = (vec![], 0u64, None);
    let tour = TourProgress::default();
    for k in 0..steps {
        let gt = sim.ground_truth();
        let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
        let cmd = match s.task {
            TaskKind::WalkPerturb => [s.speed.unwrap_or(0.5), 0.0, 0.0],
            TaskKind::Joystick => s.command_at(k as f64 * dt),
            TaskKind::Waypoint | TaskKind::Obstacles | TaskKind::Tour => {
                // Heading controller: turn toward the goal, walk when roughly facing it, slow down near it.
                let g = if s.task == TaskKind::Tour {
                    let xy = [gt.root.pos_w.x, gt.root.pos_w.y];
                    tour.target(&s.waypoints, xy)
                } else {
                    s.goal
                }
                .context("a waypoint, obstacle or tour scenario without a goal")?;
                let (dx, dy) = (g[0] - gt.root.pos_w.x, g[1] - gt.root.pos_w.y);
                let dist = (dx * dx + dy * dy).sqrt();
                let err = wrap_pi(dy.atan2(dx) - yaw);
                if dist < 0.15 {
                    [0.0, 0.0, 0.0]
                } else {
                    let v = (0.8 * dist).min(0.8) * (1.0 - (err.abs() / 1.0).min(1.0));
                    [v, 0.0, (2.0 * err).clamp(-1.0, 1.0)]
                }
            }
        };
        let a = expert.step(&g1_data::rollout::robot_state(sim), cmd)?;
        sim.set_command(&MotorCommand::with_gains(a.q_target, a.kp, a.kd));
        sim.step_control();
        let gt = sim.ground_truth();
        if sim.obstacle_contacts() > 0 {
            contacts += 1;
        }
        let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
        let (sy, cy) = yaw.sin_cos();
        let v = gt.root.lin_vel_w;
        log.push(Sample {
            t: gt.time_s,
            xy: [gt.root.pos_w.x, gt.root.pos_w.y],
            vel: [cy * v.x + sy * v.y, -sy * v.x + cy * v.y],
            yaw,
        });
        if gt.fallen() {
            fall_time_s = Some(gt.time_s);
            break;
        }
    }
    let mut r = score(s, fall_time_s.is_some(), contacts, &log);
    r.seed = seed;
    r.fall_time_s = fall_time_s;
    Ok(r)
}

/// Walks the G1 for `seconds` under the expert policy in `dir` with the velocity command
/// `cmd` (vx, vy, wz): a running start for a controller that takes over.
pub fn handover(sim: &mut Sim, dir: &Path, cmd: [f64; 3], seconds: f64) -> Result<()> {
    let mut expert = Expert::load(dir, None)?;
    expert.reset(&g1_data::rollout::robot_state(sim))?;
    for _ in 0..(seconds / sim.control_dt_s()).round() as usize {
        let a = expert.step(&g1_data::rollout::robot_state(sim), cmd)?;
        sim.set_command(&MotorCommand::with_gains(a.q_target, a.kp, a.kd));
        sim.step_control();
    }
    Ok(())
}
