//! Reference motions: retargeted G1 CSV clips (LAFAN1 at 30 fps, Unitree's at 60 fps),
//! resampled to the control rate.
//!
//! CSV row: root position `x y z` (m), root quaternion `x y z w`, then the 29 joint angles in
//! SDK order (rad). Resampling lerps positions and joints and slerps the root rotation; joint
//! velocities are central differences of the resampled joints.

use std::path::Path;

use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::{Body, NUM_JOINTS};

use crate::ExpertError;

/// One reference frame at the control rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionFrame {
    pub root_pos_w: Vector3<f64>,
    pub root_quat_w: UnitQuaternion<f64>,
    /// Joint positions, SDK order (rad).
    pub q: [f64; NUM_JOINTS],
    /// Joint velocities, SDK order (rad/s).
    pub dq: [f64; NUM_JOINTS],
    /// Orientation of the anchor body (torso) from forward kinematics.
    pub torso_quat_w: UnitQuaternion<f64>,
    /// Position of the anchor body (torso) from forward kinematics.
    pub torso_pos_w: Vector3<f64>,
}

/// A reference clip at the control rate.
#[derive(Debug, Clone)]
pub struct MotionClip {
    pub frames: Vec<MotionFrame>,
    pub dt_s: f64,
    pub source_fps: f64,
}

/// Which part of a CSV to play.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MotionWindow {
    pub start_s: f64,
    /// `None`: to the end.
    pub end_s: Option<f64>,
}

