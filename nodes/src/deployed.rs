//! The deployed chain without DDS, for evaluation (`g1d eval --profile deployed`): the
//! simulator at the robot's sensor rate (one `LowState` per physics step, with sensor noise and
//! per-episode biases) → the bridge's safety core ([`BridgeCore`], as `g1_bridge` runs it) →
//! the Kalman estimator ([`EstimatorCore`], as `g1_estimator` runs it) → the planner node's
//! core ([`PlannerCore`]: the one controller) → the bridge → the simulator. Every node reads
//! its section of the same parameter file the launch files pass (`config/g1.params.yaml`).
//!
//! An episode starts as the robot does: hanging from a gantry, the bridge in damping, a standby
//! request at once (the PD ramp to the default pose, `standby_ramp_s`), the controller planning
//! with the task given but not pursued (the planner node's rule: [`PlannerCore::engaged`]), then
//! `active` once the ramp is done and targets are fresh, and the gantry lets go. The episode's
//! clock, the pursuit of its task and its pushes start when the bridge turns active;
//! what came before is not scored.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use g1_bridge::{BridgeConfig, Mode, Request};
use g1_control::{LatencyModel, PlanInfo, Task};
use g1_eval::{account_step, to_shape, DriveOutcome, EstimateError};
use g1_hg::Remote;
use g1_msgs::g1d::JointTargets;
use g1_msgs::unitree::LowCmd;
use g1_ros::{NodeConfig, ParamMap};
use g1_sim::{Sensors, Sim, SimConfig};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::bridge_node::BridgeCore;
use crate::estimator_node::{EstimatorConfig, EstimatorCore, EstimatorMode};
use crate::planner_node::{PlannerCore, PlannerNodeConfig};
use crate::sim_node::{decimation_for, low_state_of, motor_command, SimNodeConfig};

/// The node parameters of the deployed chain, from one parameter file.
#[derive(Debug, Clone)]
pub struct ChainParams {
    pub source: String,
    pub bridge: BridgeConfig,
    pub estimator: EstimatorConfig,
    pub planner: PlannerNodeConfig,
    /// `g1_sim`'s physics step (s): one `LowState` per step; physics steps per control period.
    pub timestep_s: f64,
    pub decimation: usize,
}

fn node_config<T: NodeConfig>(path: &Path, node: &str) -> Result<T> {
    let mut params = ParamMap::default();
    for (name, v) in g1_ros::params::load_file(path, &format!("/{node}"))? {
        params.set(&name, v, &path.display().to_string());
    }
    g1_ros::load_config(&params).with_context(|| format!("{}: `{node}`", path.display()))
}

impl ChainParams {
    /// The `g1_bridge`, `g1_estimator`, `g1_planner` and `g1_sim` sections of a ROS 2
    /// parameter file (`ros__parameters`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let sim: SimNodeConfig = node_config(path, "g1_sim")?;
        let decimation = decimation_for(sim.timestep_s)
            .with_context(|| format!("{}: `g1_sim`", path.display()))?;
        Ok(Self {
            source: path.display().to_string(),
            bridge: node_config(path, "g1_bridge")?,
            estimator: node_config(path, "g1_estimator")?,
            planner: node_config(path, "g1_planner")?,
            timestep_s: sim.timestep_s,
            decimation,
        })
    }

    /// `cfg` with `g1_sim`'s physics step (the chain needs one LowState per physics step).
    pub fn sim_timing(&self, cfg: SimConfig) -> SimConfig {
        SimConfig {
            timestep_s: self.timestep_s,
            decimation: self.decimation,
            ..cfg
        }
    }
}

/// Sensor noise of the deployed profile: white noise on every sample plus per-episode biases.
/// The white-noise levels are those the training data's observations carried (collection's
/// `obs_std_*`); the IMU biases are typical of a MEMS IMU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensorNoise {
    pub gyro_std: f64,
    /// Per-episode gyro bias, uniform in ± this (rad/s).
    pub gyro_bias: f64,
    pub accel_std: f64,
    pub accel_bias: f64,
    /// Per-episode roll/pitch error of the IMU's attitude, uniform in ± this (rad).
    pub tilt_bias_rad: f64,
    pub q_std: f64,
    pub dq_std: f64,
}

impl Default for SensorNoise {
    fn default() -> Self {
        Self {
            gyro_std: 0.05,
            gyro_bias: 0.01,
            accel_std: 0.1,
            accel_bias: 0.05,
            tilt_bias_rad: 0.01,
            q_std: 0.005,
            dq_std: 0.2,
        }
    }
}

