//! Generated courses (`g1d courses generate`): scenarios of the kinds `g1d eval` runs, drawn
//! from seeds, so the controller can be measured on courses nobody tuned it on.
//!
//! Course `i` of `generate(kind, count, seed)` is drawn from the seed `seed + i` alone and
//! named after it (`obstacles_1007`), so any course can be regenerated on its own. Seeds below
//! [`FIRST_REPORTED_SEED`] are for tuning; reported results use seeds from it up.
//!
//! Every obstacle course is feasible: a grid search finds a path from the start to the goal on
//! which the robot's root keeps [`ROBOT_CLEARANCE_M`] from every obstacle over the robot's
//! height (`g1_guidance::planar_clearance`); courses without one are drawn again.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::f64::consts::PI;

use anyhow::{bail, Result};
use g1_guidance::route::NEIGHBOURS;
use g1_guidance::{planar_clearance, Shape};
use g1_sim::Obstacle;
use rand::{Rng, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::harness::to_shape;
use crate::scenario::{Scenario, TaskKind};

/// Seeds below this are for tuning; reported results use seeds from it up.
pub const FIRST_REPORTED_SEED: u64 = 1000;

/// How far the robot's root must stay from obstacle surfaces on a feasible path (m): the G1's
/// half-width at the shoulders and elbows (≈ 0.25 m) with a margin. A passage of 0.7 m clear
/// width leaves 0.35 m on either side.
pub const ROBOT_CLEARANCE_M: f64 = 0.3;

/// Clear width (m) of the narrowest passages generated.
pub const MIN_PASSAGE_M: f64 = 0.7;

/// The command space of joystick courses, that of the velocity expert's training: vx, vy (m/s),
/// wz (rad/s).
pub const VX_RANGE: [f64; 2] = [-0.5, 0.8];
pub const VY_RANGE: [f64; 2] = [-0.4, 0.4];
pub const WZ_RANGE: [f64; 2] = [-0.8, 0.8];
/// How long a joystick command is held (s).
pub const HOLD_RANGE_S: [f64; 2] = [1.0, 4.0];

/// Tours: waypoints, segment length (m), turn at each waypoint (rad, either way), duration (s).
pub const TOUR_WAYPOINTS: usize = 12;
pub const TOUR_SEGMENT_M: [f64; 2] = [1.0, 2.0];
pub const TOUR_TURN_RAD: f64 = PI / 2.0;
pub const TOUR_SECONDS: f64 = 60.0;

/// Goal distances (m): waypoint courses, obstacle courses.
pub const WAYPOINT_RANGE_M: [f64; 2] = [1.0, 7.0];
pub const OBSTACLE_GOAL_RANGE_M: [f64; 2] = [3.0, 6.0];

/// Grid cell of the feasibility search (m).
const GRID_M: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CourseKind {
    Obstacles,
    Waypoint,
    Joystick,
    Tour,
}

impl CourseKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Obstacles => "obstacles",
            Self::Waypoint => "waypoint",
            Self::Joystick => "joystick",
            Self::Tour => "tour",
        }
    }
}

/// `count` courses of `kind` from the seeds `seed`, `seed + 1`, ….
pub fn generate(kind: CourseKind, count: usize, seed: u64) -> Result<Vec<Scenario>> {
    if count == 0 {
        bail!("count must be at least 1");
    }
    (0..count as u64)
        .map(|i| {
            let s = seed
                .checked_add(i)
                .ok_or_else(|| anyhow::anyhow!("seed {seed} + {i} overflows"))?;
            course(kind, s)
        })
        .collect()
}

/// The course of `kind` drawn from `seed`.
pub fn course(kind: CourseKind, seed: u64) -> Result<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let name = format!("{}_{seed}", kind.name());
    let s = match kind {
        CourseKind::Waypoint => waypoint(&mut rng, name),
        CourseKind::Joystick => joystick(&mut rng, name),
        CourseKind::Obstacles => obstacles(&mut rng, name, seed)?,
        CourseKind::Tour => tour(&mut rng, name, seed),
    };
    s.check()?;
    Ok(s)
}

