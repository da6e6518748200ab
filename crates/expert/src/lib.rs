//! Stage 1 expert policy runner.
//!
//! Loads a policy described declaratively — Unitree's `deploy.yaml` next to `policy.onnx`, or a
//! BeyondMimic-exported ONNX whose `metadata_props` describe it — and turns robot sensor
//! readings into joint targets, building the observation from the declared terms in order
//! (scales, clips, term-major history, `joint_ids_map`). A new policy needs a file, not code.
//!
//! ```text
//!  RobotState (IMU, q, dq)  ──►  observation terms ──► ONNX (ort, CPU) ──► action a (policy order)
//!  command / reference      ──►                                          q* = offset + scale ⊙ a  (SDK order)
//! ```

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod deploy;
pub mod motion;
pub mod obs;
pub mod runtime;

use std::path::{Path, PathBuf};

use g1::nalgebra::{Matrix3, UnitQuaternion, Vector3};
use g1::{Body, Joint, NUM_JOINTS};
use ort::session::Session;
use ort::value::TensorRef;

pub use deploy::{CommandRanges, DeployYaml};
pub use motion::{MotionClip, MotionFrame, MotionWindow};
pub use obs::{ObsTerm, TermSpec};

/// Errors of the expert runner. Each names the file, term or quantity at fault.
#[derive(Debug, thiserror::Error)]
pub enum ExpertError {
    #[error("cannot read {path}: {why}")]
    Io { path: PathBuf, why: String },
    #[error("cannot parse {path}: {why}")]
    Parse { path: PathBuf, why: String },
    #[error("unknown observation term `{term}` in {source_name}; known terms: {known}")]
    UnknownTerm {
        term: String,
        source_name: String,
        known: String,
    },
    #[error("size mismatch in {what}: expected {expected}, found {found}")]
    SizeMismatch {
        what: String,
        expected: usize,
        found: usize,
    },
    #[error("ONNX Runtime: {0}")]
    Onnx(String),
    #[error("policy metadata: {0}")]
    Metadata(String),
    #[error("observation term `{0}` needs a quantity the caller did not provide")]
    MissingInput(String),
    #[error("{0}")]
    Usage(String),
}

impl From<ort::Error> for ExpertError {
    fn from(e: ort::Error) -> Self {
        ExpertError::Onnx(e.to_string())
    }
}

/// What a policy is conditioned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Follows a planar velocity command.
    Velocity,
    /// Tracks a reference motion.
    MotionTracking,
}

/// How the policy file describes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyFormat {
    /// Unitree `deploy.yaml` + `policy.onnx` (reference motion from a CSV).
    UnitreeDeploy,
    /// BeyondMimic export: `obs` + `time_step` inputs, reference inside the graph.
    BeyondMimic,
}

/// What the robot knows about itself this step (SDK joint order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobotState {
    /// Pelvis IMU orientation, `w x y z`.
    pub imu_quat_wxyz: [f64; 4],
    /// Pelvis angular velocity in the IMU frame (rad/s).
    pub gyro_b: [f64; 3],
    pub q: [f64; NUM_JOINTS],
    pub dq: [f64; NUM_JOINTS],
    /// Pelvis position in the world (state estimate or ground truth), if known.
    pub root_pos_w: Option<[f64; 3]>,
    /// Pelvis linear velocity in the pelvis frame, if known.
    pub root_lin_vel_b: Option<[f64; 3]>,
}

/// One policy decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpertAction {
    /// Raw network output, policy order.
    pub raw: [f64; NUM_JOINTS],
    /// Normalised action in SDK order: `q_target = offset_sdk + scale_sdk ⊙ normalized`.
    pub normalized: [f64; NUM_JOINTS],
    /// Joint position targets, SDK order (rad).
    pub q_target: [f64; NUM_JOINTS],
    pub kp: [f64; NUM_JOINTS],
    pub kd: [f64; NUM_JOINTS],
}

/// Where the reference motion comes from.
enum Reference {
    None,
    Clip(MotionClip),
    /// Inside the ONNX graph (BeyondMimic): outputs at the given time step.
    Graph {
        anchor_index: usize,
        /// Where the pelvis is among the graph's bodies (to start the robot in the reference's
        /// pose), if the export tracks it.
        pelvis_index: Option<usize>,
        num_steps: Option<usize>,
    },
}

/// The reference frame used this step (aligned to the robot's start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferenceSample {
    /// Policy order.
    pub q_policy: [f64; NUM_JOINTS],
    pub dq_policy: [f64; NUM_JOINTS],
    /// SDK order.
    pub q_sdk: [f64; NUM_JOINTS],
    pub torso_quat_w: UnitQuaternion<f64>,
    pub torso_pos_w: Vector3<f64>,
}

