//! Generated courses: feasible by the controller's own route search (an independent grid
//! search with its own cost), reproducible per seed, and spanning the command and goal spaces
//! the issue of generalisation asks for.

use g1_eval::courses::{
    course, feasible_path, generate, path_length, segment_clearance, CourseKind, ROBOT_CLEARANCE_M,
    TOUR_SEGMENT_M, TOUR_TURN_RAD, TOUR_WAYPOINTS, VX_RANGE, VY_RANGE, WZ_RANGE,
};
use g1_eval::{to_shape, TaskKind};
use g1_guidance::{planar_clearance, Route, RouteParams, Shape};
use g1_sim::Obstacle;

#[test]
fn generated_obstacle_courses_are_feasible_by_the_routers_search() {
    let courses = generate(CourseKind::Obstacles, 24, 1000).unwrap();
    let mut layouts = std::collections::BTreeSet::new();
    for s in &courses {
        assert_eq!(s.task, TaskKind::Obstacles);
        layouts.insert(s.name.splitn(3, '_').nth(2).unwrap().to_string());
        let g = s.goal.unwrap();
        let d = g[0].hypot(g[1]);
        assert!(
            (3.0 - 0.01..=6.0 + 0.01).contains(&d),
            "{}: goal {d} m away",
            s.name
        );
        let shapes: Vec<Shape> = s.obstacles.iter().map(to_shape).collect();
        assert!(planar_clearance(&shapes, 0.0, 0.0) >= 0.6, "{}", s.name);
        // The obstacles are in the way of the straight line.
        assert!(
            segment_clearance(&shapes, [0.0, 0.0], g) <= 0.4,
            "{}",
            s.name
        );
        // The controller's route grid, with passing closer than the robot's clearance made
        // prohibitive: its path keeps the clearance all the way.
        let params = RouteParams {
            clearance: ROBOT_CLEARANCE_M,
            soft_cost: 0.0,
            blocked_cost: 1e6,
            ..RouteParams::default()
        };
        let route = Route::new(g, &shapes, [0.0, 0.0], params);
        let cost = route.cost_to_go([0.0, 0.0]);
        assert!(cost < 100.0, "{}: route cost {cost}", s.name);
        for p in route.path([0.0, 0.0]) {
            let c = planar_clearance(&shapes, p[0], p[1]);
            assert!(c >= ROBOT_CLEARANCE_M - 0.05, "{}: {c} m at {p:?}", s.name);
        }
        // The generator's own path is no longer than the router's by more than the grids' play.
        let own = path_length(&feasible_path(&shapes, [0.0, 0.0], g, ROBOT_CLEARANCE_M).unwrap());
        assert!(own <= cost + 0.3, "{}: {own} m against {cost} m", s.name);
    }
    assert_eq!(layouts.len(), 4, "{layouts:?}");
}

#[test]
fn the_feasibility_search_refuses_closed_rooms_and_narrow_gaps() {
    let wall = |x: f64, y0: f64, y1: f64| Obstacle::Box {
        center: vec![x, (y0 + y1) / 2.0, 0.6],
        half_extents: [0.1, (y1 - y0) / 2.0, 0.6],
        yaw: 0.0,
    };
    let room: Vec<Shape> = [
        wall(3.0, 1.0, 3.0),
        wall(5.0, 1.0, 3.0),
        Obstacle::Box {
            center: vec![4.0, 1.0, 0.6],
            half_extents: [1.1, 0.1, 0.6],
            yaw: 0.0,
        },
        Obstacle::Box {
            center: vec![4.0, 3.0, 0.6],
            half_extents: [1.1, 0.1, 0.6],
            yaw: 0.0,
        },
    ]
    .iter()
    .map(to_shape)
    .collect();
    assert!(feasible_path(&room, [0.0, 0.0], [4.0, 2.0], ROBOT_CLEARANCE_M).is_none());
    // A wall across the way from y = −5 to 5 with a gap at y ∈ [−w/2, w/2].
    let gap = |w: f64| -> Vec<Shape> {
        [wall(2.0, -5.0, -w / 2.0), wall(2.0, w / 2.0, 5.0)]
            .iter()
            .map(to_shape)
            .collect()
    };
    assert!(
        feasible_path(&gap(0.5), [0.0, 0.0], [4.0, 0.0], ROBOT_CLEARANCE_M)
            .is_none_or(|p| path_length(&p) > 10.0)
    );
    let p = feasible_path(&gap(0.8), [0.0, 0.0], [4.0, 0.0], ROBOT_CLEARANCE_M).unwrap();
    assert!((path_length(&p) - 4.0).abs() < 0.1, "{}", path_length(&p));
}