fn uniform(rng: &mut ChaCha8Rng, r: [f64; 2]) -> f64 {
    rng.gen_range(r[0]..=r[1])
}

/// Rounded to centimetres (and centiradians) so the YAML reads well; the course is what the
/// rounded numbers say.
fn cm(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn waypoint(rng: &mut ChaCha8Rng, name: String) -> Scenario {
    let d = uniform(rng, WAYPOINT_RANGE_M);
    let a = rng.gen_range(-PI..PI);
    let goal = [cm(d * a.cos()), cm(d * a.sin())];
    Scenario {
        name,
        task: TaskKind::Waypoint,
        seconds: Some(duration_for(d, a)),
        goal: Some(goal),
        obstacles: vec![],
        commands: vec![],
        speed: None,
        pushes: None,
        seed: None,
        waypoints: vec![],
        punches: None,
        arm_walk: None,
    }
}

/// Time allowed for a path of `length` m towards a goal at bearing `bearing` (rad): the route
/// speed of 0.6 m/s with room to spare, and time to turn round for goals behind.
fn duration_for(length: f64, bearing: f64) -> f64 {
    let turn = if bearing.abs() > PI / 2.0 { 4.0 } else { 0.0 };
    (10.0 + 2.5 * length + turn).ceil().min(60.0)
}

/// One joystick command: a stop, forward, backward, sideways, turning on the spot, or a
/// combination, held 1–4 s.
fn command(rng: &mut ChaCha8Rng) -> [f64; 4] {
    let hold = cm(uniform(rng, HOLD_RANGE_S));
    let side = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
    let [vx, vy, wz] = match rng.gen_range(0..6) {
        0 => [0.0, 0.0, 0.0],
        1 => [uniform(rng, [0.2, VX_RANGE[1]]), 0.0, 0.0],
        2 => [uniform(rng, [VX_RANGE[0], -0.2]), 0.0, 0.0],
        3 => [0.0, side * uniform(rng, [0.2, VY_RANGE[1]]), 0.0],
        4 => [0.0, 0.0, side * uniform(rng, [0.3, WZ_RANGE[1]])],
        _ => [
            uniform(rng, VX_RANGE),
            uniform(rng, VY_RANGE),
            uniform(rng, WZ_RANGE),
        ],
    };
    [cm(vx), cm(vy), cm(wz), hold]
}

fn joystick(rng: &mut ChaCha8Rng, name: String) -> Scenario {
    let n = rng.gen_range(3..=5);
    let mut commands: Vec<[f64; 4]> = (0..n).map(|_| command(rng)).collect();
    // The score skips each command's first second: at least one is held 2 s or more.
    if commands.iter().all(|c| c[3] < 2.0) {
        let i = rng.gen_range(0..n);
        commands[i][3] = cm(uniform(rng, [2.0, HOLD_RANGE_S[1]]));
    }
    // Stops and starts: some courses start by standing, some end with a stop.
    if rng.gen_bool(0.3) {
        commands.insert(0, [0.0, 0.0, 0.0, cm(uniform(rng, [1.0, 2.0]))]);
    }
    if rng.gen_bool(0.3) {
        commands.push([0.0, 0.0, 0.0, cm(uniform(rng, [1.5, 3.0]))]);
    }
    Scenario {
        name,
        task: TaskKind::Joystick,
        seconds: None,
        goal: None,
        obstacles: vec![],
        commands,
        speed: None,
        pushes: None,
        seed: None,
        waypoints: vec![],
        punches: None,
        arm_walk: None,
    }
}

/// A tour: [`TOUR_WAYPOINTS`] waypoints, each [`TOUR_SEGMENT_M`] from the last, the way
/// turning by up to ±[`TOUR_TURN_RAD`] at each (the first segment in any direction), in
/// [`TOUR_SECONDS`], under the default punches (one per 5 s, up to 600 N for 0.08 s) and arm
/// random walk, drawn from the course's seed with the run's.
fn tour(rng: &mut ChaCha8Rng, name: String, seed: u64) -> Scenario {
    let mut heading = rng.gen_range(-PI..PI);
    let mut at = [0.0, 0.0];
    let waypoints = (0..TOUR_WAYPOINTS)
        .map(|i| {
            if i > 0 {
                heading += rng.gen_range(-TOUR_TURN_RAD..=TOUR_TURN_RAD);
            }
            let d = uniform(rng, TOUR_SEGMENT_M);
            at = [cm(at[0] + d * heading.cos()), cm(at[1] + d * heading.sin())];
            at
        })
        .collect();
    Scenario {
        name,
        task: TaskKind::Tour,
        seconds: Some(TOUR_SECONDS),
        goal: None,
        obstacles: vec![],
        commands: vec![],
        speed: None,
        pushes: None,
        seed: Some(seed),
        waypoints,
        punches: Some(g1_sim::PunchConfig::default()),
        arm_walk: Some(g1_sim::ArmWalkConfig::default()),
    }
}

/// The layouts of obstacle courses.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// 3–7 primitives near the straight line to the goal: cylinders, boxes at any yaw, spheres
    /// on the floor and at body height.
    Scatter,
    /// A wall across the way with one gap 0.8–1.6 m wide.
    WallGap,
    /// Three or four posts alternating either side of the straight line.
    Slalom,
    /// A corridor 0.7–1.2 m wide between two long boxes.
    Narrow,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Self::Scatter => "scatter",
            Self::WallGap => "wall_gap",
            Self::Slalom => "slalom",
            Self::Narrow => "narrow",
        }
    }
}

