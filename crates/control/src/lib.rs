//! The guided diffusion controller (no libtorch): `planner` (guided, rolling DDPM planning over
//! any `Denoiser`) and `drive` (the simulated G1 in closed loop with simulated latency).

pub mod controller;
pub mod drive;
pub mod planner;

pub use controller::{Command, Controller};
pub use drive::{build_guidance, drive, ControlConfig, DriveOutcome, Router, Task};
pub use planner::{Plan, Planner, PlannerConfig};
