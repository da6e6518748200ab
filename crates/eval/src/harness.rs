//! `drive`: the simulated G1 under the one [`Controller`] on the simulator's ground truth (the
//! `ideal` evaluation profile). Plans land when the controller's latency model says; with no
//! usable plan the controller holds the last targets, then the harness damps. The bookkeeping
//! ([`account_step`]) is shared with the deployed harness in `g1-nodes`.

use anyhow::Result;
use g1::bodypos::{build_state_self, CharacterFrame};
use g1::{forward_kinematics, BodyPosState};
use g1_control::{Command, Controller, Observation, PlanInfo, StepInfo, StepMode, Task};
use g1_guidance::Shape;
use g1_sim::{InitialState, MotorCommand, Obstacle, Sim};
use serde::Serialize;

/// Per-step record of a drive.
#[derive(Debug, Clone, Serialize)]
pub struct StepLog {
    pub time_s: f64,
    pub root_xy: [f64; 2],
    pub yaw: f64,
    /// Root planar velocity in the heading frame (m/s).
    pub vel_heading: [f64; 2],
    pub plan_age_steps: Option<u64>,
    pub mode: StepMode,
    /// Measured minus predicted planar root velocity (m/s) at this step's start, when a plan
    /// covered it.
    pub surprise_mps: Option<f64>,
    /// The disturbance gate after this step's surprise (1 = open).
    pub gate: f64,
    /// Pushes the simulator has applied so far (this step's included).
    pub pushes: usize,
    /// Lateral offset of the left and right wrist-yaw bodies (the hands) from the pelvis in
    /// the heading frame (m, left positive): how far each hand swings out.
    pub hands_lateral_m: [f64; 2],
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DriveOutcome {
    pub steps: u64,
    pub fell: bool,
    pub fall_time_s: Option<f64>,
    pub final_xy: [f64; 2],
    pub obstacle_contact_steps: u64,
    /// Control steps each robot body (g1 body index) touched an obstacle in.
    pub contact_bodies: std::collections::BTreeMap<usize, u64>,
    pub plans: usize,
    pub plan_latency_ms: Vec<f64>,
    pub denoiser_calls: Vec<usize>,
    /// Control steps whose action came from a plan younger than 100 ms.
    pub fresh_plan_steps: u64,
    pub hold_steps: u64,
    pub damping_steps: u64,
    /// Plans the planner could not produce (non-finite output), and the last reason.
    pub failed_plans: usize,
    pub first_failure: Option<String>,
    pub log: Vec<StepLog>,
}

/// The cost-side shape of a simulator obstacle (world frame).
pub fn to_shape(o: &Obstacle) -> Shape {
    let c = o.center_3d();
    match o {
        Obstacle::Sphere { radius, .. } => Shape::Sphere {
            center: c,
            radius: *radius,
        },
        Obstacle::Box {
            half_extents, yaw, ..
        } => Shape::Box {
            center: c,
            half_extents: *half_extents,
            yaw: *yaw,
        },
        // Cylinders stand on the floor in the cost (their top at the simulator's top).
        Obstacle::Cylinder { radius, height, .. } => Shape::Cylinder {
            center: [c[0], c[1]],
            radius: *radius,
            height: c[2] + height / 2.0,
        },
    }
}

/// The simulator's ground truth as the controller's observation: the self-framed Body-Pos
/// state and its frame (the `ideal` evaluation profile; the `deployed` one runs the estimator).
pub fn observe_ground_truth(sim: &Sim) -> (BodyPosState, CharacterFrame) {
    let gt = sim.ground_truth();
    let kin = forward_kinematics(&gt.root, &gt.q, &gt.dq);
    (
        build_state_self(&kin),
        CharacterFrame::from_root(&gt.root.pos_w, &gt.root.quat_w),
    )
}

/// The drive's bookkeeping of one control step (shared by the ideal harness here and the
/// deployed one in `g1-nodes`): counts the step's mode, records plans, logs the ground truth,
/// and tells whether the robot has fallen (recorded in `out`).
pub fn account_step(
    out: &mut DriveOutcome,
    sim: &Sim,
    k: u64,
    info: Option<StepInfo>,
    plan: Option<PlanInfo>,
    dt: f64,
) -> bool {
    let info = info.unwrap_or(StepInfo {
        mode: StepMode::Damping,
        plan_age: None,
        surprise_mps: None,
        gate: 1.0,
    });
    if let Some(p) = plan {
        out.plans += 1;
        out.plan_latency_ms.push(p.compute_s * 1e3);
        out.denoiser_calls.push(p.denoiser_calls);
    }
    let mode = info.mode;
    match mode {
        StepMode::Plan => {
            if info.plan_age.is_some_and(|a| (a as f64) * dt < 0.1) {
                out.fresh_plan_steps += 1;
            }
        }
        StepMode::Hold => out.hold_steps += 1,
        StepMode::Damping => out.damping_steps += 1,
    }
    out.steps = k + 1;
    let gt = sim.ground_truth();
    let touching = sim.obstacle_contact_bodies();
    if !touching.is_empty() {
        out.obstacle_contact_steps += 1;
        for b in touching {
            *out.contact_bodies.entry(b).or_default() += 1;
        }
    }
    let yaw = g1::bodypos::heading_yaw(&gt.root.quat_w);
    let (sy, cy) = yaw.sin_cos();
    let v = gt.root.lin_vel_w;
    let kin = forward_kinematics(&gt.root, &gt.q, &gt.dq);
    let lateral = |b: g1::Body| {
        let d = kin.pos_w[b as usize] - gt.root.pos_w;
        -sy * d.x + cy * d.y
    };
    out.log.push(StepLog {
        time_s: gt.time_s,
        root_xy: [gt.root.pos_w.x, gt.root.pos_w.y],
        yaw,
        vel_heading: [cy * v.x + sy * v.y, -sy * v.x + cy * v.y],
        plan_age_steps: info.plan_age,
        mode,
        surprise_mps: info.surprise_mps,
        gate: info.gate,
        pushes: sim.pushes_applied(),
        hands_lateral_m: [
            lateral(g1::Body::LeftWristYaw),
            lateral(g1::Body::RightWristYaw),
        ],
    });
    out.final_xy = [gt.root.pos_w.x, gt.root.pos_w.y];
    if gt.fallen() && !out.fell {
        out.fell = true;
        out.fall_time_s = Some(gt.time_s);
    }
    out.fell
}

/// Drives `sim` (already reset) for `steps` control steps under `ctl` (reset by the caller),
/// on the simulator's ground truth: each step observes the state, sends the controller's
/// targets for the period (damping when it has none), then lets it plan. `task(k, sim)` is the
/// task at step k (it may depend on where the robot is: a tour's next waypoint). `on_step` sees
/// every step's command.
pub fn drive(
    sim: &mut Sim,
    ctl: &mut Controller,
    task: &dyn Fn(u64, &Sim) -> Task,
    steps: u64,
    mut on_step: impl FnMut(u64, &Sim, &Command, &Controller),
) -> Result<DriveOutcome> {
    let dt = sim.control_dt_s();
    let world_shapes: Vec<Shape> = sim.config().obstacles.iter().map(to_shape).collect();
    let mut out = DriveOutcome::default();
    for k in 0..steps {
        let (state, frame) = observe_ground_truth(sim);
        let task_k = task(k, sim);
        let o = Observation {
            state,
            frame,
            q: sim.ground_truth().q,
            dq: sim.ground_truth().dq,
            executed: None,
            task: &task_k,
            obstacles: &world_shapes,
        };
        let cmd = ctl.observe(&o);
        sim.set_command(&match &cmd {
            Command::Targets { q, kp, kd, .. } => MotorCommand::with_gains(*q, *kp, *kd),
            Command::None => MotorCommand::damping(),
        });
        let plan = ctl.plan_next();
        sim.step_control();
        on_step(k, sim, &cmd, ctl);
        if account_step(&mut out, sim, k, ctl.last_step, plan, dt) {
            break;
        }
    }
    out.failed_plans = ctl.failed_plans as usize;
    out.first_failure = ctl.last_error.clone();
    Ok(out)
}

/// The standing start: default pose at the origin, feet on the floor.
pub fn standing_start(sim: &mut Sim) -> InitialState {
    let mut init = InitialState::standing(0.8);
    sim.place_on_ground(&mut init);
    init
}
