//! What the planner shows in RViz: the planned root path (`nav_msgs/Path`), the planned root
//! positions and bodies (`visualization_msgs/MarkerArray`) and the route to a waypoint, all in
//! the odometry frame.

use g1::nalgebra::Vector3 as NV;
use g1::{CharacterFrame, STATE_DIM};
use g1_control::Plan;
use g1_guidance::route::Route;
use g1_msgs::builtin_interfaces::{Duration, Time};
use g1_msgs::g1d::PlannedTrajectory;
use g1_msgs::geometry_msgs::{Point, Pose, PoseStamped, Vector3};
use g1_msgs::nav_msgs::Path;
use g1_msgs::std_msgs::{ColorRGBA, Header};
use g1_msgs::visualization_msgs::{Marker, MarkerArray};

/// A path through `points` (orientation identity), every pose stamped with `header`.
pub fn path_of(header: &Header, points: impl IntoIterator<Item = Point>) -> Path {
    Path {
        header: header.clone(),
        poses: points
            .into_iter()
            .map(|position| PoseStamped {
                header: header.clone(),
                pose: Pose {
                    position,
                    ..Pose::default()
                },
            })
            .collect(),
    }
}

/// The route from `robot` to the waypoint, its corners cut where the clearance allows.
pub fn route_path(route: &Route, header: &Header, robot: [f64; 2]) -> Path {
    path_of(
        header,
        route.shortcut_path(robot).iter().map(|q| Point {
            x: q[0],
            y: q[1],
            z: 0.0,
        }),
    )
}

/// The plan's future root positions as a path, and as markers: the roots as one sphere list
/// and the predicted bodies (all 30) at every fourth future step, fading out.
pub fn plan_views(plan: &Plan, frame: &CharacterFrame, header: &Header) -> (Path, MarkerArray) {
    let points: Vec<Point> = plan
        .states
        .iter()
        .skip(g1_diffusion::HISTORY)
        .map(|s| crate::pt(&frame.point_to_world(&NV::new(s[0] as f64, s[1] as f64, s[2] as f64))))
        .collect();
    let sphere = |d: f64| Vector3 { x: d, y: d, z: d };
    let roots = Marker {
        header: header.clone(),
        ns: "plan_root".into(),
        id: 0,
        r#type: 7, // SPHERE_LIST
        action: 0,
        pose: Pose::default(),
        scale: sphere(0.04),
        color: ColorRGBA {
            r: 0.1,
            g: 1.0,
            b: 0.2,
            a: 0.9,
        },
        points: points.clone(),
        ..Marker::default()
    };
    let mut markers = vec![roots.clone()];
    for (n, i) in (g1_diffusion::HISTORY + 4..g1_diffusion::STEPS)
        .step_by(4)
        .enumerate()
    {
        let fade = 1.0 - 0.2 * n as f32;
        markers.push(Marker {
            ns: "plan_bodies".into(),
            id: n as i32,
            scale: sphere(0.05),
            color: ColorRGBA {
                r: 0.2,
                g: 0.5,
                b: 1.0,
                a: 0.8 * fade,
            },
            points: plan_bodies_world(&plan.states[i], frame)
                .iter()
                .map(crate::pt)
                .collect(),
            ..roots.clone()
        });
    }
    (path_of(header, points), MarkerArray { markers })
}

/// The plan as `g1_diffusion/PlannedTrajectory`: its future states s_{t+1..t+H} and actions
/// a_t..a_{t+H} (normalised), times relative to `stamp`, the time of the state it was planned
/// from (step t), `dt` apart.
pub fn planned_trajectory(plan: &Plan, stamp: Time, frame_id: &str, dt: f64) -> PlannedTrajectory {
    let now = g1_diffusion::HISTORY;
    let future = plan.states.len().saturating_sub(now + 1);
    let actions = plan.actions.len().saturating_sub(now);
    PlannedTrajectory {
        header: Header::new(stamp, frame_id),
        layout_version: g1::LAYOUT_VERSION,
        state_dim: plan.states.first().map_or(STATE_DIM, Vec::len) as u32,
        action_dim: g1::NUM_JOINTS as u32,
        state_times: (1..=future).map(|i| i as f64 * dt).collect(),
        states: plan.states[now + 1..].iter().flatten().copied().collect(),
        action_times: (0..actions).map(|i| i as f64 * dt).collect(),
        actions: plan.actions[now..].iter().flatten().copied().collect(),
        compute_time: Duration::from_secs_f64(plan.compute_s),
    }
}

/// World positions of a planned state's 30 bodies. The bodies are stored in the state's own
/// character frame (origin under its root, rotated by its heading); its root position and
/// orientation are relative to the plan's frame `frame`.
/// Empty for a state without body positions (a joint-space model's).
pub fn plan_bodies_world(state: &[f32], frame: &CharacterFrame) -> Vec<NV<f64>> {
    if state.len() != STATE_DIM {
        return Vec::new();
    }
    let g = |k: usize| state[k] as f64;
    let rot = g1::nalgebra::UnitQuaternion::from_scaled_axis(NV::new(g(3), g(4), g(5)));
    let yaw = g1::bodypos::heading_yaw(&rot);
    let own = g1::nalgebra::UnitQuaternion::from_axis_angle(&NV::z_axis(), yaw);
    let origin = NV::new(g(0), g(1), 0.0);
    (0..g1::NUM_BODIES)
        .map(|b| {
            let r = g1::bodypos::layout::body_pos(b);
            let p = NV::new(g(r.start), g(r.start + 1), g(r.start + 2));
            frame.point_to_world(&(origin + own * p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use g1::nalgebra::UnitQuaternion;
    use g1::NUM_JOINTS;

    /// The plan markers put every body where forward kinematics does, for a step whose root
    /// is moved and turned away from the plan's frame (and tilted, so heading ≠ rotation).
    #[test]
    fn plan_bodies_are_where_forward_kinematics_puts_them() {
        let reference_root = g1::RootState::at_rest(
            NV::new(1.0, -2.0, 0.78),
            UnitQuaternion::from_euler_angles(0.0, 0.0, 0.7),
        );
        let reference = CharacterFrame::from_root(&reference_root.pos_w, &reference_root.quat_w);
        let root = g1::RootState::at_rest(
            NV::new(1.6, -1.5, 0.74),
            UnitQuaternion::from_euler_angles(0.1, -0.15, 1.9),
        );
        let q: [f64; NUM_JOINTS] = std::array::from_fn(|j| 0.1 * ((j as f64) * 0.7).sin());
        let kin = g1::forward_kinematics(&root, &q, &[0.0; NUM_JOINTS]);
        let s = g1::bodypos::build_state(&kin, &reference);
        let s32: [f32; STATE_DIM] = std::array::from_fn(|k| s[k] as f32);
        let got = plan_bodies_world(&s32, &reference);
        for (b, p) in got.iter().enumerate() {
            let err = (p - kin.pos_w[b]).norm();
            assert!(err < 1e-5, "body {b}: {err} m off");
        }
    }
}