impl MotionClip {
    /// Reads a CSV clip recorded at `fps` and resamples `window` of it to `dt_s`.
    pub fn from_csv(
        path: &Path,
        fps: f64,
        window: MotionWindow,
        dt_s: f64,
    ) -> Result<Self, ExpertError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExpertError::Io {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        let mut rows: Vec<[f64; 7 + NUM_JOINTS]> = Vec::new();
        for (ln, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let vals: Result<Vec<f64>, _> =
                line.split(',').map(|v| v.trim().parse::<f64>()).collect();
            let vals = match vals {
                Ok(v) => v,
                Err(_) if ln == 0 => continue, // a header line
                Err(e) => {
                    return Err(ExpertError::Parse {
                        path: path.to_path_buf(),
                        why: format!("line {}: {e}", ln + 1),
                    })
                }
            };
            if vals.len() != 7 + NUM_JOINTS {
                return Err(ExpertError::Parse {
                    path: path.to_path_buf(),
                    why: format!(
                        "line {} has {} columns; a G1 motion row has {} (root xyz, quat xyzw, 29 joints)",
                        ln + 1,
                        vals.len(),
                        7 + NUM_JOINTS
                    ),
                });
            }
            // Non-finite or absurd numbers (a root kilometres away, a joint turned thousands of
            // radians) are errors naming where, not motion.
            if let Some((col, v)) = vals
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && v.abs() <= 1e4))
            {
                return Err(ExpertError::Parse {
                    path: path.to_path_buf(),
                    why: format!(
                        "line {}, column {}: {v} is not a usable number",
                        ln + 1,
                        col + 1
                    ),
                });
            }
            rows.push(std::array::from_fn(|i| vals[i]));
        }
        if rows.len() < 2 {
            return Err(ExpertError::Parse {
                path: path.to_path_buf(),
                why: "fewer than two frames".into(),
            });
        }
        if !(fps.is_finite() && fps > 0.0 && dt_s.is_finite() && dt_s > 0.0) {
            return Err(ExpertError::Parse {
                path: path.to_path_buf(),
                why: format!("bad rates fps={fps} dt={dt_s}"),
            });
        }
        let duration = (rows.len() - 1) as f64 / fps;
        let end = window.end_s.unwrap_or(duration).min(duration);
        if !(window.start_s >= 0.0 && window.start_s < end) {
            return Err(ExpertError::Parse {
                path: path.to_path_buf(),
                why: format!(
                    "window {}–{end} s is empty (clip lasts {duration:.2} s)",
                    window.start_s
                ),
            });
        }
        let n = ((end - window.start_s) / dt_s + 1e-9).floor() as usize + 1;
        let quat = |r: &[f64; 36]| {
            UnitQuaternion::from_quaternion(g1::nalgebra::Quaternion::new(r[6], r[3], r[4], r[5]))
        };
        let mut frames: Vec<MotionFrame> = (0..n)
            .map(|k| {
                let u = (window.start_s + k as f64 * dt_s) * fps;
                let i0 = (u.floor() as usize).min(rows.len() - 1);
                let i1 = (i0 + 1).min(rows.len() - 1);
                let a = u - i0 as f64;
                let (r0, r1) = (&rows[i0], &rows[i1]);
                let lerp = |j: usize| r0[j] + a * (r1[j] - r0[j]);
                let root_pos_w = Vector3::new(lerp(0), lerp(1), lerp(2));
                let (q0, q1) = (quat(r0), quat(r1));
                let root_quat_w = q0.try_slerp(&q1, a, 1e-9).unwrap_or(q0);
                let q = std::array::from_fn(|j| lerp(7 + j));
                MotionFrame {
                    root_pos_w,
                    root_quat_w,
                    q,
                    dq: [0.0; NUM_JOINTS],
                    torso_quat_w: UnitQuaternion::identity(),
                    torso_pos_w: Vector3::zeros(),
                }
            })
            .collect();
        let m = frames.len();
        for k in 0..m {
            let (a, b) = (k.saturating_sub(1), (k + 1).min(m - 1));
            let span = (b - a) as f64 * dt_s;
            let (qa, qb) = (frames[a].q, frames[b].q);
            frames[k].dq = std::array::from_fn(|j| {
                if span > 0.0 {
                    (qb[j] - qa[j]) / span
                } else {
                    0.0
                }
            });
            let root = g1::RootState::at_rest(frames[k].root_pos_w, frames[k].root_quat_w);
            let kin = g1::forward_kinematics(&root, &frames[k].q, &[0.0; NUM_JOINTS]);
            frames[k].torso_quat_w = kin.quat_w[Body::Torso.index()];
            frames[k].torso_pos_w = kin.pos_w[Body::Torso.index()];
        }
        Ok(Self {
            frames,
            dt_s,
            source_fps: fps,
        })
    }

    pub fn duration_s(&self) -> f64 {
        (self.frames.len() - 1) as f64 * self.dt_s
    }

    /// Frame at control step `k` (held at the last frame past the end).
    pub fn frame(&self, k: usize) -> &MotionFrame {
        &self.frames[k.min(self.frames.len() - 1)]
    }

    /// The motion at fractional frame index `u` (held at the ends), played `speed` times as
    /// fast as recorded: positions and joints interpolated linearly, rotations by slerp, and
    /// joint velocities scaled by `speed`.
    pub fn sample(&self, u: f64, speed: f64) -> MotionFrame {
        let last = self.frames.len() - 1;
        let u = u.clamp(0.0, last as f64);
        let i0 = (u.floor() as usize).min(last);
        let i1 = (i0 + 1).min(last);
        let a = u - i0 as f64;
        let (f0, f1) = (&self.frames[i0], &self.frames[i1]);
        let slerp = |q0: &UnitQuaternion<f64>, q1: &UnitQuaternion<f64>| {
            q0.try_slerp(q1, a, 1e-9).unwrap_or(*q0)
        };
        MotionFrame {
            root_pos_w: f0.root_pos_w.lerp(&f1.root_pos_w, a),
            root_quat_w: slerp(&f0.root_quat_w, &f1.root_quat_w),
            q: std::array::from_fn(|j| f0.q[j] + a * (f1.q[j] - f0.q[j])),
            dq: std::array::from_fn(|j| speed * (f0.dq[j] + a * (f1.dq[j] - f0.dq[j]))),
            torso_quat_w: slerp(&f0.torso_quat_w, &f1.torso_quat_w),
            torso_pos_w: f0.torso_pos_w.lerp(&f1.torso_pos_w, a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NaN, infinite or absurd numbers in a clip are errors naming the file, line and column.
    #[test]
    fn bad_numbers_name_file_line_and_column() {
        let dir = std::env::temp_dir().join(format!("g1d_motion_bad_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.csv");
        let row = |x: &str| {
            let mut v = vec!["0".to_string(); 36];
            v[6] = "1".into();
            v[9] = x.into();
            v.join(",")
        };
        for bad in ["NaN", "inf", "-inf", "1e9"] {
            std::fs::write(&path, format!("{}\n{}\n{}\n", row("0"), row(bad), row("0"))).unwrap();
            let e = MotionClip::from_csv(&path, 30.0, MotionWindow::default(), 0.02)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("bad.csv") && e.contains("line 2, column 10"),
                "{bad}: {e}"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn resampling_interpolates_and_differentiates() {
        let dir = std::env::temp_dir().join(format!("g1d_motion_test_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ramp.csv");
        // 30 fps ramp: joint 3 = 0.3·t, root x = t, yaw from 0 to 0.3 rad.
        let mut text = String::new();
        for i in 0..31 {
            let t = i as f64 / 30.0;
            let (s, c) = ((0.15 * t).sin(), (0.15 * t).cos());
            let mut row = vec![t, 0.0, 0.75, 0.0, 0.0, s, c];
            let mut q = vec![0.0; 29];
            q[3] = 0.3 * t;
            row.extend(q);
            text.push_str(
                &row.iter()
                    .map(|v| format!("{v:.9}"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        let clip = MotionClip::from_csv(&path, 30.0, MotionWindow::default(), 0.02).unwrap();
        assert_eq!(clip.frames.len(), 51);
        let f = clip.frame(25); // t = 0.5 s
        assert!((f.root_pos_w.x - 0.5).abs() < 1e-9);
        assert!((f.q[3] - 0.15).abs() < 1e-9);
        assert!((f.dq[3] - 0.3).abs() < 1e-9);
        assert!((g1::bodypos::heading_yaw(&f.root_quat_w) - 0.15).abs() < 1e-6);
        let w = MotionClip::from_csv(
            &path,
            30.0,
            MotionWindow {
                start_s: 0.2,
                end_s: Some(0.6),
            },
            0.02,
        )
        .unwrap();
        assert_eq!(w.frames.len(), 21);
        assert!((w.frame(0).root_pos_w.x - 0.2).abs() < 1e-9);
        // Played 1.5× as fast: frame index 10 × 1.5 = 15 (t = 0.3 s), velocities × 1.5.
        let fast = clip.sample(15.0, 1.5);
        assert!((fast.root_pos_w.x - 0.3).abs() < 1e-9);
        assert!((fast.q[3] - 0.09).abs() < 1e-9);
        assert!((fast.dq[3] - 0.45).abs() < 1e-9);
        let between = clip.sample(12.5, 1.0);
        assert!((between.q[3] - 0.075).abs() < 1e-9);
        assert_eq!(clip.sample(1e9, 1.0).q, clip.frame(50).q);
        std::fs::write(&path, "1,2,3\n4,5,6\n").unwrap();
        let err = MotionClip::from_csv(&path, 30.0, MotionWindow::default(), 0.02)
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 columns"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
