//! Observation terms and the term-major history buffer.

use std::collections::VecDeque;

use crate::ExpertError;

/// Observation terms this runner knows, with their names in Unitree/mjlab `deploy.yaml` files
/// and in BeyondMimic ONNX metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObsTerm {
    /// Pelvis IMU gyro (3).
    BaseAngVel,
    /// Gravity direction in the pelvis frame, `Rᵀ·[0, 0, −1]` (3).
    ProjectedGravity,
    /// Velocity command `vx, vy, wz` (3).
    VelocityCommands,
    /// `q − q_default`, policy order (29).
    JointPosRel,
    /// `q̇`, policy order (29).
    JointVelRel,
    /// Previous raw action, policy order (29).
    LastAction,
    /// Reference joint positions then velocities, policy order (58).
    MotionCommand,
    /// First two columns of R(q_torso⁻¹ ⊗ q_torso_ref), row-major (6).
    MotionAnchorOriB,
    /// Reference torso position in the robot torso frame (3).
    MotionAnchorPosB,
    /// Pelvis linear velocity in the pelvis frame (3).
    BaseLinVel,
}

const NAMES: [(&str, ObsTerm); 14] = [
    ("base_ang_vel", ObsTerm::BaseAngVel),
    ("projected_gravity", ObsTerm::ProjectedGravity),
    ("velocity_commands", ObsTerm::VelocityCommands),
    ("joint_pos_rel", ObsTerm::JointPosRel),
    ("joint_pos", ObsTerm::JointPosRel),
    ("joint_vel_rel", ObsTerm::JointVelRel),
    ("joint_vel", ObsTerm::JointVelRel),
    ("last_action", ObsTerm::LastAction),
    ("actions", ObsTerm::LastAction),
    ("motion_command", ObsTerm::MotionCommand),
    ("command", ObsTerm::MotionCommand),
    ("motion_anchor_ori_b", ObsTerm::MotionAnchorOriB),
    ("motion_anchor_pos_b", ObsTerm::MotionAnchorPosB),
    ("base_lin_vel", ObsTerm::BaseLinVel),
];

impl ObsTerm {
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }
    pub fn known_names() -> String {
        NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    }
    pub fn dim(self) -> usize {
        match self {
            ObsTerm::BaseAngVel | ObsTerm::ProjectedGravity | ObsTerm::VelocityCommands => 3,
            ObsTerm::MotionAnchorPosB | ObsTerm::BaseLinVel => 3,
            ObsTerm::JointPosRel | ObsTerm::JointVelRel | ObsTerm::LastAction => 29,
            ObsTerm::MotionCommand => 58,
            ObsTerm::MotionAnchorOriB => 6,
        }
    }
    pub fn needs_reference(self) -> bool {
        matches!(
            self,
            ObsTerm::MotionCommand | ObsTerm::MotionAnchorOriB | ObsTerm::MotionAnchorPosB
        )
    }
}

/// One declared term: scale (per element), history length, optional clip.
#[derive(Debug, Clone, PartialEq)]
pub struct TermSpec {
    pub term: ObsTerm,
    /// The name as declared in the policy file.
    pub name: String,
    pub scale: Vec<f64>,
    pub history: usize,
    pub clip: Option<[f64; 2]>,
}

/// Builds the flat observation: for each term in order, its frames oldest → newest
/// (term-major). After a reset the history is filled by repeating the first frame.
#[derive(Debug, Clone)]
pub struct ObsBuilder {
    terms: Vec<TermSpec>,
    history: Vec<VecDeque<Vec<f64>>>,
}

impl ObsBuilder {
    pub fn new(terms: Vec<TermSpec>) -> Self {
        let history = terms.iter().map(|_| VecDeque::new()).collect();
        Self { terms, history }
    }
    pub fn terms(&self) -> &[TermSpec] {
        &self.terms
    }
    pub fn dim(&self) -> usize {
        self.terms.iter().map(|t| t.term.dim() * t.history).sum()
    }
    pub fn describe(&self) -> String {
        self.terms
            .iter()
            .map(|t| {
                if t.history > 1 {
                    format!("{}[{}×{}]", t.name, t.term.dim(), t.history)
                } else {
                    format!("{}[{}]", t.name, t.term.dim())
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
    pub fn clear(&mut self) {
        self.history.iter_mut().for_each(|h| h.clear());
    }
    /// Adds this step's raw term values (scale and clip are applied here).
    pub fn push(&mut self, values: &[Vec<f64>]) -> Result<(), ExpertError> {
        for ((spec, hist), v) in self.terms.iter().zip(&mut self.history).zip(values) {
            if v.len() != spec.term.dim() {
                return Err(ExpertError::SizeMismatch {
                    what: format!("observation term `{}`", spec.name),
                    expected: spec.term.dim(),
                    found: v.len(),
                });
            }
            let frame: Vec<f64> = v
                .iter()
                .zip(&spec.scale)
                .map(|(x, s)| {
                    let y = x * s;
                    match spec.clip {
                        Some([lo, hi]) => y.clamp(lo, hi),
                        None => y,
                    }
                })
                .collect();
            if hist.is_empty() {
                for _ in 0..spec.history {
                    hist.push_back(frame.clone());
                }
            } else {
                hist.push_back(frame);
                while hist.len() > spec.history {
                    hist.pop_front();
                }
            }
        }
        Ok(())
    }
    /// Writes the flat observation into `out` (length [`ObsBuilder::dim`]).
    pub fn write(&self, out: &mut [f32]) {
        let mut k = 0;
        for hist in &self.history {
            for frame in hist {
                for v in frame {
                    out[k] = *v as f32;
                    k += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_term_major_and_filled_at_reset() {
        let terms = vec![
            TermSpec {
                term: ObsTerm::BaseAngVel,
                name: "base_ang_vel".into(),
                scale: vec![2.0; 3],
                history: 3,
                clip: None,
            },
            TermSpec {
                term: ObsTerm::VelocityCommands,
                name: "velocity_commands".into(),
                scale: vec![1.0; 3],
                history: 2,
                clip: Some([-1.0, 1.0]),
            },
        ];
        let mut b = ObsBuilder::new(terms);
        assert_eq!(b.dim(), 15);
        b.push(&[vec![1.0, 2.0, 3.0], vec![5.0, 0.5, -5.0]])
            .unwrap();
        let mut out = vec![0.0f32; 15];
        b.write(&mut out);
        assert_eq!(
            out,
            [2., 4., 6., 2., 4., 6., 2., 4., 6., 1., 0.5, -1., 1., 0.5, -1.]
        );
        b.push(&[vec![0.0, 0.0, 1.0], vec![0.0, 0.0, 0.0]]).unwrap();
        b.write(&mut out);
        assert_eq!(
            out,
            [2., 4., 6., 2., 4., 6., 0., 0., 2., 1., 0.5, -1., 0., 0., 0.]
        );
        let err = b
            .push(&[vec![0.0; 2], vec![0.0; 3]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("base_ang_vel") && err.contains("expected 3") && err.contains("found 2"),
            "{err}"
        );
    }
}
