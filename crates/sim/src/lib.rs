//! MuJoCo simulation of the Unitree G1 (mujoco-rs), set up as the shipped mjlab policies were
//! trained: 5 ms implicitfast steps, position actuators with the per-class kp/kd and armature
//! of the joint table, foot collision capsules with friction 0.6, 50 Hz control with the joint
//! PD evaluated by MuJoCo at every physics step.
//!
//! The simulator speaks the robot's vocabulary: a [`MotorCommand`] per joint (q, dq, kp, kd,
//! tau, as in `unitree_hg::MotorCmd`), and [`Sensors`] as the robot reports them (pelvis IMU
//! quaternion, gyro, accelerometer; joint q, dq, torque). Ground truth is separate.
//!
//! Determinism: everything random (domain randomisation, pushes) is drawn from the seed given
//! to [`Sim::reset`]; MuJoCo itself is deterministic, so the same seed and commands give the
//! same trajectory bit for bit.

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod config;
pub mod scene;

use std::path::{Path, PathBuf};

use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::{quat_from_wxyz, RootState, BODIES, JOINTS, NUM_BODIES, NUM_JOINTS};
use mujoco_rs::prelude::*;
use mujoco_rs::wrappers::mj_model::MjtObjBase as MjtObj;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use config::{
    ArmWalkConfig, FootContact, Obstacle, PunchConfig, PushConfig, Randomization, SimConfig,
};

/// Errors of the simulator crate.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read asset {path}: {why}")]
    Asset { path: PathBuf, why: String },
    #[error("MuJoCo could not compile the G1 scene: {0}")]
    Compile(String),
    #[error("the G1 model disagrees with the joint/body table: {0}")]
    ModelMismatch(String),
    #[error("invalid simulator config `{key}`: {why}")]
    Config { key: String, why: String },
    #[error("invalid initial state: {0}")]
    InitialState(String),
}

/// One control command for every joint, in SDK order — what `unitree_hg::LowCmd` carries.
/// Torque at the joint: `kp·(q − q_meas) + kd·(dq − dq_meas) + tau`, clamped to the effort limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotorCommand {
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
    pub kp: [f64; NUM_JOINTS],
    pub kd: [f64; NUM_JOINTS],
    pub tau: [f64; NUM_JOINTS],
}

impl MotorCommand {
    /// The motor driver's torque at joint `j` towards the position `q_target` (this command's
    /// `q`, or that less an encoder offset) from `q`, `dq`: the PD law, clamped to the effort
    /// limit.
    pub fn torque(&self, j: usize, q_target: f64, q: f64, dq: f64) -> f64 {
        let lim = JOINTS[j].effort_limit_nm();
        (self.kp[j].max(0.0) * (q_target - q)
            + self.kd[j].max(0.0) * (self.dq[j] - dq)
            + self.tau[j])
            .clamp(-lim, lim)
    }

    /// Position targets with the joint table's default gains.
    pub fn position(q: [f64; NUM_JOINTS]) -> Self {
        Self {
            q,
            dq: [0.0; NUM_JOINTS],
            kp: std::array::from_fn(|i| JOINTS[i].kp()),
            kd: std::array::from_fn(|i| JOINTS[i].kd()),
            tau: [0.0; NUM_JOINTS],
        }
    }
    /// Position targets with explicit gains.
    pub fn with_gains(q: [f64; NUM_JOINTS], kp: [f64; NUM_JOINTS], kd: [f64; NUM_JOINTS]) -> Self {
        Self {
            q,
            dq: [0.0; NUM_JOINTS],
            kp,
            kd,
            tau: [0.0; NUM_JOINTS],
        }
    }
    /// Zero stiffness, joint damping only (the robot's safe "damping" mode).
    pub fn damping() -> Self {
        Self {
            q: [0.0; NUM_JOINTS],
            dq: [0.0; NUM_JOINTS],
            kp: [0.0; NUM_JOINTS],
            kd: std::array::from_fn(|i| JOINTS[i].kd() * 2.0),
            tau: [0.0; NUM_JOINTS],
        }
    }
    pub fn is_finite(&self) -> bool {
        [self.q, self.dq, self.kp, self.kd, self.tau]
            .iter()
            .all(|a| a.iter().all(|v| v.is_finite()))
    }
}

/// What the robot's own sensors report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sensors {
    /// Pelvis IMU orientation `w, x, y, z` (world from IMU).
    pub imu_quat_wxyz: [f64; 4],
    /// Pelvis IMU angular velocity, IMU frame (rad/s).
    pub gyro_b: [f64; 3],
    /// Pelvis IMU specific force, IMU frame (m/s²; ≈ +9.81 z at rest).
    pub accel_b: [f64; 3],
    /// Joint positions as the encoders report them (including any randomised offset), SDK order.
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
    /// Joint torques (N·m).
    pub tau: [f64; NUM_JOINTS],
}