/// Motion clip to play for a `deploy.yaml` tracking policy.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionSpec {
    pub csv: PathBuf,
    pub fps: f64,
    pub window: MotionWindow,
}

impl MotionSpec {
    /// Reads the `motion.yaml` sidecar of a policy directory (this project's addition: which
    /// clip the policy was trained on, its frame rate, and the window its deploy config plays).
    pub fn from_policy_dir(dir: &Path) -> Result<Option<Self>, ExpertError> {
        let path = dir.join("motion.yaml");
        if !path.exists() {
            return Ok(None);
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Sidecar {
            file: PathBuf,
            fps: f64,
            #[serde(default)]
            start_s: f64,
            #[serde(default)]
            end_s: Option<f64>,
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ExpertError::Io {
            path: path.clone(),
            why: e.to_string(),
        })?;
        let s: Sidecar = serde_yaml::from_str(&text).map_err(|e| ExpertError::Parse {
            path: path.clone(),
            why: e.to_string(),
        })?;
        Ok(Some(Self {
            csv: dir.join(s.file),
            fps: s.fps,
            window: MotionWindow {
                start_s: s.start_s,
                end_s: s.end_s,
            },
        }))
    }

    /// A CSV given on the command line: frame rate from `fps`, else 60 if the name says
    /// `60hz`, else 30 (LAFAN1).
    pub fn from_csv(csv: &Path, fps: Option<f64>) -> Self {
        let name = csv
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let fps = fps.unwrap_or(if name.contains("60hz") { 60.0 } else { 30.0 });
        Self {
            csv: csv.to_path_buf(),
            fps,
            window: MotionWindow::default(),
        }
    }
}

/// A loaded Stage 1 policy.
pub struct Expert {
    pub name: String,
    pub format: PolicyFormat,
    pub kind: PolicyKind,
    pub step_dt_s: f64,
    pub command_ranges: Option<CommandRanges>,
    /// Policy joint `i` drives SDK joint `joint_map[i]`.
    pub joint_map: [usize; NUM_JOINTS],
    default_policy: [f64; NUM_JOINTS],
    action_scale: [f64; NUM_JOINTS],
    action_offset: [f64; NUM_JOINTS],
    action_clip: Option<[f64; 2]>,
    kp_sdk: [f64; NUM_JOINTS],
    kd_sdk: [f64; NUM_JOINTS],
    obs: obs::ObsBuilder,
    session: Session,
    reference: Reference,
    step: usize,
    last_action: [f64; NUM_JOINTS],
    align_quat: UnitQuaternion<f64>,
    align_offset: Vector3<f64>,
    ref0_torso_pos: Vector3<f64>,
    input_buf: Vec<f32>,
    playback: Playback,
}

/// A root's linear and angular velocity, world axes (m/s, rad/s).
pub type RootVelocity = (Vector3<f64>, Vector3<f64>);

/// One time step of a reference that lives inside the policy graph.
struct GraphFrame {
    q_policy: [f64; NUM_JOINTS],
    dq_policy: [f64; NUM_JOINTS],
    /// Whether `frame`'s root pose is the pelvis's (the graph tracks the pelvis).
    pelvis: bool,
    frame: MotionFrame,
}

/// Where in the reference an episode starts and how fast the reference is played.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Playback {
    /// Start, in control steps into the loaded reference (fractional).
    start: f64,
    speed: f64,
}

impl Default for Playback {
    fn default() -> Self {
        Self {
            start: 0.0,
            speed: 1.0,
        }
    }
}

fn array29(v: &[f64], what: &str) -> Result<[f64; NUM_JOINTS], ExpertError> {
    if v.len() != NUM_JOINTS {
        return Err(ExpertError::SizeMismatch {
            what: what.into(),
            expected: NUM_JOINTS,
            found: v.len(),
        });
    }
    Ok(std::array::from_fn(|i| v[i]))
}

fn input_width(session: &Session, name: &str) -> Option<usize> {
    let input = session.inputs().iter().find(|i| i.name() == name)?;
    let shape = input.dtype().tensor_shape()?;
    shape.last().and_then(|d| usize::try_from(*d).ok())
}