fn obstacles(rng: &mut ChaCha8Rng, name: String, seed: u64) -> Result<Scenario> {
    for _ in 0..200 {
        let d = uniform(rng, OBSTACLE_GOAL_RANGE_M);
        let a = rng.gen_range(-PI..PI);
        let goal = [cm(d * a.cos()), cm(d * a.sin())];
        let layout = match rng.gen_range(0..4) {
            0 => Layout::Scatter,
            1 => Layout::WallGap,
            2 => Layout::Slalom,
            _ => Layout::Narrow,
        };
        let obs = layout_obstacles(rng, layout, goal);
        let shapes: Vec<Shape> = obs.iter().map(to_shape).collect();
        // The start and the goal are clear, the straight line is not (the obstacles matter).
        if planar_clearance(&shapes, 0.0, 0.0) < 0.6
            || planar_clearance(&shapes, goal[0], goal[1]) < 0.5
            || segment_clearance(&shapes, [0.0, 0.0], goal) > 0.4
        {
            continue;
        }
        let Some(path) = feasible_path(&shapes, [0.0, 0.0], goal, ROBOT_CLEARANCE_M) else {
            continue;
        };
        let length = path_length(&path);
        return Ok(Scenario {
            name: format!("{name}_{}", layout.name()),
            task: TaskKind::Obstacles,
            seconds: Some(duration_for(length, a)),
            goal: Some(goal),
            obstacles: obs,
            commands: vec![],
            speed: None,
            pushes: None,
            seed: None,
            waypoints: vec![],
            punches: None,
            arm_walk: None,
        });
    }
    bail!("seed {seed}: no feasible obstacle course in 200 draws")
}

/// A point `along` metres from the start towards the goal and `across` metres to its left.
fn on_line(goal: [f64; 2], along: f64, across: f64) -> [f64; 2] {
    let n = goal[0].hypot(goal[1]);
    let (ux, uy) = (goal[0] / n, goal[1] / n);
    [along * ux - across * uy, along * uy + across * ux]
}

