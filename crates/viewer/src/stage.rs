//! The kiss3d scene of one moment: the G1 from its meshes posed by forward kinematics, the
//! world's obstacles and the goal as solids; the plan, the paths, the route and the commanded
//! velocity as points and lines; the status as text.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use g1::nalgebra::{UnitQuaternion, Vector3};
use g1_msgs::g1d::Obstacle;
use kiss3d::prelude::*;

use crate::robot::{read_stl, visual_parts};
use crate::timeline::Snapshot;

/// Colours of the picture (also what the pixel tests look for).
pub mod colors {
    use kiss3d::color::Color;
    pub const BACKGROUND: Color = Color::new(0.80, 0.86, 0.92, 1.0);
    pub const FLOOR: Color = Color::new(0.62, 0.63, 0.60, 1.0);
    pub const GRID: Color = Color::new(0.50, 0.51, 0.49, 1.0);
    pub const OBSTACLE: Color = Color::new(0.90, 0.42, 0.10, 1.0);
    pub const GOAL: Color = Color::new(0.20, 0.75, 0.25, 1.0);
    pub const PLAN_ROOT: Color = Color::new(0.05, 0.85, 0.20, 1.0);
    pub const PLAN_BODY: Color = Color::new(0.10, 0.35, 1.00, 1.0);
    pub const PATH: Color = Color::new(0.95, 0.80, 0.05, 1.0);
    pub const ROUTE: Color = Color::new(0.60, 0.20, 0.80, 1.0);
    pub const COMMAND: Color = Color::new(0.0, 0.55, 0.75, 1.0);
    pub const ALERT: Color = Color::new(0.95, 0.05, 0.05, 1.0);
    pub const TEXT: Color = Color::new(0.05, 0.05, 0.08, 1.0);
}

/// The radius of the goal disc (the evaluation's reach distance).
pub const GOAL_RADIUS_M: f32 = 0.3;

fn v3(p: [f64; 3]) -> Vec3 {
    Vec3::new(p[0] as f32, p[1] as f32, p[2] as f32)
}

fn quat(q: &UnitQuaternion<f64>) -> Quat {
    let c = q.coords; // x, y, z, w
    Quat::from_xyzw(c[0] as f32, c[1] as f32, c[2] as f32, c[3] as f32)
}

struct PartNode {
    node: SceneNode3d,
    body: usize,
    pos: Vector3<f64>,
    rot: UnitQuaternion<f64>,
}

/// The scene and what moves in it.
pub struct Stage {
    pub scene: SceneNode3d,
    parts: Vec<PartNode>,
    world: SceneNode3d,
    drawn_obstacles: Vec<Obstacle>,
    goal: SceneNode3d,
    font: Arc<Font>,
    /// Draw the robot (off: only the world, e.g. for a test's reference frame).
    pub show_robot: bool,
    /// Draw the plan, the paths and the route.
    pub show_plan: bool,
}