/// Simulator truth, never available on the robot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundTruth {
    pub time_s: f64,
    pub root: RootState,
    /// True joint positions (no encoder offset).
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
    /// Height of the head collision sphere's centre (m).
    pub head_height_m: f64,
}

/// Fall criterion of the evaluation protocol: head below 0.2 m or pelvis below 0.3 m.
pub const FALL_HEAD_HEIGHT_M: f64 = 0.2;
pub const FALL_PELVIS_HEIGHT_M: f64 = 0.3;

impl GroundTruth {
    /// The fall check of every rollout, drive, evaluation and the simulator node: the head or
    /// the pelvis below its threshold.
    pub fn fallen(&self) -> bool {
        self.head_height_m < FALL_HEAD_HEIGHT_M || self.root.pos_w.z < FALL_PELVIS_HEIGHT_M
    }
}

/// Initial configuration for [`Sim::reset`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InitialState {
    pub root: RootState,
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
}

impl InitialState {
    /// Standing in the default pose at the origin, facing +x; the height is set by
    /// [`Sim::place_on_ground`] (call it, or give `pelvis_height_m` yourself).
    pub fn standing(pelvis_height_m: f64) -> Self {
        Self {
            root: RootState::at_rest(
                Vector3::new(0.0, 0.0, pelvis_height_m),
                UnitQuaternion::identity(),
            ),
            q: g1::default_pose(),
            dq: [0.0; NUM_JOINTS],
        }
    }
}

/// The values randomisation changes, kept to restore them at each reset.
#[derive(Debug, Clone)]
struct Nominal {
    body_mass: Vec<f64>,
    body_inertia: Vec<[f64; 3]>,
    body_ipos: Vec<[f64; 3]>,
    pair_friction: Vec<[f64; 5]>,
}

/// Draws of the episode's randomisation (reported in summaries and bags).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EpisodeRandomization {
    pub friction_scale: f64,
    pub mass_scale: f64,
    pub torso_com_offset_m: [f64; 3],
    pub encoder_offset_rad: [f64; NUM_JOINTS],
}

/// One simulated G1.
pub struct Sim {
    data: MjData<Box<MjModel>>,
    cfg: SimConfig,
    xml: String,
    nominal: Nominal,
    foot_floor_pairs: Vec<usize>,
    torso_body: usize,
    head_geom: usize,
    obstacle_geoms: Vec<usize>,
    floor_geom: usize,
    /// MuJoCo body ids of the left and right ankle-roll links (the feet).
    foot_bodies: [usize; 2],
    sensor_quat: usize,
    sensor_gyro: usize,
    sensor_acc: usize,
    rng: ChaCha8Rng,
    next_push_s: Option<f64>,
    pushes: usize,
    episode: EpisodeRandomization,
    command: MotorCommand,
    /// Punches and the arm walk draw from their own stream, so that enabling them leaves the
    /// randomisation and kicks of a seed as they were.
    disturb_rng: ChaCha8Rng,
    punch_window_s: f64,
    next_punch: Option<Punch>,
    active_punch: Option<Punch>,
    arm_offset: [f64; NUM_JOINTS],
    arm_walk_on: bool,
    /// [`is_arm_joint`] of every joint, looked up once.
    arm_joints: [bool; NUM_JOINTS],
}

/// One punch: a horizontal force (N, world frame) on MuJoCo body `body` from `start_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Punch {
    pub start_s: f64,
    pub body: usize,
    pub force_n: [f64; 2],
}

/// Whether joint `i` (SDK order) is an arm joint (shoulder, elbow, wrist): those the arm walk
/// moves.
pub fn is_arm_joint(i: usize) -> bool {
    JOINTS.get(i).is_some_and(|j| {
        ["shoulder", "elbow", "wrist"]
            .iter()
            .any(|n| j.name.contains(n))
    })
}

fn id(model: &MjModel, kind: MjtObj, name: &str) -> Result<usize, SimError> {
    model
        .name_to_id(kind, name)
        .ok_or_else(|| SimError::ModelMismatch(format!("no {kind:?} named `{name}` in the model")))
}