fn layout_obstacles(rng: &mut ChaCha8Rng, layout: Layout, goal: [f64; 2]) -> Vec<Obstacle> {
    let d = goal[0].hypot(goal[1]);
    let heading = goal[1].atan2(goal[0]);
    let cyl = |c: [f64; 2], r: f64| Obstacle::Cylinder {
        center: vec![cm(c[0]), cm(c[1])],
        radius: cm(r),
        height: 1.5,
    };
    // A box of length `len` across the line (its long side perpendicular to it) or along it.
    let boxed = |c: [f64; 2], half: [f64; 3], yaw: f64| Obstacle::Box {
        center: vec![cm(c[0]), cm(c[1]), cm(half[2])],
        half_extents: [cm(half[0]), cm(half[1]), cm(half[2])],
        yaw: cm(yaw),
    };
    match layout {
        Layout::Scatter => {
            let n = rng.gen_range(3..=7);
            (0..n)
                .map(|_| {
                    let c = on_line(
                        goal,
                        uniform(rng, [1.0, d - 0.9]),
                        uniform(rng, [-1.0, 1.0]),
                    );
                    match rng.gen_range(0..4) {
                        0 => cyl(c, uniform(rng, [0.15, 0.35])),
                        1 => boxed(
                            c,
                            [
                                uniform(rng, [0.15, 0.5]),
                                uniform(rng, [0.1, 0.4]),
                                uniform(rng, [0.3, 0.7]),
                            ],
                            rng.gen_range(-PI..PI),
                        ),
                        2 => {
                            let r = uniform(rng, [0.2, 0.4]);
                            Obstacle::Sphere {
                                center: vec![cm(c[0]), cm(c[1]), cm(r)],
                                radius: cm(r),
                            }
                        }
                        // At body height: the torso and arms meet it, the legs pass under.
                        _ => Obstacle::Sphere {
                            center: vec![cm(c[0]), cm(c[1]), cm(uniform(rng, [0.8, 1.2]))],
                            radius: cm(uniform(rng, [0.15, 0.3])),
                        },
                    }
                })
                .collect()
        }
        Layout::WallGap => {
            let along = uniform(rng, [0.4, 0.6]) * d;
            let gap = uniform(rng, [0.8, 1.6]);
            let centre = uniform(rng, [-1.2, 1.2]);
            let (lo, hi) = (centre - gap / 2.0, centre + gap / 2.0);
            // Wall segments from −3 m to the gap and from the gap to +3 m across the line.
            let half_t = 0.1;
            let mut out = vec![];
            for (a, b) in [(-3.0, lo), (hi, 3.0)] {
                let (a, b): (f64, f64) = (a, b);
                if b - a > 0.1 {
                    let c = on_line(goal, along, (a + b) / 2.0);
                    out.push(boxed(c, [half_t, (b - a) / 2.0, 0.6], heading));
                }
            }
            out
        }
        Layout::Slalom => {
            let n = rng.gen_range(3..=4);
            let spacing = uniform(rng, [1.0, 1.4]).min((d - 1.5) / n as f64).max(0.8);
            let first = uniform(rng, [1.0, 1.4]);
            let side = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
            (0..n)
                .map(|k| {
                    let s = if k % 2 == 0 { side } else { -side };
                    let c = on_line(
                        goal,
                        first + k as f64 * spacing,
                        s * uniform(rng, [0.1, 0.4]),
                    );
                    cyl(c, uniform(rng, [0.2, 0.3]))
                })
                .collect()
        }
        Layout::Narrow => {
            let width = uniform(rng, [MIN_PASSAGE_M, 1.2]);
            let len = uniform(rng, [1.0, 2.0]).min(d - 2.0).max(0.6);
            let along = uniform(rng, [1.2, (d - len - 0.8).max(1.2)]) + len / 2.0;
            let offset = uniform(rng, [-0.4, 0.4]);
            let half_t = 0.15;
            let mut out = vec![];
            for s in [-1.0, 1.0] {
                let c = on_line(goal, along, offset + s * (width / 2.0 + half_t));
                out.push(boxed(c, [len / 2.0, half_t, 0.6], heading));
            }
            // Walls out from the corridor's mouth: going round it is a detour of metres.
            for s in [-1.0f64, 1.0] {
                let inner = offset + s * (width / 2.0 + 2.0 * half_t);
                let outer = s * 3.0;
                let mid = (inner + outer) / 2.0;
                let half = ((outer - inner).abs() / 2.0).max(0.05);
                let c = on_line(goal, along - len / 2.0 + half_t, mid);
                out.push(boxed(c, [half_t, half, 0.6], heading));
            }
            out
        }
    }
}