impl Stage {
    /// The stage with the G1 dressed from the MJCF at `mjcf` (the project's
    /// `assets/g1/mjcf/g1.xml`).
    pub fn new(mjcf: &Path) -> Result<Self> {
        let mut scene = SceneNode3d::empty();
        scene
            .add_light(Light::directional(Vec3::new(-0.4, -0.3, -1.0)).with_intensity(2.2))
            .set_position(Vec3::new(0.0, 0.0, 10.0));
        let mut floor = scene.add_cube(60.0, 60.0, 0.02);
        floor.set_color(colors::FLOOR);
        floor.set_position(Vec3::new(0.0, 0.0, -0.011));
        let mut parts = vec![];
        for p in visual_parts(mjcf)? {
            let m = read_stl(&p.mesh_file)?;
            let vertices: Vec<Vec3> = m
                .vertices
                .iter()
                .map(|v| Vec3::new(v[0], v[1], v[2]))
                .collect();
            let mesh = Rc::new(RefCell::new(GpuMesh3d::new(
                vertices,
                m.triangles,
                None,
                None,
                false,
            )));
            let mut node = scene.add_mesh(mesh, Vec3::ONE);
            node.set_color(Color::new(p.rgba[0], p.rgba[1], p.rgba[2], 1.0));
            parts.push(PartNode {
                node,
                body: p.body,
                pos: Vector3::from(p.pos),
                rot: UnitQuaternion::from_quaternion(g1::nalgebra::Quaternion::new(
                    p.quat[0], p.quat[1], p.quat[2], p.quat[3],
                )),
            });
        }
        let world = scene.add_group();
        let mut goal = scene.add_cylinder(GOAL_RADIUS_M, 0.01);
        goal.set_color(colors::GOAL);
        goal.set_rotation(Quat::from_rotation_x(std::f32::consts::FRAC_PI_2));
        goal.set_visible(false);
        Ok(Self {
            scene,
            parts,
            world,
            drawn_obstacles: vec![],
            goal,
            font: Font::default(),
            show_robot: true,
            show_plan: true,
        })
    }

    /// Poses the robot and rebuilds the world if its obstacles changed.
    pub fn update(&mut self, s: &Snapshot) {
        for p in &mut self.parts {
            let (bp, bq) = (s.kin.pos_w[p.body], s.kin.quat_w[p.body]);
            let pos = bp + bq * p.pos;
            let rot = bq * p.rot;
            p.node
                .set_pose(Pose3::from_parts(v3([pos.x, pos.y, pos.z]), quat(&rot)));
            p.node.set_visible(self.show_robot);
        }
        if s.obstacles != self.drawn_obstacles {
            self.world.remove();
            self.world = self.scene.add_group();
            for o in &s.obstacles {
                add_obstacle(&mut self.world, o);
            }
            self.drawn_obstacles = s.obstacles.clone();
        }
        match s.goal {
            Some(g) => {
                self.goal
                    .set_position(Vec3::new(g[0] as f32, g[1] as f32, 0.006));
                self.goal.set_visible(true);
            }
            None => {
                self.goal.set_visible(false);
            }
        }
    }