impl Sim {
    /// Loads the G1 scene from `assets_dir` (the repository's `assets/`), applies the physics
    /// options and the joint table's actuator parameters, and checks the compiled model against
    /// the joint and body tables.
    pub fn new(assets_dir: &Path, cfg: SimConfig) -> Result<Self, SimError> {
        cfg.validate()?;
        let xml = scene::scene_xml(assets_dir, &cfg)?;
        let mut model =
            MjModel::from_xml_string(&xml).map_err(|e| SimError::Compile(e.to_string()))?;
        {
            let opt = model.opt_mut();
            opt.timestep = cfg.timestep_s;
            opt.iterations = cfg.solver_iterations;
            opt.ls_iterations = cfg.ls_iterations;
            opt.integrator = MjtIntegrator::mjINT_IMPLICITFAST as i32;
        }
        check_model(&model)?;
        // Actuators: gains from the table (commands override them per step), no ctrl clamp
        // beyond the joint range the model already inherits.
        for i in 0..NUM_JOINTS {
            let (kp, kd) = (JOINTS[i].kp(), JOINTS[i].kd());
            // SAFETY: writes parameter values only; no sizes or addresses change.
            unsafe { model.actuator_gainprm_mut()[i][0] = kp };
            let b = &mut model.actuator_biasprm_mut()[i];
            b[0] = 0.0;
            b[1] = -kp;
            b[2] = -kd;
        }
        let torso_body = id(&model, MjtObj::mjOBJ_BODY, "torso_link")?;
        let head_geom = id(&model, MjtObj::mjOBJ_GEOM, "head_collision")?;
        let floor = id(&model, MjtObj::mjOBJ_GEOM, "floor")?;
        let feet: Vec<usize> = [
            "left_foot1",
            "left_foot2",
            "left_foot3",
            "right_foot1",
            "right_foot2",
            "right_foot3",
        ]
        .iter()
        .map(|n| id(&model, MjtObj::mjOBJ_GEOM, &format!("{n}_collision")))
        .collect::<Result<_, _>>()?;
        let foot_floor_pairs: Vec<usize> = (0..model.ffi().npair as usize)
            .filter(|&p| {
                let (g1, g2) = (
                    model.pair_geom1()[p] as usize,
                    model.pair_geom2()[p] as usize,
                );
                (feet.contains(&g1) && g2 == floor) || (feet.contains(&g2) && g1 == floor)
            })
            .collect();
        if foot_floor_pairs.len() != 6 {
            return Err(SimError::ModelMismatch(format!(
                "expected 6 foot–floor contact pairs, found {}",
                foot_floor_pairs.len()
            )));
        }
        let foot_bodies = [
            id(&model, MjtObj::mjOBJ_BODY, "left_ankle_roll_link")?,
            id(&model, MjtObj::mjOBJ_BODY, "right_ankle_roll_link")?,
        ];
        let obstacle_geoms = (0..cfg.obstacles.len())
            .map(|i| id(&model, MjtObj::mjOBJ_GEOM, &scene::obstacle_geom_name(i)))
            .collect::<Result<_, _>>()?;
        let sensor = |name: &str| -> Result<usize, SimError> {
            Ok(model.sensor_adr()[id(&model, MjtObj::mjOBJ_SENSOR, name)?] as usize)
        };
        let (sensor_quat, sensor_gyro, sensor_acc) = (
            sensor("orientation_pelvis")?,
            sensor("gyro_pelvis")?,
            sensor("accelerometer_pelvis")?,
        );
        let nominal = Nominal {
            body_mass: model.body_mass().to_vec(),
            body_inertia: model.body_inertia().to_vec(),
            body_ipos: model.body_ipos().to_vec(),
            pair_friction: model.pair_friction().to_vec(),
        };
        let data = MjData::new(Box::new(model));
        let mut sim = Self {
            data,
            cfg,
            xml,
            nominal,
            foot_floor_pairs,
            torso_body,
            head_geom,
            obstacle_geoms,
            floor_geom: floor,
            foot_bodies,
            sensor_quat,
            sensor_gyro,
            sensor_acc,
            rng: ChaCha8Rng::seed_from_u64(0),
            next_push_s: None,
            pushes: 0,
            episode: EpisodeRandomization {
                friction_scale: 1.0,
                mass_scale: 1.0,
                torso_com_offset_m: [0.0; 3],
                encoder_offset_rad: [0.0; NUM_JOINTS],
            },
            command: MotorCommand::position(g1::default_pose()),
            disturb_rng: ChaCha8Rng::seed_from_u64(0),
            punch_window_s: 0.0,
            next_punch: None,
            active_punch: None,
            arm_offset: [0.0; NUM_JOINTS],
            arm_walk_on: false,
            arm_joints: std::array::from_fn(is_arm_joint),
        };
        let mut init = InitialState::standing(0.8);
        sim.place_on_ground(&mut init);
        sim.reset(&init, 0)?;
        Ok(sim)
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }
    /// The compiled scene MJCF (for other tools, e.g. the Python benchmark peer).
    pub fn scene_xml(&self) -> &str {
        &self.xml
    }
    pub fn model(&self) -> &MjModel {
        self.data.model()
    }
    pub fn data(&self) -> &MjData<Box<MjModel>> {
        &self.data
    }
    pub fn time_s(&self) -> f64 {
        self.data.time()
    }
    pub fn control_dt_s(&self) -> f64 {
        self.cfg.control_dt_s()
    }
    /// Pushes applied since the last reset.
    /// Replaces the push schedule; takes effect at the next [`Sim::reset`].
    pub fn set_pushes(
        &mut self,
        pushes: Option<crate::config::PushConfig>,
    ) -> Result<(), SimError> {
        if let Some(p) = &pushes {
            p.validate()?;
        }
        self.cfg.pushes = pushes;
        Ok(())
    }

