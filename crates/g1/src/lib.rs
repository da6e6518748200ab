//! Unitree G1 (29 DoF, rev 1.0) model: joint table, body tree, forward kinematics,
//! the Body-Pos state layout and the left/right mirror map.
//!
//! Pure computation: no I/O, no ROS, no global state. See `README.md` for the state layout.

#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod bodies;
pub mod bodypos;
pub mod joints;
pub mod kinematics;
pub mod mirror;
pub mod state;

pub use bodies::{Body, BodyInfo, BODIES, NUM_BODIES};
pub use bodypos::{
    build_state, build_state_self, build_window, BodyPosState, CharacterFrame, LAYOUT_VERSION,
    STATE_DIM,
};
pub use joints::{default_pose, Joint, JointInfo, MotorClass, JOINTS, NUM_JOINTS};
pub use kinematics::{forward_kinematics, quat_from_wxyz, quat_to_wxyz, BodyKinematics, RootState};
pub use nalgebra;
pub use state::StateLayout;