    /// The lines and points of `s` (drawn with the next frame): floor grid, executed path,
    /// route, plan, commanded velocity, contact and fall marks.
    pub fn draw_marks(&self, w: &mut Window, s: &Snapshot) {
        let c = s.root.pos_w;
        let (cx, cy) = (c.x.round() as i32, c.y.round() as i32);
        for k in -8..=8 {
            let (x, y) = ((cx + k) as f32, (cy + k) as f32);
            let (x0, x1) = ((cx - 8) as f32, (cx + 8) as f32);
            let (y0, y1) = ((cy - 8) as f32, (cy + 8) as f32);
            w.draw_line(
                Vec3::new(x, y0, 0.001),
                Vec3::new(x, y1, 0.001),
                colors::GRID,
                1.0,
                false,
            );
            w.draw_line(
                Vec3::new(x0, y, 0.001),
                Vec3::new(x1, y, 0.001),
                colors::GRID,
                1.0,
                false,
            );
        }
        if self.show_plan {
            let lift = |p: &[f64; 3]| Vec3::new(p[0] as f32, p[1] as f32, 0.01);
            for ab in s.path.windows(2) {
                w.draw_line(lift(&ab[0]), lift(&ab[1]), colors::PATH, 3.0, false);
            }
            for ab in s.route.windows(2) {
                let (a, b) = ([ab[0][0], ab[0][1], 0.0], [ab[1][0], ab[1][1], 0.0]);
                w.draw_line(lift(&a), lift(&b), colors::ROUTE, 2.0, false);
            }
            if let Some(plan) = &s.plan {
                for ab in plan.roots.windows(2) {
                    w.draw_line(v3(ab[0]), v3(ab[1]), colors::PLAN_ROOT, 3.0, false);
                }
                for r in &plan.roots {
                    w.draw_point(v3(*r), colors::PLAN_ROOT, 7.0);
                }
                for (alpha, bodies) in &plan.bodies {
                    let a = alpha.clamp(0.15, 1.0);
                    let col = mix(colors::BACKGROUND, colors::PLAN_BODY, a);
                    for b in bodies {
                        w.draw_point(v3(*b), col, 6.0);
                    }
                }
            }
        }
        if let Some(cmd) = s.cmd {
            // The commanded planar velocity, in the robot's heading frame, as an arrow of
            // 1 m per m/s from the pelvis' ground point; the yaw rate as an arc.
            let yaw = g1::bodypos::heading_yaw(&s.root.quat_w) as f32;
            let (sy, cy) = yaw.sin_cos();
            let v = Vec3::new(
                cy * cmd[0] as f32 - sy * cmd[1] as f32,
                sy * cmd[0] as f32 + cy * cmd[1] as f32,
                0.0,
            );
            let base = Vec3::new(c.x as f32, c.y as f32, 0.02);
            if v.length() > 1e-3 {
                let tip = base + v;
                let back = -v.normalize() * 0.12;
                let side = Vec3::new(-back.y, back.x, 0.0) * 0.6;
                w.draw_line(base, tip, colors::COMMAND, 4.0, false);
                w.draw_line(tip, tip + back + side, colors::COMMAND, 4.0, false);
                w.draw_line(tip, tip + back - side, colors::COMMAND, 4.0, false);
            }
            let wz = cmd[2] as f32;
            if wz.abs() > 1e-3 {
                let n = 12;
                let arc: Vec<Vec3> = (0..=n)
                    .map(|i| {
                        let a = yaw + wz * i as f32 / n as f32;
                        base + Vec3::new(a.cos(), a.sin(), 0.0) * 0.35
                    })
                    .collect();
                for ab in arc.windows(2) {
                    w.draw_line(ab[0], ab[1], colors::COMMAND, 3.0, false);
                }
            }
        }
        if s.status.touching {
            ring(
                w,
                Vec3::new(c.x as f32, c.y as f32, 0.03),
                0.45,
                colors::ALERT,
            );
        }
        if s.fell_at.is_some() {
            let p = Vec3::new(c.x as f32, c.y as f32, 0.03);
            let d = 0.3;
            w.draw_line(
                p + Vec3::new(-d, -d, 0.0),
                p + Vec3::new(d, d, 0.0),
                colors::ALERT,
                5.0,
                false,
            );
            w.draw_line(
                p + Vec3::new(-d, d, 0.0),
                p + Vec3::new(d, -d, 0.0),
                colors::ALERT,
                5.0,
                false,
            );
        }
    }

    /// The status lines at the top left (`extra` below them: playback state, key help).
    pub fn draw_status(&self, w: &mut Window, s: &Snapshot, extra: &[String]) {
        let st = &s.status;
        let mode = match (&st.mode, &st.controller) {
            (Some(m), _) => format!("mode {m}"),
            (None, Some(c)) => format!("controller {c}"),
            (None, None) => "mode -".into(),
        };
        let mut lines = vec![format!(
            "t {:6.2} s   {mode}   plan {}   gate {}",
            s.t,
            st.plan_ms.map_or("-".into(), |v| format!("{v:.1} ms")),
            st.gate.map_or("-".into(), |v| format!("{v:.2}")),
        )];
        let mut second = format!(
            "pelvis ({:+.2}, {:+.2}, {:.2}) m",
            s.root.pos_w.x, s.root.pos_w.y, s.root.pos_w.z
        );
        if let Some(c) = s.cmd {
            second += &format!(
                "   command ({:+.2}, {:+.2}) m/s {:+.2} rad/s",
                c[0], c[1], c[2]
            );
        }
        if let Some(g) = s.goal {
            let d = (g[0] - s.root.pos_w.x).hypot(g[1] - s.root.pos_w.y);
            second += &format!("   goal {d:.2} m away");
        }
        lines.push(second);
        let mut alerts = vec![];
        if st.contact_steps > 0 || st.touching {
            alerts.push(format!(
                "{}obstacle contact: {} steps",
                if st.touching { "TOUCHING  " } else { "" },
                st.contact_steps
            ));
        }
        if let Some(f) = s.fell_at {
            alerts.push(format!("FELL at {f:.2} s"));
        }
        let size = 30.0;
        let mut y = 8.0;
        for l in &lines {
            w.draw_text(l, Vec2::new(10.0, y), size, &self.font, colors::TEXT);
            y += size * 1.1;
        }
        for l in &alerts {
            w.draw_text(l, Vec2::new(10.0, y), size, &self.font, colors::ALERT);
            y += size * 1.1;
        }
        for l in extra {
            w.draw_text(l, Vec2::new(10.0, y), size * 0.8, &self.font, colors::TEXT);
            y += size * 0.9;
        }
    }
}

