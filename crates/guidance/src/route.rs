//! A planar route to the goal around the obstacles, for the waypoint cost's target.
//!
//! The diffusion plan looks 0.32 s ahead, so a goal metres away behind an obstacle leaves the
//! costs in a potential-field local minimum (the barrier pushes back as hard as the goal pulls)
//! and a distant goal pulls the robot so hard that it cannot stop. [`Route`] is a navigation
//! function over a planar grid: Dijkstra from the goal, with obstacles (their footprint over the
//! robot's height) inflated by a clearance and a soft penalty beyond it. The waypoint cost then
//! aims at [`Route::carrot`]: the point a fixed path length ahead along the route (the goal
//! itself once it is that close). The costs stay those of docs/METHOD.md; only their target moves.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::sdf::{self, Shape};

/// Route settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteParams {
    /// Grid cell size (m).
    pub resolution: f64,
    /// Keep the root at least this far from every obstacle surface (m): cells closer cost
    /// `blocked_cost` per metre (passable, so a robot already inside still gets out).
    pub clearance: f64,
    /// Beyond the clearance, a penalty falling linearly to 0 over this band (m), so the route
    /// keeps to the middle of gaps.
    pub soft_band: f64,
    /// Extra cost per metre at the clearance (the penalty's peak).
    pub soft_cost: f64,
    pub blocked_cost: f64,
    /// Narrow passages: cells between this and `clearance` from the obstacles are not
    /// blocked but continue the soft band's penalty, so that a passage narrower than twice
    /// the clearance (yet wider than twice this) is walked, down its middle, when going round
    /// it costs more. At or above `clearance`: off.
    pub min_clearance: f64,
    /// Margin around the goal, the robot and the obstacles (m).
    pub margin: f64,
    /// A robot already inside the clearance sees along a line only if the line's clearance
    /// rises at least this fast with distance from the robot (m per m) until it reaches the
    /// clearance: its carrot leads out of the band. 0: a line that never comes closer than the
    /// robot already is, so a robot that drifted in keeps the smaller distance.
    pub exit_gain: f64,
    /// The carrot's line of sight keeps this much more than the clearance (m) wherever its
    /// ends allow: cutting the route's corners stays that much further from the obstacles,
    /// while a passage narrower than that is still seen into from its own points. 0: lines
    /// keep the clearance alone.
    pub sight_margin: f64,
}

impl Default for RouteParams {
    fn default() -> Self {
        Self {
            resolution: 0.05,
            clearance: 0.4,
            soft_band: 0.3,
            soft_cost: 2.0,
            blocked_cost: 100.0,
            min_clearance: 0.4,
            margin: 2.0,
            exit_gain: 0.0,
            sight_margin: 0.0,
        }
    }
}

/// Heights (m) at which the obstacles' footprint is taken (the robot's body spans 0–1.35 m).
const HEIGHTS: [f64; 7] = [0.05, 0.25, 0.45, 0.65, 0.85, 1.05, 1.3];

/// Planar clearance: the smallest obstacle distance over the robot's height at (x, y).
pub fn planar_clearance(shapes: &[Shape], x: f64, y: f64) -> f64 {
    HEIGHTS
        .iter()
        .map(|&z| sdf::union(shapes, [x, y, z]).0)
        .fold(f64::INFINITY, f64::min)
}

/// Path cost to the goal from every grid cell (world frame, planar).
#[derive(Debug, Clone)]
pub struct Route {
    pub goal: [f64; 2],
    pub shapes: Vec<Shape>,
    pub params: RouteParams,
    origin: [f64; 2],
    /// The grid's cell size (m): `params.resolution`, or coarser where the area is too large
    /// for [`MAX_CELLS`].
    res: f64,
    nx: usize,
    ny: usize,
    /// Cost-to-go of each cell (row-major, x fastest).
    cost: Vec<f64>,
    /// Planar clearance of each cell (m).
    clear: Vec<f64>,
}

#[derive(PartialEq)]
struct Item(f64, usize);
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on the cost.
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

/// The 8-neighbourhood of a grid cell.
pub const NEIGHBOURS: [(i64, i64); 8] = [
    (1, 0),
    (-1, 0),
    (0, 1),
    (0, -1),
    (1, 1),
    (1, -1),
    (-1, 1),
    (-1, -1),
];

