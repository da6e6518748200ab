//! Top-view pictures: obstacles, the route, walked paths (`g1d eval`, `g1d drive --png`).

use g1_control::ControlConfig;
use g1_data::plot::Canvas;
use g1_guidance::{Route, RouteParams};
use g1_sim::Obstacle;
use std::path::Path;

use anyhow::Result;

use crate::{RunResult, Scenario, REACH_M};

/// Obstacles as filled grey footprints.
pub fn obstacles(c: &mut Canvas, obstacles: &[Obstacle], col: [u8; 3]) {
    for o in obstacles {
        let ctr = o.center_3d();
        match o {
            Obstacle::Sphere { radius, .. } | Obstacle::Cylinder { radius, .. } => {
                c.disc(ctr[0], ctr[1], *radius, col)
            }
            Obstacle::Box {
                half_extents, yaw, ..
            } => {
                let (sn, cs) = yaw.sin_cos();
                let n = 15;
                for i in -n..=n {
                    for j in -n..=n {
                        let (u, v) = (
                            half_extents[0] * i as f64 / n as f64,
                            half_extents[1] * j as f64 / n as f64,
                        );
                        c.disc(
                            ctr[0] + cs * u - sn * v,
                            ctr[1] + sn * u + cs * v,
                            0.015,
                            col,
                        );
                    }
                }
            }
        }
    }
}

/// The route the waypoint task follows from `start` (when route guidance is on), in purple.
pub fn route(
    c: &mut Canvas,
    goal: [f64; 2],
    obstacles: &[Obstacle],
    start: [f64; 2],
    cc: &ControlConfig,
) {
    if cc.route_speed_mps <= 0.0 && cc.waypoint_lookahead_m <= 0.0 {
        return;
    }
    let shapes: Vec<_> = obstacles.iter().map(crate::to_shape).collect();
    let params = RouteParams {
        clearance: cc.route_clearance_m,
        ..RouteParams::default()
    };
    let path = Route::new(goal, &shapes, start, params).shortcut_path(start);
    c.path(&path, [150, 90, 200]);
}

/// The top view of scenario `s`: its obstacles, goal and route (a tour's waypoints joined in
/// order), and the path of every run of
/// each controller in `runs` (failed runs red, falls marked with a dark red dot).
pub fn scenario_picture(
    path: &Path,
    s: &Scenario,
    runs: &[(&str, &[RunResult])],
    cc: &ControlConfig,
) -> Result<()> {
    let kinds_have_diffusion = runs.iter().any(|(k, _)| *k == "diffusion");
    let mut xs = vec![0.0, 1.0];
    let mut ys = vec![-1.0, 1.0];
    for (_, rs) in runs {
        for r in rs.iter() {
            for p in &r.path {
                xs.push(p[0]);
                ys.push(p[1]);
            }
        }
    }
    for g in s.goal.iter().chain(&s.waypoints) {
        xs.push(g[0]);
        ys.push(g[1]);
    }
    let fmin = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let fmax = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut c = g1_data::plot::Canvas::new(
        900,
        600,
        fmin(&xs) - 0.7,
        fmax(&xs) + 0.7,
        fmin(&ys) - 0.7,
        fmax(&ys) + 0.7,
    );
    obstacles(&mut c, &s.obstacles, [150, 150, 150]);
    if let Some(g) = s.goal {
        c.disc(g[0], g[1], REACH_M, [190, 230, 190]);
        if kinds_have_diffusion {
            route(&mut c, g, &s.obstacles, [0.0, 0.0], cc);
        }
    }
    // A tour: its waypoints joined in order from the start.
    if !s.waypoints.is_empty() {
        let legs: Vec<[f64; 2]> = std::iter::once([0.0, 0.0])
            .chain(s.waypoints.iter().copied())
            .collect();
        c.path(&legs, [150, 90, 200]);
        for w in &s.waypoints {
            c.disc(w[0], w[1], REACH_M, [190, 230, 190]);
        }
    }
    for (i, (_, rs)) in runs.iter().enumerate() {
        for r in rs.iter() {
            let col = if r.success {
                g1_data::plot::palette(i)
            } else {
                [220, 40, 40]
            };
            c.path(&r.path, col);
        }
    }
    // Where runs fell: a dark red dot at the end of their path.
    for (_, rs) in runs {
        for r in rs.iter().filter(|r| r.fell) {
            if let Some(p) = r.end_xy {
                c.disc(p[0], p[1], 0.06, [120, 0, 0]);
            }
        }
    }
    c.save_png(path)
}