fn mix(a: Color, b: Color, t: f32) -> Color {
    Color::new(
        a.r + (b.r - a.r) * t,
        a.g + (b.g - a.g) * t,
        a.b + (b.b - a.b) * t,
        1.0,
    )
}

fn ring(w: &mut Window, c: Vec3, r: f32, col: Color) {
    let n = 24;
    for i in 0..n {
        let a0 = i as f32 / n as f32 * std::f32::consts::TAU;
        let a1 = (i + 1) as f32 / n as f32 * std::f32::consts::TAU;
        w.draw_line(
            c + Vec3::new(a0.cos(), a0.sin(), 0.0) * r,
            c + Vec3::new(a1.cos(), a1.sin(), 0.0) * r,
            col,
            4.0,
            false,
        );
    }
}

/// One obstacle as a solid (msg/Obstacle.msg: a sphere's radius in x; a box's half extents;
/// a cylinder's radius in x and half height in z; yaw in the pose).
fn add_obstacle(world: &mut SceneNode3d, o: &Obstacle) {
    let p = &o.pose.position;
    let q = &o.pose.orientation;
    let d = &o.dimensions;
    let at = Vec3::new(p.x as f32, p.y as f32, p.z as f32);
    let yaw = Quat::from_xyzw(q.x as f32, q.y as f32, q.z as f32, q.w as f32).normalize();
    let mut node = match o.shape {
        Obstacle::SPHERE => world.add_sphere(d.x as f32),
        Obstacle::BOX => world.add_cube(2.0 * d.x as f32, 2.0 * d.y as f32, 2.0 * d.z as f32),
        Obstacle::CYLINDER => {
            let mut n = world.add_cylinder(d.x as f32, 2.0 * d.z as f32);
            // kiss3d's cylinders stand along y; the world's along z.
            n.set_rotation(yaw * Quat::from_rotation_x(std::f32::consts::FRAC_PI_2));
            n.set_position(at);
            n.set_color(colors::OBSTACLE);
            return;
        }
        _ => return,
    };
    node.set_rotation(yaw);
    node.set_position(at);
    node.set_color(colors::OBSTACLE);
}

/// The camera: orbiting, z up, following the robot unless told not to.
pub fn camera() -> OrbitCamera3d {
    let mut c = OrbitCamera3d::new(Vec3::new(-2.6, -3.2, 2.0), Vec3::new(0.0, 0.0, 0.6));
    c.set_up_axis(Vec3::Z);
    c
}

/// Points the camera at the robot (keeping its direction and distance).
pub fn follow(c: &mut OrbitCamera3d, s: &Snapshot) {
    let p = s.root.pos_w;
    c.set_at(Vec3::new(p.x as f32, p.y as f32, 0.6));
}

/// A readable error for a mesh directory that cannot be used.
pub fn check_assets(mjcf: &Path) -> Result<()> {
    visual_parts(mjcf)
        .map(|_| ())
        .with_context(|| format!("the G1's model at {}", mjcf.display()))
}