    /// Replaces the domain randomisation ranges; takes effect at the next [`Sim::reset`].
    pub fn set_randomization(
        &mut self,
        randomization: crate::config::Randomization,
    ) -> Result<(), SimError> {
        randomization.validate()?;
        self.cfg.randomization = randomization;
        Ok(())
    }

    /// Restarts the push schedule from the current time (the first push one interval from
    /// now; e.g. when an evaluated episode starts after a start-up phase).
    pub fn restart_pushes(&mut self) {
        let now = self.data.time();
        self.next_push_s = self
            .cfg
            .pushes
            .as_ref()
            .map(|p| now + draw(&mut self.rng, p.interval_s));
        self.restart_disturbances(now);
    }

    /// Punch windows from `t0`, no punch acting, the arms back on their commands.
    fn restart_disturbances(&mut self, t0: f64) {
        if let Some(p) = self.active_punch.take() {
            self.data.xfrc_applied_mut()[p.body] = [0.0; 6];
        }
        self.punch_window_s = t0;
        self.next_punch = self.draw_punch(t0);
        self.arm_offset = [0.0; NUM_JOINTS];
        self.arm_walk_on = false;
    }

    /// The punch of the window starting at `t0`.
    fn draw_punch(&mut self, t0: f64) -> Option<Punch> {
        let p = self.cfg.punches.clone()?;
        let r = &mut self.disturb_rng;
        let start_s = t0 + r.gen_range(0.0..(p.every_s - p.duration_s));
        // MuJoCo bodies 1..=30 are the robot's (0 is the world).
        let body = r.gen_range(1..=NUM_BODIES);
        let magnitude = if p.max_force_n > 0.0 {
            r.gen_range(0.0..p.max_force_n)
        } else {
            0.0
        };
        let dir = r.gen_range(-std::f64::consts::PI..std::f64::consts::PI);
        Some(Punch {
            start_s,
            body,
            force_n: [magnitude * dir.cos(), magnitude * dir.sin()],
        })
    }

    /// The punch acting now, if any.
    pub fn active_punch(&self) -> Option<Punch> {
        self.active_punch
    }

    pub fn pushes_applied(&self) -> usize {
        self.pushes
    }
    pub fn episode_randomization(&self) -> &EpisodeRandomization {
        &self.episode
    }

    /// Sets the pelvis height of `init` so that the lowest foot collision point touches the floor.
    pub fn place_on_ground(&mut self, init: &mut InitialState) {
        init.root.pos_w.z = 1.5;
        self.write_configuration(init);
        self.data.kinematics();
        let model = self.data.model();
        let mut lowest = f64::INFINITY;
        for side in ["left", "right"] {
            for k in 1..=3 {
                let g = model
                    .name_to_id(MjtObj::mjOBJ_GEOM, &format!("{side}_foot{k}_collision"))
                    .unwrap_or(0);
                let size = model.geom_size()[g];
                let c = self.data.geom_xpos()[g];
                let m = self.data.geom_xmat()[g];
                let axis_z = m[8]; // z component of the capsule's local z axis
                lowest = lowest.min(c[2] - axis_z.abs() * size[1] - size[0]);
            }
        }
        init.root.pos_w.z = 1.5 - lowest + 1e-3;
    }

    fn write_configuration(&mut self, init: &InitialState) {
        let (qpos_root, qvel_root) = init.root.to_mujoco();
        let qpos = self.data.qpos_mut();
        qpos[..7].copy_from_slice(&qpos_root);
        qpos[7..7 + NUM_JOINTS].copy_from_slice(&init.q);
        let qvel = self.data.qvel_mut();
        qvel[..6].copy_from_slice(&qvel_root);
        qvel[6..6 + NUM_JOINTS].copy_from_slice(&init.dq);
    }

