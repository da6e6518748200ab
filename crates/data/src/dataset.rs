//! `g1d dataset build`: bags → one memory-mappable safetensors file of training windows.
//!
//! The file stores every recorded step once (`states`: Body-Pos with the global part relative
//! to the step's own character frame; `frames`: that frame as x, y, yaw; `actions`: normalised
//! in the project's action convention), episode boundaries, the index of every valid window
//! (history N = 4, horizon H = 16: steps t−4..t+16 of one episode) and normalisation
//! statistics of the windows as the model sees them (global parts re-expressed in the frame of
//! step t). [`Dataset::window`] materialises one window.
//!
//! The states are in one [`StateLayout`] (`--state`): Body-Pos (the default, the method's) or
//! joint space (the global part, then the joint positions and velocities from `/joint_states`);
//! the file's metadata names it, and training and models carry it on.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use g1::bodypos::{self, CharacterFrame, LAYOUT_VERSION, STATE_DIM};
use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::state::{rebase_global, StateLayout};
use g1::{mirror, JOINTS, NUM_JOINTS};
use g1_bag::Bag;
use g1_msgs::g1d::{BodyPosState, EpisodeEvent, JointTargets};
use g1_msgs::sensor_msgs::JointState;
use safetensors::tensor::{Dtype, TensorView};

use crate::collect::topics;

pub const HISTORY: usize = 4;
pub const HORIZON: usize = 16;
/// Steps in one window: t−4..=t+16.
pub const WINDOW: usize = HISTORY + HORIZON + 1;
pub const ACTION_DIM: usize = NUM_JOINTS;
pub const FORMAT: &str = "g1d-dataset";
pub const FORMAT_VERSION: u32 = 1;

/// The project's action convention: `q_target = default_pos + scale ⊙ a` (joint table).
pub fn action_convention() -> ([f64; NUM_JOINTS], [f64; NUM_JOINTS]) {
    (
        std::array::from_fn(|i| JOINTS[i].default_pos_rad),
        std::array::from_fn(|i| JOINTS[i].action_scale()),
    )
}

/// One recorded episode.
#[derive(Debug, Clone)]
pub struct Episode {
    pub id: u64,
    pub policy: String,
    pub mirrored: bool,
    pub states: Vec<[f32; STATE_DIM]>,
    /// Character frame per step: x, y, yaw.
    pub frames: Vec<[f64; 3]>,
    pub actions: Vec<[f32; ACTION_DIM]>,
    /// Measured joint positions then velocities per step (`/joint_states`), when recorded.
    pub joints: Vec<[f32; 2 * NUM_JOINTS]>,
}

fn frame_of(f: &[f64; 3]) -> CharacterFrame {
    CharacterFrame {
        origin_w: Vector3::new(f[0], f[1], 0.0),
        yaw_rad: f[2],
    }
}