#[test]
fn each_course_comes_from_its_own_seed_and_survives_the_file() {
    for kind in [
        CourseKind::Obstacles,
        CourseKind::Waypoint,
        CourseKind::Joystick,
        CourseKind::Tour,
    ] {
        let all = generate(kind, 5, 1000).unwrap();
        let one = course(kind, 1003).unwrap();
        assert_eq!(
            serde_yaml::to_string(&all[3]).unwrap(),
            serde_yaml::to_string(&one).unwrap()
        );
        assert!(all[3].name.starts_with(&format!("{}_1003", kind.name())));
        let dir = std::env::temp_dir().join(format!("g1d_courses_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join(format!("{}.yaml", kind.name()));
        std::fs::write(
            &f,
            g1_eval::scenario::to_yaml(&all, "a header\nof two lines").unwrap(),
        )
        .unwrap();
        let back = g1_eval::scenario::load(&f).unwrap();
        assert_eq!(
            serde_yaml::to_string(&back).unwrap(),
            serde_yaml::to_string(&all).unwrap()
        );
        std::fs::remove_dir_all(&dir).ok();
    }
    assert!(generate(CourseKind::Waypoint, 0, 1).is_err());
}

#[test]
fn joystick_courses_span_the_velocity_experts_commands() {
    let courses = generate(CourseKind::Joystick, 50, 1000).unwrap();
    let cmds: Vec<[f64; 4]> = courses.iter().flat_map(|s| s.commands.clone()).collect();
    for c in &cmds {
        assert!(c[0] >= VX_RANGE[0] && c[0] <= VX_RANGE[1], "{c:?}");
        assert!(c[1] >= VY_RANGE[0] && c[1] <= VY_RANGE[1], "{c:?}");
        assert!(c[2] >= WZ_RANGE[0] && c[2] <= WZ_RANGE[1], "{c:?}");
        assert!(c[3] >= 1.0 && c[3] <= 4.0, "{c:?}");
    }
    let has = |f: &dyn Fn(&[f64; 4]) -> bool| cmds.iter().filter(|c| f(c)).count();
    assert!(has(&|c| c[0] < -0.2) > 5, "backward");
    assert!(has(&|c| c[1].abs() >= 0.2 && c[0] == 0.0) > 5, "sideways");
    assert!(
        has(&|c| c[2].abs() >= 0.3 && c[0] == 0.0 && c[1] == 0.0) > 5,
        "on the spot"
    );
    assert!(
        has(&|c| c[0] == 0.0 && c[1] == 0.0 && c[2] == 0.0) > 5,
        "stops"
    );
    assert!(
        has(&|c| c[0] != 0.0 && c[1] != 0.0 && c[2] != 0.0) > 5,
        "combined"
    );
    for s in &courses {
        assert!(s.commands.iter().any(|c| c[3] >= 2.0), "{}", s.name);
    }
}

/// Tours: 12 waypoints 1–2 m apart, turning by at most 90° at each, 60 s, the default
/// punches and arm walk, and each its own seed for the runs' draws.
#[test]
fn tours_are_twelve_legs_of_bounded_length_and_turn() {
    let tours = generate(CourseKind::Tour, 30, 1000).unwrap();
    let mut turns = vec![];
    for (i, s) in tours.iter().enumerate() {
        assert_eq!(s.task, TaskKind::Tour);
        assert_eq!(s.waypoints.len(), TOUR_WAYPOINTS);
        assert_eq!(s.duration_s(), 60.0);
        assert_eq!(s.seed, Some(1000 + i as u64));
        assert_eq!(s.punches, Some(g1_sim::PunchConfig::default()));
        assert_eq!(s.arm_walk, Some(g1_sim::ArmWalkConfig::default()));
        let pts: Vec<[f64; 2]> = std::iter::once([0.0, 0.0])
            .chain(s.waypoints.iter().copied())
            .collect();
        let dirs: Vec<f64> = pts
            .windows(2)
            .map(|w| {
                let (dx, dy) = (w[1][0] - w[0][0], w[1][1] - w[0][1]);
                // Centimetre rounding moves a leg's length by at most 1.5 cm.
                let l = dx.hypot(dy);
                assert!(
                    (TOUR_SEGMENT_M[0] - 0.015..=TOUR_SEGMENT_M[1] + 0.015).contains(&l),
                    "{}: {l}",
                    s.name
                );
                dy.atan2(dx)
            })
            .collect();
        for w in dirs.windows(2) {
            let d = (w[1] - w[0] + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI)
                - std::f64::consts::PI;
            assert!(d.abs() <= TOUR_TURN_RAD + 0.03, "{}: turn {d}", s.name);
            turns.push(d);
        }
    }
    // Both ways, sharp and gentle.
    assert!(turns.iter().any(|d| *d > 1.2) && turns.iter().any(|d| *d < -1.2));
    assert!(turns.iter().filter(|d| d.abs() < 0.3).count() > 10);
}

#[test]
fn waypoint_courses_lie_in_every_direction() {
    let courses = generate(CourseKind::Waypoint, 50, 1000).unwrap();
    let mut quadrants = [0usize; 4];
    for s in &courses {
        let g = s.goal.unwrap();
        let d = g[0].hypot(g[1]);
        assert!((1.0 - 0.01..=7.0 + 0.01).contains(&d), "{d}");
        assert!(s.obstacles.is_empty());
        quadrants[(g[0] < 0.0) as usize * 2 + (g[1] < 0.0) as usize] += 1;
    }
    assert!(quadrants.iter().all(|&n| n >= 5), "{quadrants:?}");
}