    /// Starts an episode: restores the nominal model, draws this episode's randomisation and
    /// push schedule from `seed`, sets the configuration, and holds it with the default gains.
    pub fn reset(&mut self, init: &InitialState, seed: u64) -> Result<(), SimError> {
        let finite = init.q.iter().chain(&init.dq).all(|v| v.is_finite())
            && init.root.pos_w.iter().all(|v| v.is_finite())
            && init.root.lin_vel_w.iter().all(|v| v.is_finite())
            && init.root.ang_vel_w.iter().all(|v| v.is_finite());
        if !finite {
            return Err(SimError::InitialState("non-finite value".into()));
        }
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        let r = self.cfg.randomization.clone();
        let friction_scale = draw(&mut self.rng, r.friction_scale);
        let mass_scale = draw(&mut self.rng, r.mass_scale);
        let sym = |rng: &mut ChaCha8Rng, a: f64| if a > 0.0 { rng.gen_range(-a..a) } else { 0.0 };
        let torso_com_offset_m = std::array::from_fn(|_| sym(&mut self.rng, r.torso_com_offset_m));
        let encoder_offset_rad =
            std::array::from_fn(|_| sym(&mut self.rng, r.default_pose_offset_rad));
        self.episode = EpisodeRandomization {
            friction_scale,
            mass_scale,
            torso_com_offset_m,
            encoder_offset_rad,
        };
        {
            // SAFETY: parameter values only; sizes and addresses are untouched.
            let model = unsafe { self.data.model_mut() };
            let nb = model.body_mass().len();
            for b in 1..nb {
                model.body_mass_mut()[b] = self.nominal.body_mass[b] * mass_scale;
                for k in 0..3 {
                    model.body_inertia_mut()[b][k] = self.nominal.body_inertia[b][k] * mass_scale;
                }
                model.body_ipos_mut()[b] = self.nominal.body_ipos[b];
            }
            for k in 0..3 {
                model.body_ipos_mut()[self.torso_body][k] += torso_com_offset_m[k];
            }
            for (p, f) in self.nominal.pair_friction.iter().enumerate() {
                model.pair_friction_mut()[p] = *f;
            }
            for &p in &self.foot_floor_pairs {
                model.pair_friction_mut()[p][0] = self.nominal.pair_friction[p][0] * friction_scale;
                model.pair_friction_mut()[p][1] = self.nominal.pair_friction[p][1] * friction_scale;
            }
        }
        self.data.reset();
        self.write_configuration(init);
        self.pushes = 0;
        self.next_push_s = self
            .cfg
            .pushes
            .as_ref()
            .map(|p| draw(&mut self.rng, p.interval_s));
        self.disturb_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0070_756e_6368_6573);
        self.restart_disturbances(0.0);
        let hold =
            MotorCommand::position(std::array::from_fn(|i| init.q[i] + encoder_offset_rad[i]));
        self.set_command(&hold);
        self.data.forward();
        Ok(())
    }

    /// Sets the joint command applied from now on (held until replaced, as on the robot).
    /// Non-finite values are rejected by falling back to damping, never applied.
    pub fn set_command(&mut self, cmd: &MotorCommand) {
        let cmd = if cmd.is_finite() {
            *cmd
        } else {
            MotorCommand::damping()
        };
        self.command = cmd;
        let off = self.episode.encoder_offset_rad;
        // SAFETY: parameter values only.
        let model = unsafe { self.data.model_mut() };
        for i in 0..NUM_JOINTS {
            let kp = cmd.kp[i].max(0.0);
            let kd = cmd.kd[i].max(0.0);
            unsafe { model.actuator_gainprm_mut()[i][0] = kp };
            let b = &mut model.actuator_biasprm_mut()[i];
            // force = kp·ctrl + b0 + b1·q + b2·q̇  with ctrl = q_cmd − encoder offset
            b[0] = kd * cmd.dq[i] + cmd.tau[i];
            b[1] = -kp;
            b[2] = -kd;
        }
        let walk = self.arm_walk_on.then_some(self.arm_offset);
        let ctrl = self.data.ctrl_mut();
        for i in 0..NUM_JOINTS {
            ctrl[i] = cmd.q[i] - off[i];
            if let Some(a) = walk.filter(|_| self.arm_joints[i]) {
                ctrl[i] = JOINTS[i].default_pos_rad + a[i] - off[i];
            }
        }
    }

    pub fn command(&self) -> &MotorCommand {
        &self.command
    }

    /// Advances one control period (`decimation` physics steps), applying a due push first.
    pub fn step_control(&mut self) {
        self.apply_due_push();
        for _ in 0..self.cfg.decimation {
            self.data.step();
        }
    }

    /// Applies the push that is due at the start of this control period, if any (what
    /// [`Sim::step_control`] does before its physics steps; for callers that step the physics
    /// themselves, e.g. to change the command within a period).
    pub fn apply_due_push(&mut self) {
        if let (Some(t), Some(p)) = (self.next_push_s, self.cfg.pushes.clone()) {
            if self.data.time() + 1e-9 >= t {
                let speed = if p.max_speed_mps > 0.0 {
                    self.rng.gen_range(0.0..p.max_speed_mps)
                } else {
                    0.0
                };
                let dir = self
                    .rng
                    .gen_range(-std::f64::consts::PI..std::f64::consts::PI);
                self.kick([speed * dir.cos(), speed * dir.sin()]);
                let dt = if p.interval_s[1] > p.interval_s[0] {
                    self.rng.gen_range(p.interval_s[0]..p.interval_s[1])
                } else {
                    p.interval_s[0]
                };
                self.next_push_s = Some(t + dt);
            }
        }
        self.apply_punches();
        self.step_arm_walk();
    }

    /// Ends a punch that has lasted its time and starts the one that is due.
    fn apply_punches(&mut self) {
        let Some(cfg) = self.cfg.punches.clone() else {
            return;
        };
        let now = self.data.time();
        if let Some(p) = self.active_punch {
            if now + 1e-9 >= p.start_s + cfg.duration_s {
                self.data.xfrc_applied_mut()[p.body] = [0.0; 6];
                self.active_punch = None;
            }
        }
        if let (None, Some(p)) = (self.active_punch, self.next_punch) {
            if now + 1e-9 >= p.start_s {
                let f = p.force_n;
                self.data.xfrc_applied_mut()[p.body] = [f[0], f[1], 0.0, 0.0, 0.0, 0.0];
                // It lasts `duration_s` from when it landed (a control period's granularity).
                self.active_punch = Some(Punch { start_s: now, ..p });
                self.pushes += 1;
                self.punch_window_s += cfg.every_s;
                self.next_punch = self.draw_punch(self.punch_window_s);
            }
        }
    }

    /// One control period of the arm walk; the current command is applied again with it.
    fn step_arm_walk(&mut self) {
        let Some(cfg) = self.cfg.arm_walk.clone() else {
            return;
        };
        for (i, j) in JOINTS.iter().enumerate() {
            if !self.arm_joints[i] {
                continue;
            }
            let step: f64 = self.disturb_rng.sample(rand_distr::StandardNormal);
            let [lo, hi] = j.pos_limits_rad;
            let d = j.default_pos_rad;
            self.arm_offset[i] = (self.arm_offset[i] + cfg.step_std_rad * step)
                .clamp(-cfg.max_offset_rad, cfg.max_offset_rad)
                .clamp(lo - d, hi - d);
        }
        self.arm_walk_on = true;
        let c = self.command;
        self.set_command(&c);
    }

    /// Recomputes all derived quantities (kinematics, forces, sensors) without advancing time.
    pub fn forward(&mut self) {
        self.data.forward();
    }

    /// The whole robot's centre-of-mass velocity (m/s, world frame: MuJoCo's `subtree_linvel`
    /// of the pelvis) in the current state; its total momentum over its mass.
    pub fn com_velocity(&mut self) -> [f64; 3] {
        self.data.forward();
        self.data.subtree_vel();
        self.data.subtree_linvel()[1]
    }

    /// One physics step.
    pub fn step_physics(&mut self) {
        self.data.step();
    }

    /// Holds the root at `root`'s pose with zero velocity (a gantry, as a real G1 hangs from
    /// one while it starts): call before every physics step it should hold.
    pub fn pin_root(&mut self, root: &RootState) {
        let pinned = RootState::at_rest(root.pos_w, root.quat_w);
        let (qpos_root, qvel_root) = pinned.to_mujoco();
        self.data.qpos_mut()[..7].copy_from_slice(&qpos_root);
        self.data.qvel_mut()[..6].copy_from_slice(&qvel_root);
    }

    /// Instantaneous change of the root's horizontal velocity (m/s, world frame).
    pub fn kick(&mut self, dv_xy: [f64; 2]) {
        let qvel = self.data.qvel_mut();
        qvel[0] += dv_xy[0];
        qvel[1] += dv_xy[1];
        self.pushes += 1;
    }

    pub fn sensors(&self) -> Sensors {
        let s = self.data.sensordata();
        let (qpos, qvel) = (self.data.qpos(), self.data.qvel());
        let off = self.episode.encoder_offset_rad;
        let c = &self.command;
        // The motor's torque estimate for the current state: the PD law MuJoCo applies in the
        // next step (`actuator_force` in MjData lags one physics step behind q, dq).
        let tau = std::array::from_fn(|i| c.torque(i, c.q[i] - off[i], qpos[7 + i], qvel[6 + i]));
        Sensors {
            imu_quat_wxyz: [
                s[self.sensor_quat],
                s[self.sensor_quat + 1],
                s[self.sensor_quat + 2],
                s[self.sensor_quat + 3],
            ],
            gyro_b: [
                s[self.sensor_gyro],
                s[self.sensor_gyro + 1],
                s[self.sensor_gyro + 2],
            ],
            accel_b: [
                s[self.sensor_acc],
                s[self.sensor_acc + 1],
                s[self.sensor_acc + 2],
            ],
            q: std::array::from_fn(|i| qpos[7 + i] + off[i]),
            dq: std::array::from_fn(|i| qvel[6 + i]),
            tau,
        }
    }

    pub fn ground_truth(&self) -> GroundTruth {
        let (qpos, qvel) = (self.data.qpos(), self.data.qvel());
        GroundTruth {
            time_s: self.data.time(),
            root: RootState::from_mujoco(&qpos[..7], &qvel[..6]),
            q: std::array::from_fn(|i| qpos[7 + i]),
            dq: std::array::from_fn(|i| qvel[6 + i]),
            head_height_m: self.data.geom_xpos()[self.head_geom][2],
        }
    }

    /// Number of active contacts between the robot and any obstacle.
    pub fn obstacle_contacts(&self) -> usize {
        self.data
            .contact()
            .iter()
            .filter(|c| {
                c.dist <= 0.0
                    && (self.obstacle_geoms.contains(&(c.geom1 as usize))
                        || self.obstacle_geoms.contains(&(c.geom2 as usize)))
            })
            .count()
    }

    /// The robot bodies (g1 body indices, sorted, each once) in active contact with an
    /// obstacle now.
    pub fn obstacle_contact_bodies(&self) -> Vec<usize> {
        let body = self.data.model().geom_bodyid();
        let mut out: Vec<usize> = self
            .data
            .contact()
            .iter()
            .filter(|c| c.dist <= 0.0)
            .filter_map(|c| {
                let (g1, g2) = (c.geom1 as usize, c.geom2 as usize);
                let robot = if self.obstacle_geoms.contains(&g1) {
                    g2
                } else if self.obstacle_geoms.contains(&g2) {
                    g1
                } else {
                    return None;
                };
                // MuJoCo body 0 is the world; g1 body b is MuJoCo body b + 1.
                (body[robot] as usize).checked_sub(1)
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether each foot (left, right) touches the floor now: any active contact between the
    /// floor and a collision geom of that foot's ankle-roll link.
    pub fn foot_contacts(&self) -> [bool; 2] {
        let body = self.data.model().geom_bodyid();
        let mut on = [false; 2];
        for c in self.data.contact().iter().filter(|c| c.dist <= 0.0) {
            let (g1, g2) = (c.geom1 as usize, c.geom2 as usize);
            let other = if g1 == self.floor_geom {
                g2
            } else if g2 == self.floor_geom {
                g1
            } else {
                continue;
            };
            for (side, &b) in self.foot_bodies.iter().enumerate() {
                if body[other] as usize == b {
                    on[side] = true;
                }
            }
        }
        on
    }

    /// Sets an arbitrary configuration and recomputes kinematics (no time advance). For tests
    /// and tools that compare against MuJoCo's own kinematics.
    pub fn set_configuration(&mut self, state: &InitialState) {
        self.write_configuration(state);
        self.data.forward();
    }

    /// MuJoCo's pose of body `b` (g1 body index): position and `w, x, y, z` quaternion.
    pub fn mujoco_body_pose(&self, b: usize) -> ([f64; 3], [f64; 4]) {
        (self.data.xpos()[b + 1], self.data.xquat()[b + 1])
    }

    /// MuJoCo's velocity of body `b`'s frame origin, world axes: `(linear, angular)`.
    pub fn mujoco_body_velocity(&self, b: usize) -> ([f64; 3], [f64; 3]) {
        let v = self.data.object_velocity(MjtObj::mjOBJ_XBODY, b + 1, false);
        ([v[3], v[4], v[5]], [v[0], v[1], v[2]])
    }

    /// Current torso orientation from MuJoCo (for tests of the policy runner's anchor term).
    pub fn torso_quat(&self) -> UnitQuaternion<f64> {
        quat_from_wxyz(self.data.xquat()[self.torso_body])
    }
}

/// Compares the compiled model with the joint and body tables.
fn check_model(model: &MjModel) -> Result<(), SimError> {
    let m = model.ffi();
    let mismatch = |s: String| Err(SimError::ModelMismatch(s));
    if m.nu as usize != NUM_JOINTS
        || m.njnt as usize != NUM_JOINTS + 1
        || m.nbody as usize != NUM_BODIES + 1
    {
        return mismatch(format!(
            "expected {NUM_JOINTS} actuators, {} joints, {} bodies; model has {}, {}, {}",
            NUM_JOINTS + 1,
            NUM_BODIES + 1,
            m.nu,
            m.njnt,
            m.nbody
        ));
    }
    const TOL: f64 = 1e-9;
    for (i, row) in JOINTS.iter().enumerate() {
        let j = i + 1;
        let name = model.id_to_name(MjtObj::mjOBJ_JOINT, j).unwrap_or("");
        if name != row.model_name() {
            return mismatch(format!(
                "joint {j} is `{name}`, table row {i} is `{}`",
                row.model_name()
            ));
        }
        if model.actuator_trnid()[i][0] as usize != j {
            return mismatch(format!("actuator {i} does not drive `{name}`"));
        }
        if model.jnt_qposadr()[j] as usize != 7 + i || model.jnt_dofadr()[j] as usize != 6 + i {
            return mismatch(format!("`{name}` has unexpected qpos/dof address"));
        }
        let axis = model.jnt_axis()[j];
        if axis
            .iter()
            .zip(row.axis.unit())
            .any(|(a, b)| (a - b).abs() > TOL)
        {
            return mismatch(format!("`{name}` axis {axis:?} vs table {:?}", row.axis));
        }
        let range = model.jnt_range()[j];
        if (range[0] - row.pos_limits_rad[0]).abs() > TOL
            || (range[1] - row.pos_limits_rad[1]).abs() > TOL
        {
            return mismatch(format!(
                "`{name}` range {range:?} vs table {:?}",
                row.pos_limits_rad
            ));
        }
        let arm = model.dof_armature()[6 + i];
        if (arm - row.armature()).abs() > TOL {
            return mismatch(format!(
                "`{name}` armature {arm} vs table {}",
                row.armature()
            ));
        }
        let frc = model.jnt_actfrcrange()[j];
        if (frc[1] - row.effort_limit_nm()).abs() > TOL
            || (frc[0] + row.effort_limit_nm()).abs() > TOL
        {
            return mismatch(format!(
                "`{name}` effort range {frc:?} vs table ±{}",
                row.effort_limit_nm()
            ));
        }
    }
    for (b, row) in BODIES.iter().enumerate() {
        let mb = b + 1;
        let name = model.id_to_name(MjtObj::mjOBJ_BODY, mb).unwrap_or("");
        if name != row.name {
            return mismatch(format!(
                "body {mb} is `{name}`, table row {b} is `{}`",
                row.name
            ));
        }
        let parent = model.body_parentid()[mb] as usize;
        if parent != row.parent.map_or(0, |p| p.index() + 1) {
            return mismatch(format!("`{name}` parent {parent} disagrees with the table"));
        }
        if b > 0 {
            let pos = model.body_pos()[mb];
            let quat = model.body_quat()[mb];
            if pos
                .iter()
                .zip(row.pos_in_parent)
                .any(|(a, c)| (a - c).abs() > TOL)
                || quat
                    .iter()
                    .zip(row.quat_in_parent)
                    .any(|(a, c)| (a - c).abs() > TOL)
            {
                return mismatch(format!(
                    "`{name}` offset {pos:?} {quat:?} disagrees with the table"
                ));
            }
        }
        // MuJoCo joint ids count the free joint first: body `mb` carries joint `mb - 1`.
        if model.body_jntadr()[mb] as usize != mb - 1 {
            return mismatch(format!("`{name}` does not carry joint {}", mb - 1));
        }
    }
    Ok(())
}

/// Locates the repository's `assets/` directory: `$G1D_ASSETS`, else `./assets`, else the
/// path compiled in from the workspace root.
/// Uniform in `range` (its lower end when empty).
fn draw(rng: &mut ChaCha8Rng, range: [f64; 2]) -> f64 {
    if range[1] > range[0] {
        rng.gen_range(range[0]..range[1])
    } else {
        range[0]
    }
}

pub fn default_assets_dir() -> PathBuf {
    if let Ok(p) = std::env::var("G1D_ASSETS") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("assets");
    if local.join("g1/mjcf/g1_mjx.xml").exists() {
        return local;
    }
    // An install (scripts/install.sh): <prefix>/lib/g1_diffusion/<exe> next to
    // <prefix>/share/g1_diffusion/assets.
    if let Some(installed) = std::env::current_exe().ok().and_then(|e| {
        let p = e
            .parent()?
            .parent()?
            .parent()?
            .join("share/g1_diffusion/assets");
        p.join("g1/mjcf/g1_mjx.xml").exists().then_some(p)
    }) {
        return installed;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets"))
}