impl SensorNoise {
    pub fn none() -> Self {
        Self {
            gyro_std: 0.0,
            gyro_bias: 0.0,
            accel_std: 0.0,
            accel_bias: 0.0,
            tilt_bias_rad: 0.0,
            q_std: 0.0,
            dq_std: 0.0,
        }
    }
}

/// One episode's noisy sensors.
struct NoisySensors {
    noise: SensorNoise,
    rng: ChaCha8Rng,
    gyro_bias: [f64; 3],
    accel_bias: [f64; 3],
    tilt: g1::nalgebra::UnitQuaternion<f64>,
}

impl NoisySensors {
    fn new(noise: SensorNoise, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5e_4503);
        let mut u = |a: f64| if a > 0.0 { rng.gen_range(-a..a) } else { 0.0 };
        let gyro_bias = [u(noise.gyro_bias), u(noise.gyro_bias), u(noise.gyro_bias)];
        let accel_bias = [
            u(noise.accel_bias),
            u(noise.accel_bias),
            u(noise.accel_bias),
        ];
        let tilt = g1::nalgebra::UnitQuaternion::from_euler_angles(
            u(noise.tilt_bias_rad),
            u(noise.tilt_bias_rad),
            0.0,
        );
        Self {
            noise,
            rng,
            gyro_bias,
            accel_bias,
            tilt,
        }
    }

    fn apply(&mut self, mut s: Sensors) -> Sensors {
        let n = self.noise.clone();
        // Zero-mean Gaussian (no draw for a zero level, so `none` leaves the stream alone).
        let mut g = |std: f64| {
            if std > 0.0 {
                std * self.rng.sample::<f64, _>(StandardNormal)
            } else {
                0.0
            }
        };
        for k in 0..3 {
            s.gyro_b[k] += self.gyro_bias[k] + g(n.gyro_std);
            s.accel_b[k] += self.accel_bias[k] + g(n.accel_std);
        }
        for j in 0..g1::NUM_JOINTS {
            s.q[j] += g(n.q_std);
            s.dq[j] += g(n.dq_std);
        }
        let q = self.tilt * g1::quat_from_wxyz(s.imu_quat_wxyz);
        s.imu_quat_wxyz = [q.w, q.i, q.j, q.k];
        s
    }
}

/// What the controller was given and answered at one control step (for the harness-vs-node
/// check: the same messages into a fresh [`PlannerCore`] must give the same targets).
#[derive(Debug, Clone)]
pub struct ControlStepRecord {
    pub joints: g1_msgs::sensor_msgs::JointState,
    pub lowcmd: Option<LowCmd>,
    pub state: g1_msgs::g1d::BodyPosState,
    pub task: Task,
    /// The bridge's mode as the planner heard it.
    pub bridge_mode: String,
    pub targets: Option<JointTargets>,
    /// The simulator's pelvis at that step (what the state estimated).
    pub truth: g1::RootState,
}

/// The deployed chain around one planner core.
pub struct DeployedChain {
    pub params: ChainParams,
    pub core: PlannerCore,
    pub noise: SensorNoise,
    /// Keep every control step's inputs and outputs in [`DeployedOutcome::records`].
    pub record: bool,
    /// The planner node dies at this episode time (s): from then on no joint targets reach the
    /// bridge (a fault test of the bridge's watchdog).
    pub planner_stops_at_s: Option<f64>,
    /// End the episode at a fall (default); false runs on to `steps` (fault tests).
    pub stop_at_fall: bool,
    /// Records every episode step as the node suite would have (`g1d eval --render`).
    pub run_bag: Option<crate::run_bag::RunBag>,
}

#[derive(Default)]
struct ErrorSums {
    v_xy: f64,
    v_xy_max: f64,
    v_z: f64,
    z: f64,
    w: f64,
    n: u64,
    last_xy: f64,
}

impl ErrorSums {
    fn add(&mut self, state: &g1_msgs::g1d::BodyPosState, truth: &g1::RootState, origin: [f64; 2]) {
        let (p, t) = (&state.root_pose.position, &state.root_twist);
        let dvx = t.linear.x - truth.lin_vel_w.x;
        let dvy = t.linear.y - truth.lin_vel_w.y;
        let dv = (dvx * dvx + dvy * dvy).sqrt();
        self.v_xy += dv * dv;
        self.v_xy_max = self.v_xy_max.max(dv);
        self.v_z += (t.linear.z - truth.lin_vel_w.z).powi(2);
        self.z += (p.z - truth.pos_w.z).powi(2);
        let w = g1::nalgebra::Vector3::new(t.angular.x, t.angular.y, t.angular.z) - truth.ang_vel_w;
        self.w += w.norm_squared();
        self.last_xy = ((p.x + origin[0] - truth.pos_w.x).powi(2)
            + (p.y + origin[1] - truth.pos_w.y).powi(2))
        .sqrt();
        self.n += 1;
    }