/// The least planar clearance along the segment from `a` to `b` (m).
pub fn segment_clearance(shapes: &[Shape], a: [f64; 2], b: [f64; 2]) -> f64 {
    let n = ((b[0] - a[0]).hypot(b[1] - a[1]) / GRID_M).ceil().max(1.0) as usize;
    (0..=n)
        .map(|i| {
            let t = i as f64 / n as f64;
            planar_clearance(shapes, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        })
        .fold(f64::INFINITY, f64::min)
}

/// The length (m) of a path's polyline.
pub fn path_length(path: &[[f64; 2]]) -> f64 {
    path.windows(2)
        .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
        .sum()
}

/// The shortest path from `start` to `goal` (grid cell centres, start first) on a grid of 5 cm
/// cells (8 neighbours) through cells whose planar clearance is at least `clearance`; None when
/// there is none. The search covers the box around start, goal and obstacles with 2 m to spare.
pub fn feasible_path(
    shapes: &[Shape],
    start: [f64; 2],
    goal: [f64; 2],
    clearance: f64,
) -> Option<Vec<[f64; 2]>> {
    let mut lo = [start[0].min(goal[0]), start[1].min(goal[1])];
    let mut hi = [start[0].max(goal[0]), start[1].max(goal[1])];
    for s in shapes {
        let (c, r) = s.footprint_circle();
        for i in 0..2 {
            lo[i] = lo[i].min(c[i] - r);
            hi[i] = hi[i].max(c[i] + r);
        }
    }
    let margin = 2.0;
    let origin = [lo[0] - margin, lo[1] - margin];
    let nx = ((hi[0] - lo[0] + 2.0 * margin) / GRID_M).ceil() as usize + 1;
    let ny = ((hi[1] - lo[1] + 2.0 * margin) / GRID_M).ceil() as usize + 1;
    let cell = |p: [f64; 2]| {
        (
            ((p[0] - origin[0]) / GRID_M).round() as usize,
            ((p[1] - origin[1]) / GRID_M).round() as usize,
        )
    };
    let free: Vec<bool> = (0..nx * ny)
        .map(|k| {
            let (i, j) = (k % nx, k / nx);
            planar_clearance(
                shapes,
                origin[0] + i as f64 * GRID_M,
                origin[1] + j as f64 * GRID_M,
            ) >= clearance
        })
        .collect();
    let (s, g) = (cell(start), cell(goal));
    let (si, gi) = (s.0 + s.1 * nx, g.0 + g.1 * nx);
    if !free[si] || !free[gi] {
        return None;
    }
    #[derive(PartialEq)]
    struct Item(f64, usize);
    impl Eq for Item {}
    impl Ord for Item {
        fn cmp(&self, o: &Self) -> Ordering {
            o.0.total_cmp(&self.0)
        }
    }
    impl PartialOrd for Item {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    let mut dist = vec![f64::INFINITY; nx * ny];
    let mut parent = vec![usize::MAX; nx * ny];
    let mut heap = BinaryHeap::new();
    dist[si] = 0.0;
    heap.push(Item(0.0, si));
    let at = |k: usize| {
        [
            origin[0] + (k % nx) as f64 * GRID_M,
            origin[1] + (k / nx) as f64 * GRID_M,
        ]
    };
    while let Some(Item(d, k)) = heap.pop() {
        if k == gi {
            let mut path = vec![at(k)];
            let mut c = k;
            while c != si {
                c = parent[c];
                path.push(at(c));
            }
            path.reverse();
            return Some(path);
        }
        if d > dist[k] {
            continue;
        }
        let (i, j) = ((k % nx) as i64, (k / nx) as i64);
        for (di, dj) in NEIGHBOURS {
            let (a, b) = (i + di, j + dj);
            if a < 0 || b < 0 || a >= nx as i64 || b >= ny as i64 {
                continue;
            }
            let n = a as usize + b as usize * nx;
            if !free[n] {
                continue;
            }
            let nd = d + GRID_M * ((di * di + dj * dj) as f64).sqrt();
            if nd < dist[n] {
                dist[n] = nd;
                parent[n] = k;
                heap.push(Item(nd, n));
            }
        }
    }
    None
}
