//! What `g1d drive` reports of one run: the summary (printed, or JSON), the per-step log as
//! CSV and the top view of the walked path.

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use g1_control::{percentile, ControlConfig, Task};
use g1_sim::Obstacle;
use serde::Serialize;

use crate::{DriveOutcome, StepLog};

/// One drive's outcome, as `g1d drive --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct DriveSummary {
    pub task: Task,
    pub backend: String,
    pub latency: String,
    pub seconds: f64,
    pub fell: bool,
    pub fall_time_s: Option<f64>,
    pub final_xy: [f64; 2],
    /// Distance from the waypoint at the end (m); none for other tasks.
    pub goal_error_m: Option<f64>,
    pub obstacle_contact_steps: u64,
    pub plans: usize,
    pub plan_latency_ms_p50: Option<f64>,
    pub plan_latency_ms_p99: Option<f64>,
    pub denoiser_calls_mean: f64,
    pub fresh_plan_share: f64,
    pub hold_steps: u64,
    pub damping_steps: u64,
    pub wall_s: f64,
}

impl DriveSummary {
    /// The summary of `out`, a drive of `task` with control period `dt` (s) that took `wall_s`.
    pub fn new(
        task: &Task,
        out: &DriveOutcome,
        (backend, latency): (String, String),
        dt: f64,
        wall_s: f64,
    ) -> Self {
        let lat = &out.plan_latency_ms;
        let calls = &out.denoiser_calls;
        Self {
            task: task.clone(),
            backend,
            latency,
            seconds: out.steps as f64 * dt,
            fell: out.fell,
            fall_time_s: out.fall_time_s,
            final_xy: out.final_xy,
            goal_error_m: match task {
                Task::Waypoint { goal } => {
                    Some((out.final_xy[0] - goal[0]).hypot(out.final_xy[1] - goal[1]))
                }
                _ => None,
            },
            obstacle_contact_steps: out.obstacle_contact_steps,
            plans: out.plans,
            plan_latency_ms_p50: percentile(lat, 0.5),
            plan_latency_ms_p99: percentile(lat, 0.99),
            denoiser_calls_mean: calls.iter().sum::<usize>() as f64 / calls.len().max(1) as f64,
            fresh_plan_share: out.fresh_plan_steps as f64 / out.steps.max(1) as f64,
            hold_steps: out.hold_steps,
            damping_steps: out.damping_steps,
            wall_s,
        }
    }

    /// The summary as aligned `label  value` lines.
    pub fn lines(&self) -> Vec<String> {
        let ms = |v: Option<f64>| v.unwrap_or(f64::NAN);
        let mut l = vec![
            format!("task          {:?} on {}", self.task, self.backend),
            format!("latency       {}", self.latency),
            match self.fall_time_s {
                Some(t) => format!("outcome       FELL at {t:.2} s"),
                None => format!("outcome       no fall in {:.1} s", self.seconds),
            },
            format!(
                "final xy      [{:.2}, {:.2}] m",
                self.final_xy[0], self.final_xy[1]
            ),
        ];
        if let Some(e) = self.goal_error_m {
            l.push(format!("goal error    {e:.2} m"));
        }
        l.push(format!(
            "contacts      {} control steps touching an obstacle",
            self.obstacle_contact_steps
        ));
        l.push(format!(
            "planning      {} plans, latency p50 {:.1} ms / p99 {:.1} ms, {:.1} denoiser calls each, {:.0}% of steps from a plan < 100 ms old",
            self.plans,
            ms(self.plan_latency_ms_p50),
            ms(self.plan_latency_ms_p99),
            self.denoiser_calls_mean,
            100.0 * self.fresh_plan_share
        ));
        l.push(format!(
            "fallbacks     {} hold steps, {} damping steps; wall {:.1} s",
            self.hold_steps, self.damping_steps, self.wall_s
        ));
        l
    }
}