    fn finish(&self) -> EstimateError {
        let n = self.n.max(1) as f64;
        EstimateError {
            planar_velocity_rms_mps: (self.v_xy / n).sqrt(),
            planar_velocity_max_mps: self.v_xy_max,
            vertical_velocity_rms_mps: (self.v_z / n).sqrt(),
            final_position_error_m: self.last_xy,
            height_rms_m: (self.z / n).sqrt(),
            angular_velocity_rms_rps: (self.w / n).sqrt(),
            steps: self.n,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeployedOutcome {
    pub drive: DriveOutcome,
    /// The estimator against the simulator's truth over the episode's control steps.
    pub estimate_error: EstimateError,
    /// Simulated seconds of the start-up (standby) before the episode's clock started.
    pub startup_s: f64,
    pub bad_crc: u64,
    pub bridge_transitions: Vec<String>,
    pub records: Vec<ControlStepRecord>,
}

impl DeployedChain {
    pub fn new(params: ChainParams, latency: LatencyModel, noise: SensorNoise) -> Result<Self> {
        let core = PlannerCore::new(&params.planner, latency)?;
        Ok(Self {
            params,
            core,
            noise,
            record: false,
            planner_stops_at_s: None,
            stop_at_fall: true,
            run_bag: None,
        })
    }

    /// Runs one episode on `sim` (built with the params' physics step and reset with `seed`)
    /// for `steps` control steps after start-up. `task(k, sim)` is the task at episode step k
    /// (it may depend on the simulator's state: a tour's next waypoint).
    pub fn run(
        &mut self,
        sim: &mut Sim,
        seed: u64,
        task: &dyn Fn(u64, &Sim) -> Task,
        steps: u64,
    ) -> Result<DeployedOutcome> {
        let p = &self.params;
        let dt = sim.control_dt_s();
        let decimation = sim.config().decimation;
        if (sim.config().timestep_s - p.timestep_s).abs() > 1e-12 {
            bail!(
                "the simulator steps {} s, the parameter file's g1_sim {} s",
                sim.config().timestep_s,
                p.timestep_s
            );
        }
        self.core.reset(seed);
        self.core
            .set_shapes(sim.config().obstacles.iter().map(to_shape).collect());
        let mut bridge = BridgeCore::new(p.bridge.clone())?;
        // The file's estimator: `kalman` (IMU + encoders, as on the robot) or `ground_truth`
        // (the simulator's pelvis pose and twist, as from motion capture).
        let mut estimator = EstimatorCore::new(p.estimator.clone());
        let truth = p.estimator.mode == EstimatorMode::GroundTruth;
        let mut sensors = NoisySensors::new(self.noise.clone(), seed);
        bridge
            .bridge
            .request(Request::Standby, "evaluation start-up");
        let mut out = DeployedOutcome {
            drive: DriveOutcome::default(),
            startup_s: 0.0,
            bad_crc: 0,
            bridge_transitions: vec![],
            records: vec![],
            estimate_error: EstimateError::default(),
        };
        let mut errors = ErrorSums::default();
        // Targets in flight to the bridge (they arrive at the next tick).
        let mut inbox: Vec<JointTargets> = vec![];
        let mut last_cmd: Option<LowCmd> = None;
        let mut episode_k: Option<u64> = None;
        // The bridge's mode as the planner hears it: published at the end of the previous
        // control step (the node hears the latched mode topic a DDS hop after a transition).
        let mut mode_heard = Mode::Damping;
        let mut last_plan: Option<PlanInfo> = None;
        let remote = Remote::default();
        let start_root = sim.ground_truth().root;
        let max_ticks = ((p.bridge.standby_ramp_s + 5.0) / sim.config().timestep_s) as u64
            + (steps + 1) * decimation as u64;
        for tick in 0..max_ticks {
            let now = sim.time_s();
            let ls = low_state_of(&sensors.apply(sim.sensors()), tick as u32, 0, &remote);
            let delivered = std::mem::take(&mut inbox);
            let b = bridge.process(now, &[], &delivered, &[ls]);
            let cmd = b
                .cmds
                .last()
                .cloned()
                .context("the bridge answered no LowCmd")?;
            sim.set_command(&motor_command(&cmd));
            let odom: Vec<_> = if truth {
                vec![crate::convert::sim_odometry(&sim.ground_truth().root, now)]
            } else {
                vec![]
            };
            let e = estimator.process(now, &b.joints, &b.imus, &odom)?;
            if let (Some(state), Some(joints)) = (e.state, b.joints.last()) {
                // A control step. The previous episode step is over: score it.
                if let Some(k) = episode_k {
                    let plan = last_plan.take();
                    let stop = account_step(
                        &mut out.drive,
                        sim,
                        k,
                        self.core.controller.last_step,
                        plan,
                        dt,
                    ) && self.stop_at_fall
                        || k + 1 >= steps;
                    if let Some(rb) = self.run_bag.as_mut() {
                        let task = &self.core.task;
                        rb.record(sim, &self.core.controller, task, Some(mode_heard.name()))?;
                    }
                    if stop {
                        break;
                    }
                    episode_k = Some(k + 1);
                }
                if episode_k.is_some() {
                    // `odom` starts under the robot where the filter started.
                    errors.add(
                        &state,
                        &sim.ground_truth().root,
                        if truth {
                            [0.0, 0.0]
                        } else {
                            [start_root.pos_w.x, start_root.pos_w.y]
                        },
                    );
                }
                // The task from the start, as the launch file's `goal` gives it; the core
                // pursues it once it hears the bridge active (`PlannerCore::engaged`).
                let task_k = task(episode_k.unwrap_or(0), sim);
                self.core.bridge_mode(mode_heard.name());
                let planner_dead = matches!(
                    (episode_k, self.planner_stops_at_s),
                    (Some(k), Some(t)) if k as f64 * dt >= t
                );
                self.core.task = task_k.clone();
                self.core.joints(joints);
                if let Some(c) = &last_cmd {
                    self.core.lowcmd(c);
                }
                let targets = if planner_dead {
                    None
                } else {
                    self.core.on_state(&state)?
                };
                if self.record {
                    out.records.push(ControlStepRecord {
                        joints: joints.clone(),
                        lowcmd: last_cmd.clone(),
                        state: state.clone(),
                        task: task_k,
                        bridge_mode: mode_heard.name().to_string(),
                        targets: targets.clone(),
                        truth: sim.ground_truth().root,
                    });
                }
                inbox.extend(targets);
                let plan = if planner_dead {
                    None
                } else {
                    self.core.plan_next()
                };
                if episode_k.is_some() {
                    last_plan = plan;
                }
                let mode = bridge.bridge.mode();
                mode_heard = mode;
                if episode_k.is_none() {
                    if mode == Mode::Standby && now >= p.bridge.standby_ramp_s {
                        bridge
                            .bridge
                            .request(Request::Active, "evaluation: ramp done");
                    }
                    if mode == Mode::Active {
                        // The episode starts: its clock, task and pushes.
                        out.startup_s = now;
                        episode_k = Some(0);
                        sim.restart_pushes();
                    }
                }
                if episode_k.is_some() {
                    sim.apply_due_push();
                }
            }
            last_cmd = Some(cmd);
            if episode_k.is_none() {
                // The gantry holds the pelvis until the bridge is active (standby's soft PD
                // does not hold the G1 up by itself).
                sim.pin_root(&start_root);
            }
            sim.step_physics();
        }
        if episode_k.is_none() {
            bail!(
                "the bridge never turned active: {:?}",
                bridge.bridge.transitions()
            );
        }
        let t0 = out.startup_s;
        for l in &mut out.drive.log {
            l.time_s -= t0;
        }
        if let Some(t) = &mut out.drive.fall_time_s {
            *t -= t0;
        }
        out.estimate_error = errors.finish();
        let c = self.core.controller.failed_plans;
        out.drive.failed_plans = c as usize;
        out.drive.first_failure = self.core.controller.last_error.clone();
        out.bad_crc = bridge.bridge.counters.bad_crc;
        out.bridge_transitions = bridge
            .bridge
            .transitions()
            .iter()
            .map(|t| {
                format!(
                    "{:.2} s {} → {}: {}",
                    t.time_s - t0,
                    t.from.name(),
                    t.to.name(),
                    t.reason
                )
            })
            .collect();
        Ok(out)
    }
}