impl Expert {
    /// Loads a policy from a directory holding `deploy.yaml` + `policy.onnx`, or from a
    /// BeyondMimic `.onnx` file (or a directory holding exactly one). Tracking policies in the
    /// Unitree format play `motion` (default: the directory's `motion.yaml`).
    pub fn load(path: &Path, motion: Option<MotionSpec>) -> Result<Self, ExpertError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".onnx").to_string())
            .unwrap_or_else(|| "policy".into());
        if path.is_dir() && path.join("deploy.yaml").exists() {
            Self::load_deploy(path, name, motion)
        } else if path.is_file() && path.extension().is_some_and(|e| e == "onnx") {
            Self::load_beyondmimic(path, name)
        } else if path.is_dir() {
            let onnx: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| ExpertError::Io {
                    path: path.into(),
                    why: e.to_string(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
                .collect();
            match onnx.as_slice() {
                [one] => Self::load_beyondmimic(one, name),
                _ => Err(ExpertError::Usage(format!(
                    "{}: expected deploy.yaml + policy.onnx, or a single BeyondMimic .onnx ({} .onnx files found)",
                    path.display(),
                    onnx.len()
                ))),
            }
        } else {
            Err(ExpertError::Io {
                path: path.into(),
                why: "no such policy directory or .onnx file".into(),
            })
        }
    }

    fn load_deploy(
        dir: &Path,
        name: String,
        motion: Option<MotionSpec>,
    ) -> Result<Self, ExpertError> {
        let yaml_path = dir.join("deploy.yaml");
        let cfg = DeployYaml::load(&yaml_path)?;
        let map = &cfg.joint_ids_map;
        if map.len() != NUM_JOINTS {
            return Err(ExpertError::SizeMismatch {
                what: "joint_ids_map".into(),
                expected: NUM_JOINTS,
                found: map.len(),
            });
        }
        let mut seen = [false; NUM_JOINTS];
        for &m in map {
            if m >= NUM_JOINTS || seen[m] {
                return Err(ExpertError::Parse {
                    path: yaml_path.clone(),
                    why: format!("joint_ids_map is not a permutation of 0..{NUM_JOINTS}: {map:?}"),
                });
            }
            seen[m] = true;
        }
        let joint_map: [usize; NUM_JOINTS] = std::array::from_fn(|i| map[i]);
        let (_, action) = cfg.actions.first().ok_or_else(|| ExpertError::Parse {
            path: yaml_path.clone(),
            why: "no action term".into(),
        })?;
        let action_scale = array29(
            &action.scale.expand(NUM_JOINTS, "actions.scale")?,
            "actions.scale",
        )?;
        let default_policy = array29(&cfg.default_joint_pos, "default_joint_pos")?;
        let action_offset = match &action.offset {
            Some(o) => array29(&o.expand(NUM_JOINTS, "actions.offset")?, "actions.offset")?,
            None => default_policy,
        };
        let action_clip = action.clip.as_ref().map(|c| [c[0], c[1]]);
        let kp_sdk = array29(&cfg.stiffness, "stiffness")?;
        let kd_sdk = array29(&cfg.damping, "damping")?;
        let mut terms = Vec::new();
        for (term_name, t) in &cfg.observations {
            let term = ObsTerm::from_name(term_name).ok_or_else(|| ExpertError::UnknownTerm {
                term: term_name.clone(),
                source_name: yaml_path.display().to_string(),
                known: ObsTerm::known_names(),
            })?;
            let dim = term.dim();
            let scale = match &t.scale {
                Some(s) => s.expand(dim, &format!("observation `{term_name}` scale"))?,
                None => vec![1.0; dim],
            };
            let clip = match &t.clip {
                None => None,
                Some(c) if c.len() == 2 => Some([c[0], c[1]]),
                Some(c) => {
                    return Err(ExpertError::SizeMismatch {
                        what: format!("observation `{term_name}` clip"),
                        expected: 2,
                        found: c.len(),
                    })
                }
            };
            terms.push(TermSpec {
                term,
                name: term_name.clone(),
                scale,
                history: t.history_length.max(1),
                clip,
            });
        }
        let uses_motion = terms.iter().any(|t| t.term.needs_reference());
        let kind = if uses_motion {
            PolicyKind::MotionTracking
        } else {
            PolicyKind::Velocity
        };
        let reference = if uses_motion {
            let spec = match motion {
                Some(m) => m,
                None => MotionSpec::from_policy_dir(dir)?.ok_or_else(|| {
                    ExpertError::Usage(format!(
                        "{} tracks a motion: give --motion <csv> or add a motion.yaml beside its deploy.yaml",
                        dir.display()
                    ))
                })?,
            };
            Reference::Clip(MotionClip::from_csv(
                &spec.csv,
                spec.fps,
                spec.window,
                cfg.step_dt,
            )?)
        } else {
            Reference::None
        };
        let session = runtime::session(&dir.join("policy.onnx"))?;
        let obs = obs::ObsBuilder::new(terms);
        let width = input_width(&session, "obs").ok_or_else(|| {
            ExpertError::Metadata("the ONNX model has no `obs` input with a fixed width".into())
        })?;
        if width != obs.dim() {
            return Err(ExpertError::SizeMismatch {
                what: format!("observation ({}) vs ONNX input `obs`", obs.describe()),
                expected: width,
                found: obs.dim(),
            });
        }
        Ok(Self {
            name,
            format: PolicyFormat::UnitreeDeploy,
            kind,
            step_dt_s: cfg.step_dt,
            command_ranges: cfg.command_ranges(),
            joint_map,
            default_policy,
            action_scale,
            action_offset,
            action_clip,
            kp_sdk,
            kd_sdk,
            input_buf: vec![0.0; obs.dim()],
            obs,
            session,
            reference,
            step: 0,
            last_action: [0.0; NUM_JOINTS],
            align_quat: UnitQuaternion::identity(),
            align_offset: Vector3::zeros(),
            ref0_torso_pos: Vector3::zeros(),
            playback: Playback::default(),
        })
    }

    fn load_beyondmimic(path: &Path, name: String) -> Result<Self, ExpertError> {
        let session = runtime::session(path)?;
        let meta = session.metadata()?;
        let get = |k: &str| -> Result<String, ExpertError> {
            meta.custom(k).ok_or_else(|| {
                ExpertError::Metadata(format!("{}: metadata key `{k}` missing", path.display()))
            })
        };
        let list = |k: &str| -> Result<Vec<String>, ExpertError> {
            Ok(get(k)?
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect())
        };
        let nums = |k: &str| -> Result<Vec<f64>, ExpertError> {
            list(k)?
                .iter()
                .map(|s| {
                    s.parse::<f64>()
                        .map_err(|e| ExpertError::Metadata(format!("`{k}`: `{s}`: {e}")))
                })
                .collect()
        };
        let joint_names = list("joint_names")?;
        if joint_names.len() != NUM_JOINTS {
            return Err(ExpertError::SizeMismatch {
                what: "metadata joint_names".into(),
                expected: NUM_JOINTS,
                found: joint_names.len(),
            });
        }
        let mut joint_map = [0usize; NUM_JOINTS];
        for (i, n) in joint_names.iter().enumerate() {
            joint_map[i] = Joint::from_name(n)
                .ok_or_else(|| ExpertError::Metadata(format!("joint `{n}` is not a G1 joint")))?
                .index();
        }
        let kp_policy = array29(&nums("joint_stiffness")?, "metadata joint_stiffness")?;
        let kd_policy = array29(&nums("joint_damping")?, "metadata joint_damping")?;
        let mut kp_sdk = [0.0; NUM_JOINTS];
        let mut kd_sdk = [0.0; NUM_JOINTS];
        for i in 0..NUM_JOINTS {
            kp_sdk[joint_map[i]] = kp_policy[i];
            kd_sdk[joint_map[i]] = kd_policy[i];
        }
        let default_policy = array29(&nums("default_joint_pos")?, "metadata default_joint_pos")?;
        let scale = nums("action_scale")?;
        let action_scale = if scale.len() == 1 {
            [scale[0]; NUM_JOINTS]
        } else {
            array29(&scale, "metadata action_scale")?
        };
        let obs_names = list("observation_names")?;
        let hist: Vec<usize> = match meta.custom("observation_history_lengths") {
            Some(_) => nums("observation_history_lengths")?
                .iter()
                .map(|v| *v as usize)
                .collect(),
            None => vec![1; obs_names.len()],
        };
        if hist.len() != obs_names.len() {
            return Err(ExpertError::SizeMismatch {
                what: "metadata observation_history_lengths vs observation_names".into(),
                expected: obs_names.len(),
                found: hist.len(),
            });
        }
        let mut terms = Vec::new();
        for (n, h) in obs_names.iter().zip(hist) {
            let term = ObsTerm::from_name(n).ok_or_else(|| ExpertError::UnknownTerm {
                term: n.clone(),
                source_name: format!("{} metadata", path.display()),
                known: ObsTerm::known_names(),
            })?;
            terms.push(TermSpec {
                term,
                name: n.clone(),
                scale: vec![1.0; term.dim()],
                history: h.max(1),
                clip: None,
            });
        }
        let anchor = get("anchor_body_name")?;
        let bodies = list("body_names")?;
        let anchor_index = bodies.iter().position(|b| *b == anchor).ok_or_else(|| {
            ExpertError::Metadata(format!("anchor body `{anchor}` not in body_names"))
        })?;
        if Body::from_name(&anchor) != Some(Body::Torso) {
            return Err(ExpertError::Metadata(format!(
                "anchor body `{anchor}` unsupported (expected torso_link)"
            )));
        }
        if !session.inputs().iter().any(|i| i.name() == "time_step") {
            return Err(ExpertError::Metadata(format!(
                "{}: no `time_step` input",
                path.display()
            )));
        }
        let obs = obs::ObsBuilder::new(terms);
        let width = input_width(&session, "obs")
            .ok_or_else(|| ExpertError::Metadata("no `obs` input".into()))?;
        if width != obs.dim() {
            return Err(ExpertError::SizeMismatch {
                what: format!("observation ({}) vs ONNX input `obs`", obs.describe()),
                expected: width,
                found: obs.dim(),
            });
        }
        let num_steps = meta
            .custom("num_time_steps")
            .and_then(|s| s.trim().parse().ok());
        drop(meta);
        Ok(Self {
            name,
            format: PolicyFormat::BeyondMimic,
            kind: PolicyKind::MotionTracking,
            step_dt_s: 0.02,
            command_ranges: None,
            joint_map,
            default_policy,
            action_scale,
            action_offset: default_policy,
            action_clip: None,
            kp_sdk,
            kd_sdk,
            input_buf: vec![0.0; obs.dim()],
            obs,
            session,
            reference: Reference::Graph {
                anchor_index,
                pelvis_index: bodies.iter().position(|b| b == "pelvis"),
                num_steps,
            },
            step: 0,
            last_action: [0.0; NUM_JOINTS],
            align_quat: UnitQuaternion::identity(),
            align_offset: Vector3::zeros(),
            ref0_torso_pos: Vector3::zeros(),
            playback: Playback::default(),
        })
    }

    /// Observation layout, e.g. `base_ang_vel[3] projected_gravity[3] …`.
    pub fn observation_layout(&self) -> String {
        self.obs.describe()
    }

    /// Control steps of the loaded reference at normal speed, if it has a known end.
    fn reference_len(&self) -> Option<usize> {
        match &self.reference {
            Reference::Clip(c) => Some(c.frames.len()),
            Reference::Graph { num_steps, .. } => *num_steps,
            Reference::None => None,
        }
    }

    /// Number of control steps an episode plays, from the playback start to the end of the
    /// reference at the playback speed, if the reference has a known end.
    pub fn motion_steps(&self) -> Option<usize> {
        let n = self.reference_len()?;
        let left = (n.saturating_sub(1) as f64 - self.playback.start).max(0.0);
        Some((left / self.playback.speed + 1e-9).floor() as usize + 1)
    }

    /// Starts episodes `start_s` seconds into the reference (a start phase) and plays it
    /// `speed` times as fast as recorded (the reference resampled; joint velocities scaled).
    /// Takes effect at the next [`Expert::reset`].
    pub fn set_playback(&mut self, start_s: f64, speed: f64) -> Result<(), ExpertError> {
        if self.kind != PolicyKind::MotionTracking {
            return Err(ExpertError::Usage(
                "a start phase and playback speed need a tracking policy".into(),
            ));
        }
        if !(speed.is_finite() && (0.1..=10.0).contains(&speed)) {
            return Err(ExpertError::Usage(format!(
                "motion speed factor {speed} is outside [0.1, 10]"
            )));
        }
        let start = start_s / self.step_dt_s;
        let end = self
            .reference_len()
            .map_or(f64::INFINITY, |n| n.saturating_sub(1) as f64);
        if !(start.is_finite() && start >= 0.0 && start < end) {
            return Err(ExpertError::Usage(format!(
                "start phase {start_s} s is outside the reference (0 to {:.2} s)",
                end * self.step_dt_s
            )));
        }
        self.playback = Playback { start, speed };
        Ok(())
    }

    /// The reference frame at the playback start, unaligned (to place the robot at the start
    /// of its motion); `None` without a reference, or when the reference lives inside the policy
    /// graph and the graph does not track the pelvis.
    pub fn motion_start(&mut self) -> Result<Option<MotionFrame>, ExpertError> {
        let pb = self.playback;
        match &self.reference {
            Reference::Clip(c) => Ok(Some(c.sample(pb.start, pb.speed))),
            Reference::Graph { .. } => {
                let g = self.graph_frame(pb.start.round() as usize)?;
                let mut f = g.frame;
                f.dq = f.dq.map(|v| pb.speed * v);
                Ok(g.pelvis.then_some(f))
            }
            Reference::None => Ok(None),
        }
    }

    /// The root's linear and angular velocity (world axes of the reference) at the playback
    /// start, from the reference one control step later; `None` where [`Expert::motion_start`]
    /// is.
    pub fn motion_start_velocity(&mut self) -> Result<Option<RootVelocity>, ExpertError> {
        let pb = self.playback;
        let (f0, f1) = match &self.reference {
            Reference::Clip(c) => (
                c.sample(pb.start, pb.speed),
                c.sample(pb.start + pb.speed, pb.speed),
            ),
            Reference::Graph { .. } => {
                let (g0, g1) = (
                    self.graph_frame(pb.start.round() as usize)?,
                    self.graph_frame((pb.start + pb.speed).round() as usize)?,
                );
                if !g0.pelvis {
                    return Ok(None);
                }
                (g0.frame, g1.frame)
            }
            Reference::None => return Ok(None),
        };
        let dt = self.step_dt_s;
        let lin = (f1.root_pos_w - f0.root_pos_w) / dt;
        let ang = (f1.root_quat_w * f0.root_quat_w.inverse()).scaled_axis() / dt;
        Ok(Some((lin, ang)))
    }

    /// Gains in SDK order.
    pub fn gains(&self) -> ([f64; NUM_JOINTS], [f64; NUM_JOINTS]) {
        (self.kp_sdk, self.kd_sdk)
    }

    /// Action offset and scale in SDK order (the `q_target = offset + scale ⊙ a` map).
    pub fn action_map_sdk(&self) -> ([f64; NUM_JOINTS], [f64; NUM_JOINTS]) {
        let mut off = [0.0; NUM_JOINTS];
        let mut sc = [0.0; NUM_JOINTS];
        for i in 0..NUM_JOINTS {
            off[self.joint_map[i]] = self.action_offset[i];
            sc[self.joint_map[i]] = self.action_scale[i];
        }
        (off, sc)
    }

    /// The default pose the policy's observations are relative to, SDK order.
    pub fn default_pose_sdk(&self) -> [f64; NUM_JOINTS] {
        let mut d = [0.0; NUM_JOINTS];
        for i in 0..NUM_JOINTS {
            d[self.joint_map[i]] = self.default_policy[i];
        }
        d
    }

    /// Current control step since [`Expert::reset`].
    pub fn step_index(&self) -> usize {
        self.step
    }

    /// Starts an episode: clears the action and histories, and aligns the reference motion's
    /// heading (and horizontal position, when the robot's position is known) with the robot.
    pub fn reset(&mut self, state: &RobotState) -> Result<(), ExpertError> {
        self.step = 0;
        self.last_action = [0.0; NUM_JOINTS];
        self.obs.clear();
        self.align_quat = UnitQuaternion::identity();
        self.align_offset = Vector3::zeros();
        if self.kind == PolicyKind::MotionTracking {
            let raw = self.reference_raw(0)?;
            let robot_torso = self.robot_torso_quat(state);
            let yaw = g1::bodypos::heading_yaw(&robot_torso)
                - g1::bodypos::heading_yaw(&raw.torso_quat_w);
            self.align_quat = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw);
            self.ref0_torso_pos = raw.torso_pos_w;
            if let Some(p) = self.robot_torso_pos(state) {
                self.align_offset = Vector3::new(p.x, p.y, 0.0);
            } else {
                self.align_offset = Vector3::new(raw.torso_pos_w.x, raw.torso_pos_w.y, 0.0);
            }
        }
        Ok(())
    }

    fn robot_torso_quat(&self, s: &RobotState) -> UnitQuaternion<f64> {
        g1::kinematics::body_orientation(&g1::quat_from_wxyz(s.imu_quat_wxyz), &s.q, Body::Torso)
    }

    fn robot_torso_pos(&self, s: &RobotState) -> Option<Vector3<f64>> {
        let p = s.root_pos_w?;
        let root = g1::RootState::at_rest(Vector3::from(p), g1::quat_from_wxyz(s.imu_quat_wxyz));
        Some(g1::forward_kinematics(&root, &s.q, &[0.0; NUM_JOINTS]).pos_w[Body::Torso.index()])
    }

    /// The reference at step `k` before alignment.
    fn reference_raw(&mut self, k: usize) -> Result<ReferenceSample, ExpertError> {
        match &self.reference {
            Reference::None => Err(ExpertError::Usage(
                "this policy has no reference motion".into(),
            )),
            Reference::Clip(c) => {
                let pb = self.playback;
                let f = c.sample(pb.start + k as f64 * pb.speed, pb.speed);
                Ok(ReferenceSample {
                    q_policy: std::array::from_fn(|i| f.q[self.joint_map[i]]),
                    dq_policy: std::array::from_fn(|i| f.dq[self.joint_map[i]]),
                    q_sdk: f.q,
                    torso_quat_w: f.torso_quat_w,
                    torso_pos_w: f.torso_pos_w,
                })
            }
            Reference::Graph { .. } => {
                let pb = self.playback;
                let g = self.graph_frame((pb.start + k as f64 * pb.speed).round() as usize)?;
                Ok(ReferenceSample {
                    q_policy: g.q_policy,
                    dq_policy: g.dq_policy.map(|v| pb.speed * v),
                    q_sdk: g.frame.q,
                    torso_quat_w: g.frame.torso_quat_w,
                    torso_pos_w: g.frame.torso_pos_w,
                })
            }
        }
    }

    /// The graph's reference at time step `k` (held at its last step). The frame's root pose
    /// is the pelvis's when the export tracks the pelvis, else `None` in `pelvis`.
    fn graph_frame(&mut self, k: usize) -> Result<GraphFrame, ExpertError> {
        let Reference::Graph {
            anchor_index,
            pelvis_index,
            num_steps,
        } = &self.reference
        else {
            return Err(ExpertError::Usage("no reference inside the graph".into()));
        };
        let (anchor, pelvis) = (*anchor_index, *pelvis_index);
        let k = num_steps.map_or(k, |n| k.min(n.saturating_sub(1)));
        self.input_buf.iter_mut().for_each(|v| *v = 0.0);
        let obs = ndarray::ArrayView2::from_shape((1, self.input_buf.len()), &self.input_buf)
            .map_err(|e| ExpertError::Onnx(e.to_string()))?;
        let ts = [k as f32];
        let ts = ndarray::ArrayView2::from_shape((1, 1), &ts)
            .map_err(|e| ExpertError::Onnx(e.to_string()))?;
        let out = self.session.run(ort::inputs![
            "obs" => TensorRef::from_array_view(obs)?,
            "time_step" => TensorRef::from_array_view(ts)?,
        ])?;
        let vec = |name: &str| -> Result<Vec<f64>, ExpertError> {
            let v = out
                .get(name)
                .ok_or_else(|| ExpertError::Metadata(format!("no `{name}` output")))?;
            let (_, d) = v.try_extract_tensor::<f32>()?;
            Ok(d.iter().map(|x| *x as f64).collect())
        };
        let jp = vec("joint_pos")?;
        let jv = vec("joint_vel")?;
        let bp = vec("body_pos_w")?;
        let bq = vec("body_quat_w")?;
        let last = anchor.max(pelvis.unwrap_or(0));
        if jp.len() < NUM_JOINTS
            || jv.len() < NUM_JOINTS
            || bp.len() < 3 * (last + 1)
            || bq.len() < 4 * (last + 1)
        {
            return Err(ExpertError::Metadata(
                "reference outputs are too short".into(),
            ));
        }
        let pos = |b: usize| Vector3::new(bp[3 * b], bp[3 * b + 1], bp[3 * b + 2]);
        let quat =
            |b: usize| g1::quat_from_wxyz([bq[4 * b], bq[4 * b + 1], bq[4 * b + 2], bq[4 * b + 3]]);
        let q_policy: [f64; NUM_JOINTS] = std::array::from_fn(|i| jp[i]);
        let dq_policy: [f64; NUM_JOINTS] = std::array::from_fn(|i| jv[i]);
        let (mut q, mut dq) = ([0.0; NUM_JOINTS], [0.0; NUM_JOINTS]);
        for i in 0..NUM_JOINTS {
            q[self.joint_map[i]] = q_policy[i];
            dq[self.joint_map[i]] = dq_policy[i];
        }
        Ok(GraphFrame {
            q_policy,
            dq_policy,
            pelvis: pelvis.is_some(),
            frame: MotionFrame {
                root_pos_w: pelvis.map_or(Vector3::zeros(), pos),
                root_quat_w: pelvis.map_or(UnitQuaternion::identity(), quat),
                q,
                dq,
                torso_quat_w: quat(anchor),
                torso_pos_w: pos(anchor),
            },
        })
    }

    /// The aligned reference at the current step (for tracking-error metrics).
    pub fn reference(&mut self) -> Result<ReferenceSample, ExpertError> {
        let mut r = self.reference_raw(self.step)?;
        r.torso_quat_w = self.align_quat * r.torso_quat_w;
        let rel = r.torso_pos_w - Vector3::new(self.ref0_torso_pos.x, self.ref0_torso_pos.y, 0.0);
        r.torso_pos_w = self.align_quat * rel + self.align_offset;
        Ok(r)
    }

    /// One control step: observation → network → joint targets. `velocity_cmd` is
    /// `[vx, vy, wz]` in the heading frame (ignored by tracking policies).
    pub fn step(
        &mut self,
        state: &RobotState,
        velocity_cmd: [f64; 3],
    ) -> Result<ExpertAction, ExpertError> {
        let pelvis = g1::quat_from_wxyz(state.imu_quat_wxyz);
        let reference = if self.kind == PolicyKind::MotionTracking {
            Some(self.reference()?)
        } else {
            None
        };
        let mut values: Vec<Vec<f64>> = Vec::with_capacity(self.obs.terms().len());
        for spec in self.obs.terms() {
            let v: Vec<f64> = match spec.term {
                ObsTerm::BaseAngVel => state.gyro_b.to_vec(),
                ObsTerm::ProjectedGravity => (pelvis.inverse() * Vector3::new(0.0, 0.0, -1.0))
                    .as_slice()
                    .to_vec(),
                ObsTerm::VelocityCommands => velocity_cmd.to_vec(),
                ObsTerm::JointPosRel => (0..NUM_JOINTS)
                    .map(|i| state.q[self.joint_map[i]] - self.default_policy[i])
                    .collect(),
                ObsTerm::JointVelRel => (0..NUM_JOINTS)
                    .map(|i| state.dq[self.joint_map[i]])
                    .collect(),
                ObsTerm::LastAction => self.last_action.to_vec(),
                ObsTerm::MotionCommand => {
                    let r = reference
                        .as_ref()
                        .ok_or_else(|| ExpertError::MissingInput(spec.name.clone()))?;
                    r.q_policy
                        .iter()
                        .chain(r.dq_policy.iter())
                        .copied()
                        .collect()
                }
                ObsTerm::MotionAnchorOriB => {
                    let r = reference
                        .as_ref()
                        .ok_or_else(|| ExpertError::MissingInput(spec.name.clone()))?;
                    let robot = self.robot_torso_quat(state);
                    let m: Matrix3<f64> = (robot.inverse() * r.torso_quat_w)
                        .to_rotation_matrix()
                        .into_inner();
                    vec![
                        m[(0, 0)],
                        m[(0, 1)],
                        m[(1, 0)],
                        m[(1, 1)],
                        m[(2, 0)],
                        m[(2, 1)],
                    ]
                }
                ObsTerm::MotionAnchorPosB => {
                    let r = reference
                        .as_ref()
                        .ok_or_else(|| ExpertError::MissingInput(spec.name.clone()))?;
                    let p = self
                        .robot_torso_pos(state)
                        .ok_or_else(|| ExpertError::MissingInput(spec.name.clone()))?;
                    let robot = self.robot_torso_quat(state);
                    (robot.inverse() * (r.torso_pos_w - p)).as_slice().to_vec()
                }
                ObsTerm::BaseLinVel => state
                    .root_lin_vel_b
                    .ok_or_else(|| ExpertError::MissingInput(spec.name.clone()))?
                    .to_vec(),
            };
            values.push(v);
        }
        self.obs.push(&values)?;
        self.obs.write(&mut self.input_buf);
        let raw = {
            let obs = ndarray::ArrayView2::from_shape((1, self.input_buf.len()), &self.input_buf)
                .map_err(|e| ExpertError::Onnx(e.to_string()))?;
            // BeyondMimic graphs read their reference at `time_step`: the playback's index
            // (the graph's own joint velocities are not rescaled for a changed speed).
            let ts =
                [(self.playback.start + self.step as f64 * self.playback.speed).round() as f32];
            let ts = ndarray::ArrayView2::from_shape((1, 1), &ts)
                .map_err(|e| ExpertError::Onnx(e.to_string()))?;
            let out = if self.format == PolicyFormat::BeyondMimic {
                self.session.run(ort::inputs![
                    "obs" => TensorRef::from_array_view(obs)?,
                    "time_step" => TensorRef::from_array_view(ts)?,
                ])?
            } else {
                self.session
                    .run(ort::inputs!["obs" => TensorRef::from_array_view(obs)?])?
            };
            let a = out
                .get("actions")
                .ok_or_else(|| ExpertError::Metadata("no `actions` output".into()))?;
            let (_, d) = a.try_extract_tensor::<f32>()?;
            if d.len() != NUM_JOINTS {
                return Err(ExpertError::SizeMismatch {
                    what: "ONNX output `actions`".into(),
                    expected: NUM_JOINTS,
                    found: d.len(),
                });
            }
            let arr: [f64; NUM_JOINTS] = std::array::from_fn(|i| d[i] as f64);
            arr
        };
        if raw.iter().any(|v| !v.is_finite()) {
            return Err(ExpertError::Onnx(
                "the policy produced a non-finite action".into(),
            ));
        }
        let clipped: [f64; NUM_JOINTS] = match self.action_clip {
            Some([lo, hi]) => std::array::from_fn(|i| raw[i].clamp(lo, hi)),
            None => raw,
        };
        let mut q_target = [0.0; NUM_JOINTS];
        let mut normalized = [0.0; NUM_JOINTS];
        for i in 0..NUM_JOINTS {
            let j = self.joint_map[i];
            q_target[j] = self.action_offset[i] + self.action_scale[i] * clipped[i];
            normalized[j] = clipped[i];
        }
        self.last_action = raw;
        self.step += 1;
        Ok(ExpertAction {
            raw,
            normalized,
            q_target,
            kp: self.kp_sdk,
            kd: self.kd_sdk,
        })
    }
}