/// The per-step log as CSV (empty fields where a step had no plan prediction or plan).
pub fn write_step_log(w: impl std::io::Write, log: &[StepLog]) -> Result<()> {
    let mut w = std::io::BufWriter::new(w);
    writeln!(
        w,
        "time_s,x_m,y_m,yaw_rad,vx_mps,vy_mps,surprise_mps,gate,pushes,mode,plan_age_steps,\
         left_hand_y_m,right_hand_y_m"
    )?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for l in log {
        writeln!(
            w,
            "{:.3},{:.4},{:.4},{:.4},{:.4},{:.4},{},{:.3},{},{},{},{:.4},{:.4}",
            l.time_s,
            l.root_xy[0],
            l.root_xy[1],
            l.yaw,
            l.vel_heading[0],
            l.vel_heading[1],
            opt(l.surprise_mps.map(|v| format!("{v:.4}"))),
            l.gate,
            l.pushes,
            l.mode,
            opt(l.plan_age_steps.map(|v| v.to_string())),
            l.hands_lateral_m[0],
            l.hands_lateral_m[1],
        )?;
    }
    w.flush()?;
    Ok(())
}

/// The top view of one drive: obstacles, the route to a waypoint, the walked path (`log`), the
/// goal's reach and the start.
pub fn drive_picture(
    path: &Path,
    task: &Task,
    obstacles: &[Obstacle],
    log: &[StepLog],
    cc: &ControlConfig,
) -> Result<()> {
    let pts: Vec<[f64; 2]> = log.iter().map(|l| l.root_xy).collect();
    let goal = match task {
        Task::Waypoint { goal } => Some(*goal),
        _ => None,
    };
    let mut xs: Vec<f64> = pts.iter().map(|p| p[0]).collect();
    let mut ys: Vec<f64> = pts.iter().map(|p| p[1]).collect();
    for p in goal.into_iter().chain(
        obstacles
            .iter()
            .map(|o| [o.center_3d()[0], o.center_3d()[1]]),
    ) {
        xs.push(p[0]);
        ys.push(p[1]);
    }
    let lo = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min) - 1.0;
    let hi = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max) + 1.0;
    let mut c = g1_data::plot::Canvas::new(800, 600, lo(&xs), hi(&xs), lo(&ys), hi(&ys));
    crate::top_view::obstacles(&mut c, obstacles, [120, 120, 120]);
    let start = pts.first().copied().unwrap_or([0.0, 0.0]);
    if let Some(g) = goal {
        crate::top_view::route(&mut c, g, obstacles, start, cc);
    }
    c.path(&pts, g1_data::plot::palette(0));
    if let Some(g) = goal {
        c.disc(g[0], g[1], crate::REACH_M, [60, 170, 60]);
    }
    c.disc(start[0], start[1], 0.05, [0, 0, 0]);
    c.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use g1_control::StepMode;

    /// The CSV has its header and one row per step, empty fields for what a step lacked.
    #[test]
    fn step_log_rows() {
        let step = |t: f64, surprise: Option<f64>| StepLog {
            time_s: t,
            root_xy: [1.0, -0.5],
            yaw: 0.1,
            vel_heading: [0.4, 0.0],
            plan_age_steps: surprise.map(|_| 2),
            mode: StepMode::Plan,
            surprise_mps: surprise,
            gate: 1.0,
            pushes: 0,
            hands_lateral_m: [0.21, -0.2],
        };
        let mut buf = vec![];
        write_step_log(&mut buf, &[step(0.02, None), step(0.04, Some(0.05))]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3);
        assert!(rows[0].starts_with("time_s,x_m,y_m"));
        assert_eq!(rows[1].split(',').count(), 13);
        assert_eq!(rows[1].split(',').nth(6), Some(""));
        assert_eq!(rows[2].split(',').nth(6), Some("0.0500"));
        assert_eq!(rows[2].split(',').nth(10), Some("2"));
        assert_eq!(rows[2].split(',').nth(12), Some("-0.2000"));
    }

    /// The summary's goal error is the end point's distance from the waypoint.
    #[test]
    fn summary_goal_error() {
        let out = DriveOutcome {
            steps: 500,
            final_xy: [2.7, 1.4],
            ..DriveOutcome::default()
        };
        let task = Task::Waypoint { goal: [3.0, 1.0] };
        let s = DriveSummary::new(&task, &out, ("ort".into(), "fixed".into()), 0.02, 1.0);
        assert!((s.goal_error_m.unwrap() - 0.5).abs() < 1e-12);
        assert!((s.seconds - 10.0).abs() < 1e-12);
        assert!(s.lines().iter().any(|l| l == "goal error    0.50 m"));
    }
}
