//! Shared pieces of the top-view pictures (`g1d eval`, `g1d drive --png`).

use g1_control::ControlConfig;
use g1_data::plot::Canvas;
use g1_guidance::{Route, RouteParams};
use g1_sim::Obstacle;

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
    let shapes: Vec<_> = obstacles.iter().map(g1_eval::to_shape).collect();
    let params = RouteParams {
        clearance: cc.route_clearance_m,
        ..RouteParams::default()
    };
    let path = Route::new(goal, &shapes, start, params).shortcut_path(start);
    c.path(&path, [150, 90, 200]);
}
