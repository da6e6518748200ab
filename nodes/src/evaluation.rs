//! One evaluation run of a scenario under a controller and profile: what each worker of
//! `g1d eval` runs. `deployed`: the chain without DDS ([`DeployedChain`]); `ideal`: the planner
//! node's controller on the simulator's ground truth ([`g1_eval::drive`]); the expert baseline
//! ([`g1_eval::expert`]).

use anyhow::{bail, Context, Result};
use g1_control::{LatencyModel, Task};
use g1_eval::expert::{load_expert, run_expert};
use g1_eval::report::{Dynamics, Profile};
use g1_eval::scenario::TourProgress;
use g1_eval::score::{score, Sample};
use g1_eval::{RunResult, Scenario, StepLog, TaskKind};
use g1_sim::{Randomization, Sim, SimConfig};

use crate::deployed::{ChainParams, DeployedChain, SensorNoise};
use crate::planner_node::PlannerCore;

/// What every run of an evaluation shares.
#[derive(Clone)]
pub struct Setup {
    pub profile: Profile,
    pub dynamics: Dynamics,
    pub noise: SensorNoise,
    pub params: ChainParams,
    pub latency: LatencyModel,
}

/// The scenario's simulator: the deployed profile randomises the dynamics with the data
/// collection's ranges (`--dynamics`).
pub fn sim_for(s: &Scenario, setup: &Setup) -> SimConfig {
    let mut cfg = SimConfig {
        obstacles: s.obstacles.clone(),
        ..SimConfig::default()
    };
    if setup.profile == Profile::Deployed && setup.dynamics == Dynamics::Randomized {
        cfg.randomization = Randomization::training();
    }
    if s.task == TaskKind::WalkPerturb {
        cfg.pushes = Some(s.pushes.clone().unwrap_or_default());
    } else {
        cfg.pushes = s.pushes.clone();
    }
    // A tour's disturbances: punches and the arm walk (its defaults unless the file says).
    let tour = s.task == TaskKind::Tour;
    cfg.punches = s.punches.clone().or_else(|| tour.then(Default::default));
    cfg.arm_walk = s.arm_walk.clone().or_else(|| tour.then(Default::default));
    cfg
}

/// One controller loaded for one scenario: what a worker thread of `g1d eval` builds once and
/// reuses for that scenario's runs.
pub enum Runner {
    Ideal {
        core: Box<PlannerCore>,
        sim: Sim,
    },
    Deployed {
        chain: Box<DeployedChain>,
        sim: Sim,
    },
    Expert {
        expert: Box<g1_expert::Expert>,
        sim: Sim,
    },
}

impl Runner {
    /// The runner of `controller` ("diffusion" or "expert") for scenario `s`.
    pub fn new(controller: &str, s: &Scenario, setup: &Setup) -> Result<Self> {
        let assets = g1_sim::default_assets_dir();
        let runner = match (controller, setup.profile) {
            ("diffusion", Profile::Ideal) => Runner::Ideal {
                core: Box::new(PlannerCore::new(
                    &setup.params.planner,
                    setup.latency.clone(),
                )?),
                sim: Sim::new(&assets, sim_for(s, setup))?,
            },
            ("diffusion", Profile::Deployed) => Runner::Deployed {
                chain: Box::new(DeployedChain::new(
                    setup.params.clone(),
                    setup.latency.clone(),
                    setup.noise.clone(),
                )?),
                sim: Sim::new(&assets, setup.params.sim_timing(sim_for(s, setup)))?,
            },
            _ => Runner::Expert {
                expert: Box::new(load_expert(&assets)?),
                sim: Sim::new(&assets, sim_for(s, setup))?,
            },
        };
        let layout = match &runner {
            Runner::Ideal { core, .. } => Some(core.controller.planner.manifest.state_layout),
            Runner::Deployed { chain, .. } => {
                Some(chain.core.controller.planner.manifest.state_layout)
            }
            Runner::Expert { .. } => None,
        };
        if let Some(l) = layout.filter(|l| *l != g1::StateLayout::BodyPos) {
            if !s.obstacles.is_empty() {
                bail!(
                    "scenario {}: obstacle avoidance needs a Body-Pos model (body positions to keep clear); this model's states are {l}",
                    s.name
                );
            }
        }
        Ok(runner)
    }

