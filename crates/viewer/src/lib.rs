//! `g1d view`: a 3-D view of the G1, its plans and its world (kiss3d on wgpu).
//!
//! - [`robot`]: the G1's visual meshes as its MJCF places them;
//! - [`timeline`]: what is drawn, as time series of the node suite's messages (a bag, live
//!   topics, a run being computed);
//! - [`stage`]: the kiss3d scene posed from one [`timeline::Snapshot`];
//! - [`render`]: offscreen PNG frames and GIF clips, and the interactive window.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod render;
pub mod robot;
pub mod stage;
pub mod timeline;

pub use render::{render_png, render_video, Playback, ViewOptions};
pub use stage::Stage;
pub use timeline::{Snapshot, Timeline};