/// The most cells a route grid may have (4 M: 100 m × 100 m at 5 cm). A larger area (a far
/// goal, far obstacles) gets a coarser grid instead of an allocation that could end the
/// process.
pub const MAX_CELLS: usize = 4_000_000;

impl Route {
    /// The navigation function to `goal` around `shapes`, on a grid covering the goal, the
    /// obstacles and `robot` with a margin.
    pub fn new(goal: [f64; 2], shapes: &[Shape], robot: [f64; 2], params: RouteParams) -> Self {
        let mut lo = [goal[0].min(robot[0]), goal[1].min(robot[1])];
        let mut hi = [goal[0].max(robot[0]), goal[1].max(robot[1])];
        for s in shapes {
            let (c, r) = s.footprint_circle();
            for k in 0..2 {
                lo[k] = lo[k].min(c[k] - r);
                hi[k] = hi[k].max(c[k] + r);
            }
        }
        let origin = [lo[0] - params.margin, lo[1] - params.margin];
        // (Non-finite inputs, which callers should have refused, give a small grid.)
        let span = [
            hi[0] - lo[0] + 2.0 * params.margin,
            hi[1] - lo[1] + 2.0 * params.margin,
        ]
        .map(|v| if v.is_finite() { v } else { 0.0 });
        let cells = |res: f64| ((span[0] / res).ceil() + 1.0) * ((span[1] / res).ceil() + 1.0);
        let mut res = params.resolution;
        while cells(res) > MAX_CELLS as f64 && res < 1e3 {
            res *= 1.25;
        }
        let nx = (span[0] / res).ceil() as usize + 1;
        let ny = (span[1] / res).ceil() as usize + 1;
        let clear: Vec<f64> = (0..nx * ny)
            .map(|i| {
                let (x, y) = (
                    origin[0] + (i % nx) as f64 * res,
                    origin[1] + (i / nx) as f64 * res,
                );
                planar_clearance(shapes, x, y)
            })
            .collect();
        // Cost per metre of each cell.
        let per_m: Vec<f64> = clear
            .iter()
            .map(|&c| {
                if c < params.clearance.min(params.min_clearance) {
                    params.blocked_cost
                } else if c < params.clearance + params.soft_band {
                    1.0 + params.soft_cost * (params.clearance + params.soft_band - c)
                        / params.soft_band
                } else {
                    1.0
                }
            })
            .collect();
        let mut route = Self {
            goal,
            shapes: shapes.to_vec(),
            params,
            origin,
            res,
            nx,
            ny,
            cost: vec![f64::INFINITY; nx * ny],
            clear,
        };
        let g = route.cell_of(goal);
        route.cost[g] = 0.0;
        let mut heap = BinaryHeap::from([Item(0.0, g)]);
        while let Some(Item(c, i)) = heap.pop() {
            if c > route.cost[i] {
                continue;
            }
            let (ix, iy) = ((i % nx) as i64, (i / nx) as i64);
            for (dx, dy) in NEIGHBOURS {
                let (jx, jy) = (ix + dx, iy + dy);
                if jx < 0 || jy < 0 || jx >= nx as i64 || jy >= ny as i64 {
                    continue;
                }
                let j = jy as usize * nx + jx as usize;
                let len = res * ((dx * dx + dy * dy) as f64).sqrt();
                let nc = c + len * 0.5 * (per_m[i] + per_m[j]);
                if nc < route.cost[j] {
                    route.cost[j] = nc;
                    heap.push(Item(nc, j));
                }
            }
        }
        route
    }

    /// Whether `p` lies on the grid (away from its border).
    pub fn covers(&self, p: [f64; 2]) -> bool {
        let (fx, fy) = (
            (p[0] - self.origin[0]) / self.res,
            (p[1] - self.origin[1]) / self.res,
        );
        fx >= 1.0 && fy >= 1.0 && fx <= (self.nx - 2) as f64 && fy <= (self.ny - 2) as f64
    }

    fn cell_of(&self, p: [f64; 2]) -> usize {
        let r = self.res;
        let ix = ((p[0] - self.origin[0]) / r)
            .round()
            .clamp(0.0, (self.nx - 1) as f64) as usize;
        let iy = ((p[1] - self.origin[1]) / r)
            .round()
            .clamp(0.0, (self.ny - 1) as f64) as usize;
        iy * self.nx + ix
    }

    fn centre(&self, i: usize) -> [f64; 2] {
        let r = self.res;
        [
            self.origin[0] + (i % self.nx) as f64 * r,
            self.origin[1] + (i / self.nx) as f64 * r,
        ]
    }