    /// One run of `s` with `seed`, scored.
    pub fn run(&mut self, s: &Scenario, seed: u64) -> Result<RunResult> {
        self.run_recorded(s, seed, None)
    }

    /// [`Self::run`], each control step recorded into `rec` as the node suite would have
    /// recorded it (the diffusion controller's runs; the expert's are not recorded).
    pub fn run_recorded(
        &mut self,
        s: &Scenario,
        seed: u64,
        rec: Option<crate::run_bag::RunBag>,
    ) -> Result<RunResult> {
        Ok(self.run_logged(s, seed, rec)?.0)
    }

    /// [`Self::run_recorded`], also returning the diffusion controller's per-step log (empty
    /// for the expert baseline).
    pub fn run_logged(
        &mut self,
        s: &Scenario,
        seed: u64,
        mut rec: Option<crate::run_bag::RunBag>,
    ) -> Result<(RunResult, Vec<StepLog>)> {
        let goal = match s.task {
            TaskKind::Waypoint | TaskKind::Obstacles => s
                .goal
                .context("a waypoint or obstacle scenario without a goal")?,
            _ => [0.0; 2],
        };
        // A tour's next waypoint, from where the simulator has the robot (as a referee would).
        let tour = TourProgress::default();
        let task = |k: u64, sim: &Sim| -> Task {
            match s.task {
                TaskKind::WalkPerturb => Task::Joystick {
                    velocity: [s.speed.unwrap_or(0.5), 0.0],
                    yaw_rate: 0.0,
                },
                TaskKind::Joystick => {
                    let c = s.command_at(k as f64 * 0.02);
                    Task::Joystick {
                        velocity: [c[0], c[1]],
                        yaw_rate: c[2],
                    }
                }
                TaskKind::Waypoint | TaskKind::Obstacles => Task::Waypoint { goal },
                TaskKind::Tour => {
                    let p = sim.ground_truth().root.pos_w;
                    match tour.target(&s.waypoints, [p.x, p.y]) {
                        Some(goal) => Task::Waypoint { goal },
                        None => Task::Free,
                    }
                }
            }
        };
        let mut estimate_error = None;
        // The run's draws (dynamics, noise, disturbances): its seed and the scenario's own.
        let seed_drawn = s.run_seed(seed);
        let out = match self {
            Runner::Expert { expert, sim } => {
                let mut r = run_expert(s, expert, sim, seed_drawn)?;
                r.seed = seed;
                return Ok((r, vec![]));
            }
            Runner::Ideal { core, sim } => {
                core.reset(seed_drawn);
                let init = g1_eval::standing_start(sim);
                sim.reset(&init, seed_drawn)?;
                let steps = (s.duration_s() / sim.control_dt_s()).round() as u64;
                let mut failed = None;
                let out =
                    g1_eval::drive(sim, &mut core.controller, &task, steps, |k, sim, _, ctl| {
                        if let (Some(rb), None) = (rec.as_mut(), &failed) {
                            failed = rb.record(sim, ctl, &task(k, sim), None).err();
                        }
                    })?;
                if let Some(e) = failed {
                    return Err(e.context("recording the run"));
                }
                out
            }
            Runner::Deployed { chain, sim } => {
                let init = g1_eval::standing_start(sim);
                sim.reset(&init, seed_drawn)?;
                let steps = (s.duration_s() / sim.control_dt_s()).round() as u64;
                chain.run_bag = rec.take();
                let o = chain.run(sim, seed_drawn, &task, steps);
                chain.run_bag = None;
                let o = o?;
                estimate_error = Some(o.estimate_error);
                o.drive
            }
        };
        let log: Vec<Sample> = out
            .log
            .iter()
            .map(|l| Sample {
                t: l.time_s,
                xy: l.root_xy,
                vel: l.vel_heading,
                yaw: l.yaw,
            })
            .collect();
        let mut r = score(s, out.fell, out.obstacle_contact_steps, &log);
        r.seed = seed;
        r.fall_time_s = out.fall_time_s;
        r.plan_latency_ms = out.plan_latency_ms;
        r.fresh_share = Some(out.fresh_plan_steps as f64 / out.steps.max(1) as f64);
        r.estimate_error = estimate_error;
        r.contact_bodies = out
            .contact_bodies
            .iter()
            .map(|(&b, &n)| (g1::BODIES[b].name.to_string(), n))
            .collect();
        Ok((r, out.log))
    }
}