/// Reads the episodes of one bag. A bag that was not closed cleanly, or has a damaged chunk, is
/// an error naming why (repair it, or skip it); episodes without their END event are dropped
/// and counted.
pub fn read_bag_episodes(path: &Path) -> Result<(Vec<Episode>, usize)> {
    let bag = Bag::open(path)?;
    let (default, scale) = action_convention();
    let mut done = Vec::new();
    let mut cur: Option<Episode> = None;
    let mut dropped = 0usize;
    let report = bag.read(|m| -> Result<()> {
        match m.topic {
            topics::EPISODE => {
                let ev: EpisodeEvent = m.decode()?;
                if ev.event == EpisodeEvent::START {
                    if cur.take().is_some() {
                        dropped += 1;
                    }
                    cur = Some(Episode {
                        id: ev.episode,
                        policy: ev.policy_id,
                        mirrored: false,
                        states: Vec::new(),
                        frames: Vec::new(),
                        actions: Vec::new(),
                        joints: Vec::new(),
                    });
                } else if let Some(e) = cur.take() {
                    if e.states.len() != e.actions.len() {
                        bail!(
                            "episode {}: {} states but {} actions",
                            e.id,
                            e.states.len(),
                            e.actions.len()
                        );
                    }
                    done.push(e);
                }
            }
            topics::STATE => {
                let s: BodyPosState = m.decode()?;
                if s.layout_version != LAYOUT_VERSION {
                    bail!(
                        "state layout version {} (this build reads version {LAYOUT_VERSION})",
                        s.layout_version
                    );
                }
                let Ok(state) = <[f32; STATE_DIM]>::try_from(s.state.as_slice()) else {
                    bail!(
                        "state has {} numbers, layout {LAYOUT_VERSION} has {STATE_DIM}",
                        s.state.len()
                    );
                };
                if s.state.iter().any(|x| !x.is_finite()) {
                    bail!("non-finite number in the state at {} ns", m.log_time_ns);
                }
                if let Some(e) = cur.as_mut() {
                    let o = &s.root_pose.orientation;
                    let q = UnitQuaternion::from_quaternion(g1::nalgebra::Quaternion::new(
                        o.w, o.x, o.y, o.z,
                    ));
                    let p = &s.root_pose.position;
                    e.frames.push([p.x, p.y, bodypos::heading_yaw(&q)]);
                    e.states.push(state);
                }
            }
            topics::JOINT_STATES => {
                // Only a joint-space build needs them: one that is not a full, finite G1
                // joint state is left out here, and such a build then names the episode
                // whose count falls short.
                let j: JointState = m.decode()?;
                let full = j.position.len() == NUM_JOINTS
                    && j.velocity.len() == NUM_JOINTS
                    && j.position.iter().chain(&j.velocity).all(|v| v.is_finite());
                if let (Some(e), true) = (cur.as_mut(), full) {
                    e.joints.push(std::array::from_fn(|k| {
                        if k < NUM_JOINTS {
                            j.position[k] as f32
                        } else {
                            j.velocity[k - NUM_JOINTS] as f32
                        }
                    }));
                }
            }
            topics::ACTION => {
                let a: JointTargets = m.decode()?;
                if a.q_target.len() != NUM_JOINTS {
                    bail!(
                        "joint targets have {} joints, the G1 has {NUM_JOINTS}",
                        a.q_target.len()
                    );
                }
                if let Some(e) = cur.as_mut() {
                    e.actions.push(std::array::from_fn(|j| {
                        ((a.q_target[j] - default[j]) / scale[j]) as f32
                    }));
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    let report = report?;
    if !report.complete {
        bail!(
            "the bag was not closed cleanly ({}); `g1d bag repair` it first, or leave it out with --skip-bad",
            report.truncation.as_deref().unwrap_or("no data-end record")
        );
    }
    if cur.is_some() {
        dropped += 1;
    }
    Ok((done, dropped))
}

/// The left/right mirror image of an episode.
pub fn mirror_episode(e: &Episode) -> Episode {
    let jm = mirror::JointMirror::new();
    let half = |v: &[f32]| -> [f64; NUM_JOINTS] { std::array::from_fn(|k| v[k] as f64) };
    Episode {
        id: e.id,
        policy: e.policy.clone(),
        mirrored: !e.mirrored,
        states: e
            .states
            .iter()
            .map(|s| {
                let d: [f64; STATE_DIM] = std::array::from_fn(|i| s[i] as f64);
                let m = mirror::mirror_state(&d);
                std::array::from_fn(|i| m[i] as f32)
            })
            .collect(),
        frames: e.frames.iter().map(|f| [f[0], -f[1], -f[2]]).collect(),
        actions: e
            .actions
            .iter()
            .map(|a| {
                let d: [f64; NUM_JOINTS] = std::array::from_fn(|i| a[i] as f64);
                let m = jm.apply(&d);
                std::array::from_fn(|i| m[i] as f32)
            })
            .collect(),
        joints: e
            .joints
            .iter()
            .map(|j| {
                let (q, dq) = (
                    jm.apply(&half(&j[..NUM_JOINTS])),
                    jm.apply(&half(&j[NUM_JOINTS..])),
                );
                std::array::from_fn(|k| {
                    if k < NUM_JOINTS {
                        q[k] as f32
                    } else {
                        dq[k - NUM_JOINTS] as f32
                    }
                })
            })
            .collect(),
    }
}

/// An episode's states in `layout`, flattened (`layout.dim()` numbers per step).
pub fn episode_states(e: &Episode, layout: StateLayout) -> Result<Vec<f32>> {
    match layout {
        StateLayout::BodyPos => Ok(e.states.iter().flatten().copied().collect()),
        StateLayout::JointSpace => {
            if e.joints.len() != e.states.len() {
                bail!(
                    "episode {}: {} states but {} /joint_states messages (a joint-space dataset needs one per step)",
                    e.id,
                    e.states.len(),
                    e.joints.len()
                );
            }
            let mut out = Vec::with_capacity(e.states.len() * layout.dim());
            for (s, j) in e.states.iter().zip(&e.joints) {
                out.extend_from_slice(&s[g1::state::GLOBAL]);
                out.extend_from_slice(j);
            }
            Ok(out)
        }
    }
}

/// The states of the window whose current step is `t` (global parts in step t's frame), from
/// per-step states `states` (`sd` numbers each, any layout).
pub fn window_states(states: &[f32], sd: usize, frames: &[[f64; 3]], t: usize) -> Vec<Vec<f32>> {
    let ft = frame_of(&frames[t]);
    (t - HISTORY..=t + HORIZON)
        .map(|k| {
            let mut d: Vec<f64> = states[k * sd..(k + 1) * sd]
                .iter()
                .map(|v| *v as f64)
                .collect();
            rebase_global(&mut d, &frame_of(&frames[k]), &ft);
            d.iter().map(|v| *v as f32).collect()
        })
        .collect()
}

/// Options of `g1d dataset build`.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub mirror: bool,
    pub skip_bad: bool,
    /// The state representation written (Body-Pos by default).
    pub layout: StateLayout,
}

/// What a build did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildSummary {
    pub out: PathBuf,
    pub bags: usize,
    pub skipped_bags: Vec<String>,
    pub dropped_incomplete_episodes: usize,
    pub episodes: usize,
    pub steps: usize,
    pub hours: f64,
    pub windows: usize,
    pub mirrored: bool,
    pub layout: StateLayout,
    pub episodes_per_policy: BTreeMap<String, usize>,
    pub state_mean: Vec<f64>,
    pub state_std: Vec<f64>,
    pub action_mean: Vec<f64>,
    pub action_std: Vec<f64>,
}

/// Expands directories into the bags inside them (a directory with metadata.yaml or .mcap
/// files is a bag; otherwise its sub-directories are searched).
pub fn find_bags(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if !p.exists() {
            bail!("{}: no such file or directory", p.display());
        }
        if p.is_file() || p.join("metadata.yaml").exists() {
            out.push(p.clone());
            continue;
        }
        let mut subs: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("reading {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        subs.sort();
        let has_mcap = subs
            .iter()
            .any(|s| s.extension().is_some_and(|e| e == "mcap"));
        if has_mcap {
            out.push(p.clone());
            continue;
        }
        let dirs: Vec<PathBuf> = subs.into_iter().filter(|s| s.is_dir()).collect();
        if dirs.is_empty() {
            bail!("{}: no bags found", p.display());
        }
        out.extend(find_bags(&dirs)?);
    }
    Ok(out)
}

fn bytes_of<T: Copy>(v: &[T]) -> &[u8] {
    // SAFETY: plain-old-data numeric slices viewed as bytes (little-endian host assumed, as
    // safetensors requires).
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

/// Builds the dataset file from bags.
pub fn build(
    inputs: &[PathBuf],
    out: &Path,
    opts: &BuildOptions,
    progress: &dyn Fn(usize, usize),
) -> Result<BuildSummary> {
    let bags = find_bags(inputs)?;
    let mut episodes: Vec<Episode> = Vec::new();
    let mut skipped = Vec::new();
    let mut dropped = 0;
    let mut sources = Vec::new();
    for (i, b) in bags.iter().enumerate() {
        progress(i, bags.len());
        match read_bag_episodes(b) {
            Ok((eps, d)) => {
                dropped += d;
                episodes.extend(eps);
                sources.push(b.display().to_string());
            }
            Err(e) => {
                let msg = format!("{}: {e:#}", b.display());
                if opts.skip_bad {
                    skipped.push(msg);
                } else {
                    bail!("{msg}\n(use --skip-bad to build from the other bags)");
                }
            }
        }
    }
    progress(bags.len(), bags.len());
    // Deterministic order whatever the worker/shard split: by episode id.
    episodes.sort_by_key(|e| e.id);
    episodes.retain(|e| e.states.len() >= WINDOW);
    if opts.mirror {
        let m: Vec<Episode> = episodes.iter().map(mirror_episode).collect();
        episodes.extend(m);
    }
    if episodes.is_empty() {
        let why = if skipped.is_empty() {
            String::new()
        } else {
            format!(" (skipped: {})", skipped.join("; "))
        };
        bail!("no episode of at least {WINDOW} steps in the input bags{why}");
    }
    let layout = opts.layout;
    let sd = layout.dim();
    let mut offsets = vec![0i64];
    let mut windows = Vec::new();
    let (mut flat_s, mut frames, mut actions) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_policy = BTreeMap::new();
    for e in &episodes {
        let base = frames.len();
        for t in HISTORY..e.states.len() - HORIZON {
            windows.push((base + t) as i64);
        }
        flat_s.extend(episode_states(e, layout)?);
        frames.extend_from_slice(&e.frames);
        actions.extend_from_slice(&e.actions);
        offsets.push(frames.len() as i64);
        *per_policy.entry(e.policy.clone()).or_insert(0) += 1;
    }
    // Statistics over windows as the model sees them.
    let mut s_sum = vec![0.0f64; sd];
    let mut s_sq = vec![0.0f64; sd];
    let mut n_s = 0usize;
    for &t in &windows {
        for s in window_states(&flat_s, sd, &frames, t as usize) {
            for i in 0..sd {
                let x = s[i] as f64;
                s_sum[i] += x;
                s_sq[i] += x * x;
            }
            n_s += 1;
        }
    }
    let mut a_sum = vec![0.0f64; ACTION_DIM];
    let mut a_sq = vec![0.0f64; ACTION_DIM];
    for a in &actions {
        for i in 0..ACTION_DIM {
            a_sum[i] += a[i] as f64;
            a_sq[i] += (a[i] as f64).powi(2);
        }
    }
    let stats = |sum: &[f64], sq: &[f64], n: usize| -> (Vec<f64>, Vec<f64>) {
        let n = n.max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        // A floor keeps constant dimensions (e.g. the root's own x in its frame) finite.
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / n - m * m).max(0.0).sqrt().max(1e-3))
            .collect();
        (mean, std)
    };
    let (state_mean, state_std) = stats(&s_sum, &s_sq, n_s);
    let (action_mean, action_std) = stats(&a_sum, &a_sq, actions.len());
    let ids: Vec<i64> = episodes.iter().map(|e| e.id as i64).collect();
    let mirrored: Vec<u8> = episodes.iter().map(|e| e.mirrored as u8).collect();
    let (default, scale) = action_convention();
    let meta = serde_json::json!({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "state_layout": layout.name(),
        "state_layout_version": layout.version(),
        "state_dim": sd,
        "action_dim": ACTION_DIM,
        "history": HISTORY,
        "horizon": HORIZON,
        "control_dt_s": 0.02,
        "joint_names": JOINTS.iter().map(|j| j.model_name()).collect::<Vec<_>>(),
        "action_offset": default,
        "action_scale": scale,
        "mirror": opts.mirror,
        "sources": sources,
        "episodes_per_policy": per_policy,
    });
    let flat_f: Vec<f64> = frames.iter().flatten().copied().collect();
    let flat_a: Vec<f32> = actions.iter().flatten().copied().collect();
    let n = frames.len();
    let views: Vec<(&str, TensorView)> = vec![
        (
            "states",
            TensorView::new(Dtype::F32, vec![n, sd], bytes_of(&flat_s))?,
        ),
        (
            "frames",
            TensorView::new(Dtype::F64, vec![n, 3], bytes_of(&flat_f))?,
        ),
        (
            "actions",
            TensorView::new(Dtype::F32, vec![n, ACTION_DIM], bytes_of(&flat_a))?,
        ),
        (
            "episode_offsets",
            TensorView::new(Dtype::I64, vec![offsets.len()], bytes_of(&offsets))?,
        ),
        (
            "episode_ids",
            TensorView::new(Dtype::I64, vec![ids.len()], bytes_of(&ids))?,
        ),
        (
            "episode_mirrored",
            TensorView::new(Dtype::U8, vec![mirrored.len()], bytes_of(&mirrored))?,
        ),
        (
            "windows",
            TensorView::new(Dtype::I64, vec![windows.len()], bytes_of(&windows))?,
        ),
        (
            "state_mean",
            TensorView::new(Dtype::F64, vec![sd], bytes_of(&state_mean))?,
        ),
        (
            "state_std",
            TensorView::new(Dtype::F64, vec![sd], bytes_of(&state_std))?,
        ),
        (
            "action_mean",
            TensorView::new(Dtype::F64, vec![ACTION_DIM], bytes_of(&action_mean))?,
        ),
        (
            "action_std",
            TensorView::new(Dtype::F64, vec![ACTION_DIM], bytes_of(&action_std))?,
        ),
    ];
    let mut info = HashMap::new();
    info.insert("g1d".to_string(), meta.to_string());
    let tmp = out.with_extension("safetensors.tmp");
    safetensors::serialize_to_file(views, &Some(info), &tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    Ok(BuildSummary {
        out: out.to_path_buf(),
        bags: bags.len(),
        skipped_bags: skipped,
        dropped_incomplete_episodes: dropped,
        episodes: episodes.len(),
        steps: n,
        hours: n as f64 * 0.02 / 3600.0,
        windows: windows.len(),
        mirrored: opts.mirror,
        layout,
        episodes_per_policy: per_policy,
        state_mean,
        state_std,
        action_mean,
        action_std,
    })
}

/// One training window: states s_{t−4..t+16} (the dataset's layout) and actions a_{t−4..t+16}.
pub type Window = (Vec<Vec<f32>>, Vec<[f32; ACTION_DIM]>);

/// A dataset file, memory-mapped.
pub struct Dataset {
    map: memmap2::Mmap,
    tensors: HashMap<String, (Dtype, Vec<usize>, usize, usize)>,
    pub meta: serde_json::Value,
    /// The state representation (metadata `state_layout`; files without it are Body-Pos).
    pub layout: StateLayout,
}

impl Dataset {
    pub fn open(path: &Path) -> Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: read-only mapping of a file this process does not modify.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("mapping {}", path.display()))?;
        let (header, md) = safetensors::SafeTensors::read_metadata(&map)
            .map_err(|e| anyhow::anyhow!("{}: not a safetensors file: {e:?}", path.display()))?;
        let meta_text = md
            .metadata()
            .as_ref()
            .and_then(|m| m.get("g1d").cloned())
            .ok_or_else(|| {
                anyhow::anyhow!("{}: not a g1d dataset (no g1d metadata)", path.display())
            })?;
        let meta: serde_json::Value = serde_json::from_str(&meta_text)?;
        if meta["format"] != FORMAT {
            bail!("{}: not a g1d dataset", path.display());
        }
        let layout: StateLayout = match meta["state_layout"].as_str() {
            None => StateLayout::BodyPos,
            Some(name) => name
                .parse()
                .map_err(|e: String| anyhow::anyhow!("{}: {e}", path.display()))?,
        };
        if meta["state_layout_version"] != layout.version() || meta["state_dim"] != layout.dim() {
            bail!(
                "{}: {layout} state layout version {} with {} numbers (this build uses version {} with {})",
                path.display(),
                meta["state_layout_version"],
                meta["state_dim"],
                layout.version(),
                layout.dim()
            );
        }
        let base = 8 + header;
        let tensors = md
            .tensors()
            .into_iter()
            .map(|(k, i)| {
                (
                    k,
                    (
                        i.dtype,
                        i.shape.clone(),
                        base + i.data_offsets.0,
                        base + i.data_offsets.1,
                    ),
                )
            })
            .collect();
        let ds = Self {
            map,
            tensors,
            meta,
            layout,
        };
        let rows = ds.tensors.get("states").map(|t| t.1.clone());
        if rows
            .as_ref()
            .is_none_or(|r| r.len() != 2 || r[1] != layout.dim())
        {
            bail!(
                "{}: states tensor of shape {rows:?} (the {layout} layout has {} numbers per step)",
                path.display(),
                layout.dim()
            );
        }
        Ok(ds)
    }

    fn raw(&self, name: &str, dtype: Dtype) -> Result<&[u8]> {
        let (d, _, a, b) = self
            .tensors
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("dataset has no tensor {name}"))?;
        if *d != dtype {
            bail!("tensor {name} is {d:?}, expected {dtype:?}");
        }
        Ok(&self.map[*a..*b])
    }

    fn f32s(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self
            .raw(name, Dtype::F32)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(le4(c)))
            .collect())
    }
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        Ok(self
            .raw(name, Dtype::F64)?
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(le8(c)))
            .collect())
    }
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>> {
        Ok(self
            .raw(name, Dtype::I64)?
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(le8(c)))
            .collect())
    }

    pub fn num_windows(&self) -> usize {
        self.tensors.get("windows").map_or(0, |t| t.1[0])
    }

    fn state_at(&self, k: usize, out: &mut Vec<f32>) {
        let (_, _, a, _) = self.tensors["states"];
        let sd = self.layout.dim();
        let off = a + k * sd * 4;
        out.extend((0..sd).map(|i| f32::from_le_bytes(le4(&self.map[off + 4 * i..]))));
    }
    fn frame_at(&self, k: usize) -> [f64; 3] {
        let (_, _, a, _) = self.tensors["frames"];
        let off = a + k * 24;
        std::array::from_fn(|i| f64::from_le_bytes(le8(&self.map[off + 8 * i..])))
    }
    fn action_at(&self, k: usize) -> [f32; ACTION_DIM] {
        let (_, _, a, _) = self.tensors["actions"];
        let off = a + k * ACTION_DIM * 4;
        std::array::from_fn(|i| f32::from_le_bytes(le4(&self.map[off + 4 * i..])))
    }

    /// Window `i`: states s_{t−4..t+16} (global parts in step t's frame) and actions
    /// a_{t−4..t+16}, in physical units (not normalised).
    pub fn window(&self, i: usize) -> Result<Window> {
        let (_, _, a, _) = self.tensors["windows"];
        if i >= self.num_windows() {
            bail!("window {i} out of range ({} windows)", self.num_windows());
        }
        let t = i64::from_le_bytes(le8(&self.map[a + 8 * i..])) as usize;
        let ks: Vec<usize> = (t - HISTORY..=t + HORIZON).collect();
        let mut states = Vec::with_capacity(ks.len() * self.layout.dim());
        for &k in &ks {
            self.state_at(k, &mut states);
        }
        let frames: Vec<[f64; 3]> = ks.iter().map(|&k| self.frame_at(k)).collect();
        let ws = window_states(&states, self.layout.dim(), &frames, HISTORY);
        Ok((ws, ks.iter().map(|&k| self.action_at(k)).collect()))
    }

    /// All per-step states (for inspection tools).
    pub fn all_states(&self) -> Result<Vec<f32>> {
        self.f32s("states")
    }

    /// Number of f32 values in tensor `name` and the index of the first one that is NaN or
    /// infinite, scanned in the memory map without copying.
    pub fn scan_f32(&self, name: &str) -> Result<(usize, Option<usize>)> {
        let raw = self.raw(name, Dtype::F32)?;
        let bad = raw
            .chunks_exact(4)
            .position(|c| !f32::from_le_bytes(le4(c)).is_finite());
        Ok((raw.len() / 4, bad))
    }
}

/// The first 4 bytes of `b` (little-endian words of the memory map; callers index inside a
/// tensor whose size was checked when the file was opened).
fn le4(b: &[u8]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}

/// The first 8 bytes of `b`.
fn le8(b: &[u8]) -> [u8; 8] {
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
}