    /// Cost-to-go from `p` (path metres, penalties included).
    pub fn cost_to_go(&self, p: [f64; 2]) -> f64 {
        self.cost[self.cell_of(p)]
    }

    /// The route from `p` to the goal as cell centres (steepest descent of the cost-to-go),
    /// ending at the goal itself.
    pub fn path(&self, p: [f64; 2]) -> Vec<[f64; 2]> {
        let mut out = vec![p];
        let goal_cell = self.cell_of(self.goal);
        let mut i = self.cell_of(p);
        while i != goal_cell {
            let (ix, iy) = ((i % self.nx) as i64, (i / self.nx) as i64);
            let next = NEIGHBOURS
                .iter()
                .filter_map(|(dx, dy)| {
                    let (jx, jy) = (ix + dx, iy + dy);
                    (jx >= 0 && jy >= 0 && jx < self.nx as i64 && jy < self.ny as i64)
                        .then(|| jy as usize * self.nx + jx as usize)
                })
                .min_by(|a, b| self.cost[*a].total_cmp(&self.cost[*b]));
            match next {
                Some(j) if self.cost[j] < self.cost[i] => i = j,
                _ => break,
            }
            out.push(self.centre(i));
        }
        out.push(self.goal);
        out
    }

    /// [`Route::path`] with its corners cut where the straight line keeps the clearance (each
    /// vertex the farthest path point in sight of the previous one): what the carrot follows.
    pub fn shortcut_path(&self, p: [f64; 2]) -> Vec<[f64; 2]> {
        let path = self.path(p);
        let mut out = vec![p];
        let mut i = 0;
        while i + 1 < path.len() {
            let mut j = i + 1;
            for (k, q) in path.iter().enumerate().skip(i + 2) {
                if !self.visible(path[i], *q) {
                    break;
                }
                j = k;
            }
            out.push(path[j]);
            i = j;
        }
        out
    }

    /// Whether the straight segment a → b keeps the clearance (or, with an end inside it —
    /// a robot near an obstacle, a point in a narrow passage — never gets closer to an
    /// obstacle than that end is; with [`RouteParams::exit_gain`] > 0, from inside, gains
    /// clearance at that rate along the way until it has it).
    pub fn visible(&self, a: [f64; 2], b: [f64; 2]) -> bool {
        let want = self.params.clearance + self.params.sight_margin;
        let base = want.min(self.clear[self.cell_of(b)]);
        let from_a = self.clear[self.cell_of(a)];
        let len = (b[0] - a[0]).hypot(b[1] - a[1]);
        let n = (2.0 * len / self.res).ceil().max(1.0) as usize;
        (0..=n).all(|k| {
            let f = k as f64 / n as f64;
            let q = [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
            // Within one cell of a, the grid cannot resolve a rise: a's own clearance.
            let rise = self.params.exit_gain * (f * len - self.res).max(0.0);
            let need = base.min(from_a + rise) - 1e-9;
            self.clear[self.cell_of(q)] >= need
        })
    }

    /// Centring between the obstacles beside `p`: half the difference of the planar clearance
    /// `probe` metres to the left and to the right of `p` across the unit direction of travel
    /// `dir` (positive: more room to the left), weighted from 0 at `clearance + soft_band` to 1
    /// at `clearance` and nearer. In a passage it is minus the offset from the middle (while
    /// that is under `probe`); beside a single obstacle it leads away from it, by at most
    /// `probe`; in the open it is 0.
    pub fn centring(&self, p: [f64; 2], dir: [f64; 2], probe: f64) -> f64 {
        let here = planar_clearance(&self.shapes, p[0], p[1]);
        let reach = self.params.clearance + self.params.soft_band;
        let w = ((reach - here) / self.params.soft_band.max(1e-9)).clamp(0.0, 1.0);
        if w == 0.0 {
            return 0.0;
        }
        let n = [-dir[1], dir[0]];
        let side = |k: f64| planar_clearance(&self.shapes, p[0] + k * n[0], p[1] + k * n[1]);
        w * 0.5 * (side(probe) - side(-probe))
    }

    /// The waypoint cost's target from `p`: the goal when it is within `lookahead` and in
    /// sight; otherwise the point `lookahead` metres from `p` towards the farthest point of the
    /// route still in sight (any-angle, so free space gives the straight line to the goal).
    pub fn carrot(&self, p: [f64; 2], lookahead: f64) -> [f64; 2] {
        let path = self.path(p);
        let mut aim = path[1.min(path.len() - 1)];
        for q in path.iter().skip(1) {
            if !self.visible(p, *q) {
                break;
            }
            aim = *q;
        }
        let d = (aim[0] - p[0]).hypot(aim[1] - p[1]);
        if d <= lookahead && aim == self.goal {
            return self.goal;
        }
        if d < 1e-9 {
            return aim;
        }
        let f = lookahead.min(d) / d;
        [p[0] + f * (aim[0] - p[0]), p[1] + f * (aim[1] - p[1])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(path: &[[f64; 2]]) -> f64 {
        path.windows(2)
            .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
            .sum()
    }

    #[test]
    fn free_space_route_is_straight() {
        let r = Route::new([3.0, 1.0], &[], [0.0, 0.0], RouteParams::default());
        let path = r.path([0.0, 0.0]);
        let straight = 10f64.sqrt();
        // An 8-connected grid path is at most 8 % longer than the straight line.
        assert!(len(&path) >= straight - 1e-9 && len(&path) < straight * 1.09);
        let c = r.carrot([0.0, 0.0], 1.0);
        let d = c[0].hypot(c[1]);
        assert!((d - 1.0).abs() < 0.1, "carrot at {d} m");
        // In free space it lies on the straight line to the goal.
        let ang = c[1].atan2(c[0]) - 1f64.atan2(3.0);
        assert!(ang.abs() < 1e-6, "carrot bearing off by {ang}");
        assert_eq!(r.carrot([2.8, 0.9], 1.0), [3.0, 1.0]);
    }

    #[test]
    fn route_keeps_its_clearance_around_a_wall() {
        // A wall across the straight line: the route goes round its end, keeping the clearance.
        let wall = Shape::Box {
            center: [2.0, 0.5, 0.5],
            half_extents: [0.1, 1.5, 0.5],
            yaw: 0.0,
        };
        let p = RouteParams::default();
        let r = Route::new([4.0, 0.0], &[wall], [0.0, 0.0], p);
        let path = r.path([0.0, 0.0]);
        let worst = path
            .iter()
            .map(|q| planar_clearance(&[wall], q[0], q[1]))
            .fold(f64::INFINITY, f64::min);
        assert!(worst >= p.clearance - p.resolution, "clearance {worst}");
        // Round the lower end (y < −1 − clearance), not through the wall.
        let lowest = path.iter().map(|q| q[1]).fold(f64::INFINITY, f64::min);
        assert!(
            lowest < -1.0 - p.clearance + p.resolution,
            "lowest y {lowest}"
        );
        assert!(len(&path) < 6.5, "path length {}", len(&path));
        // Cutting corners keeps the clearance and shortens the path.
        let short = r.shortcut_path([0.0, 0.0]);
        assert!(short.len() < path.len() && len(&short) < len(&path));
        for w in short.windows(2) {
            for k in 0..=20 {
                let f = k as f64 / 20.0;
                let q = [
                    w[0][0] + f * (w[1][0] - w[0][0]),
                    w[0][1] + f * (w[1][1] - w[0][1]),
                ];
                let c = planar_clearance(&[wall], q[0], q[1]);
                assert!(
                    c >= p.clearance - p.resolution,
                    "shortcut clearance {c} at {q:?}"
                );
            }
        }
        // From the start the carrot leads round the wall's lower end, not into it.
        let c = r.carrot([0.0, 0.0], 1.0);
        assert!((c[0].hypot(c[1]) - 1.0).abs() < 1e-6, "carrot {c:?}");
        assert!(c[1] < -0.3, "carrot {c:?} does not head round the wall");
    }

    /// A corridor 0.7 m wide and 1 m long, walls out from its mouth to ±3 m (as the generated
    /// courses build one): with the clearance alone the route goes round; with a narrower
    /// `min_clearance` it goes through, down the middle, and the carrot sees into it.
    #[test]
    fn a_narrow_passage_is_taken_down_its_middle_when_allowed() {
        let wall = |c: [f64; 2], h: [f64; 2]| Shape::Box {
            center: [c[0], c[1], 0.6],
            half_extents: [h[0], h[1], 0.6],
            yaw: 0.0,
        };
        let (w, t) = (0.7, 0.15);
        let shapes = [
            wall([2.5, w / 2.0 + t], [0.5, t]),
            wall([2.5, -w / 2.0 - t], [0.5, t]),
            wall([2.0 + t, 1.5 + w / 4.0 + t], [t, 1.5 - w / 4.0]),
            wall([2.0 + t, -1.5 - w / 4.0 - t], [t, 1.5 - w / 4.0]),
        ];
        let (start, goal) = ([0.5, 0.0], [4.5, 0.0]);
        let through = |p: &RouteParams| {
            let r = Route::new(goal, &shapes, start, *p);
            let path = r.path(start);
            let ys: Vec<f64> = path
                .iter()
                .filter(|q| (2.2..2.8).contains(&q[0]))
                .map(|q| q[1])
                .collect();
            (r, ys)
        };
        let p = RouteParams::default();
        let (_, ys) = through(&p);
        assert!(
            !ys.is_empty() && ys.iter().all(|y| y.abs() > 1.0),
            "without min_clearance the route should go round: {ys:?}"
        );
        let narrow = RouteParams {
            min_clearance: 0.3,
            ..p
        };
        let (r, ys) = through(&narrow);
        assert!(!ys.is_empty(), "no path point in the corridor");
        for y in &ys {
            assert!(y.abs() <= narrow.resolution + 1e-9, "{y} off the middle");
        }
        // From the mouth, the carrot heads into the corridor, not back round it.
        let c = r.carrot([1.6, 0.0], 1.0);
        assert!(c[0] > 2.3 && c[1].abs() < 0.1, "carrot {c:?}");
    }

    /// The centring: in a 0.9 m corridor, minus the offset from its middle (0 there); beside a
    /// single wall, away from it by the probe at most; nothing out in the open.
    #[test]
    fn the_centring_leads_to_the_middle_of_a_passage() {
        let wall = |y: f64| Shape::Box {
            center: [2.0, y, 0.6],
            half_extents: [2.0, 0.15, 0.6],
            yaw: 0.0,
        };
        let (half, t) = (0.45, 0.15);
        let corridor = Route::new(
            [6.0, 0.0],
            &[wall(half + t), wall(-half - t)],
            [0.0, 0.0],
            RouteParams::default(),
        );
        let east = [1.0, 0.0];
        assert!(corridor.centring([2.0, 0.0], east, 0.15).abs() < 1e-9);
        for off in [-0.12, -0.05, 0.03, 0.1] {
            let c = corridor.centring([2.0, off], east, 0.15);
            // Clearance 0.45 − |off| in 0.4 + 0.3: weight (0.7 − 0.45 + |off|) / 0.3.
            let w = ((0.25 + f64::abs(off)) / 0.3).min(1.0);
            assert!((c + w * off).abs() < 1e-9, "offset {off}: {c}");
        }
        // Travelling west, left is −y: the sign follows the direction of travel.
        let c = corridor.centring([2.0, 0.1], [-1.0, 0.0], 0.15);
        assert!(c > 0.0, "{c}");
        // One wall to the right (y < 0), 0.5 m away: a push to the left of one probe,
        // weighted (0.7 − 0.5) / 0.3.
        let one = Route::new(
            [6.0, 0.0],
            &[wall(-0.5 - t)],
            [0.0, 0.0],
            RouteParams::default(),
        );
        let c = one.centring([2.0, 0.0], east, 0.15);
        assert!((c - 0.15 * 0.2 / 0.3).abs() < 1e-9, "{c}");
        // Beyond the soft band: nothing.
        assert_eq!(one.centring([2.0, 0.3], east, 0.15), 0.0);
    }

    #[test]
    fn a_robot_inside_the_clearance_is_led_out() {
        let post = Shape::Cylinder {
            center: [1.0, 0.0],
            radius: 0.3,
            height: 1.5,
        };
        let r = Route::new([3.0, 0.0], &[post], [0.0, 0.0], RouteParams::default());
        let p = [1.0, 0.45];
        let path = r.path(p);
        assert_eq!(*path.last().expect("path"), [3.0, 0.0]);
        assert!(r.cost_to_go(p).is_finite());
    }

    /// A robot that has drifted inside the clearance of a post on its way round it: without
    /// the exit gain its carrot runs on round the post at the robot's smaller distance (the
    /// chord stays as far out as the robot is); with it, the carrot leads back out.
    #[test]
    fn the_exit_gain_leads_a_robot_out_of_the_clearance() {
        let post = Shape::Cylinder {
            center: [1.0, 0.0],
            radius: 0.3,
            height: 1.5,
        };
        // 0.25 m from the surface (inside the 0.4 m clearance), beside the post.
        let p = [1.0, 0.55];
        let dist = |q: [f64; 2]| planar_clearance(&[post], q[0], q[1]);
        let end = |gain: f64| {
            let params = RouteParams {
                exit_gain: gain,
                ..RouteParams::default()
            };
            let r = Route::new([3.0, 0.0], &[post], [0.0, 0.0], params);
            // The clearance 0.3 m from the robot towards its carrot.
            let c = r.carrot(p, 1.0);
            let n = (c[0] - p[0]).hypot(c[1] - p[1]);
            dist([
                p[0] + 0.3 * (c[0] - p[0]) / n,
                p[1] + 0.3 * (c[1] - p[1]) / n,
            ])
        };
        let (off, on) = (end(0.0), end(0.5));
        assert!(off < 0.3, "without the gain the way stays close: {off}");
        assert!(
            on > 0.35,
            "with it the way leads out: {on} (without: {off})"
        );
    }

    /// A post just off the straight line: the carrot's line of sight cuts the route's corner
    /// at the clearance; with a sight margin it keeps that much more (where the ends allow),
    /// and a passage narrower than clearance + margin is still seen into.
    #[test]
    fn the_sight_margin_cuts_corners_further_out() {
        let post = Shape::Cylinder {
            center: [1.5, 0.3],
            radius: 0.3,
            height: 1.5,
        };
        let dist = |q: [f64; 2]| planar_clearance(&[post], q[0], q[1]);
        let closest = |margin: f64| {
            let params = RouteParams {
                sight_margin: margin,
                ..RouteParams::default()
            };
            let r = Route::new([4.0, 0.0], &[post], [0.0, 0.0], params);
            let p = [0.0, 0.0];
            let c = r.carrot(p, 5.0);
            // The least clearance along the line from the robot to its carrot.
            (0..=100)
                .map(|k| {
                    let f = k as f64 / 100.0;
                    dist([p[0] + f * (c[0] - p[0]), p[1] + f * (c[1] - p[1])])
                })
                .fold(f64::INFINITY, f64::min)
        };
        let p = RouteParams::default();
        let (off, on) = (closest(0.0), closest(0.2));
        assert!(
            off >= p.clearance - p.resolution && off < p.clearance + 0.1,
            "without the margin the line grazes the clearance: {off}"
        );
        assert!(
            on >= p.clearance + 0.2 - p.resolution,
            "with it the line keeps the margin too: {on} (without: {off})"
        );
        // Two posts 0.9 m apart (0.45 m either side of the middle, less than clearance +
        // margin): a robot at the gap's mouth still aims into it.
        let posts = [
            Shape::Cylinder {
                center: [2.0, 0.75],
                radius: 0.3,
                height: 1.5,
            },
            Shape::Cylinder {
                center: [2.0, -0.75],
                radius: 0.3,
                height: 1.5,
            },
        ];
        let params = RouteParams {
            sight_margin: 0.2,
            ..RouteParams::default()
        };
        let r = Route::new([4.0, 0.0], &posts, [0.0, 0.0], params);
        let c = r.carrot([1.0, 0.0], 1.0);
        assert!(c[0] > 1.9 && c[1].abs() < 0.1, "carrot {c:?}");
    }

    /// A goal 2 km away: a coarser grid within the cell budget, not a 13 GB allocation, and
    /// the route still leads towards the goal.
    #[test]
    fn a_far_goal_gets_a_coarser_grid() {
        let r = Route::new([2000.0, 500.0], &[], [0.0, 0.0], RouteParams::default());
        assert!(r.nx * r.ny <= MAX_CELLS, "{} × {}", r.nx, r.ny);
        assert!(r.res > RouteParams::default().resolution);
        let c = r.carrot([0.0, 0.0], 5.0);
        let dir = (c[1].atan2(c[0]) - 500f64.atan2(2000.0)).abs();
        assert!(dir < 0.05, "carrot {c:?}");
        // Non-finite input does not hang or panic.
        let _ = Route::new([f64::NAN, 1.0], &[], [0.0, 0.0], RouteParams::default());
        let _ = Route::new(
            [f64::INFINITY, 1.0],
            &[],
            [0.0, 0.0],
            RouteParams::default(),
        );
    }
}
