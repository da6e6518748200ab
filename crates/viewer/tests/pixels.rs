//! The rendered picture against independent facts: where MuJoCo puts the G1's bodies, where
//! an obstacle stands, what a plan's markers say; rendered offscreen (no display).

use std::path::PathBuf;

use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::NUM_JOINTS;
use g1_msgs::builtin_interfaces::Time;
use g1_msgs::g1d::{Obstacle, ObstacleArray};
use g1_msgs::geometry_msgs::{Point, Pose, Quaternion, Vector3 as V3};
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::sensor_msgs::JointState;
use g1_msgs::std_msgs::{ColorRGBA, Header};
use g1_msgs::visualization_msgs::{Marker, MarkerArray};
use g1_viewer::render::Offscreen;
use g1_viewer::{Timeline, ViewOptions};

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets")
}

fn opts() -> ViewOptions {
    ViewOptions {
        width: 640,
        height: 480,
        ..ViewOptions::new(assets().join("g1/mjcf/g1.xml"))
    }
}

/// A G1 pose away from the default one: turned, stepping, an arm raised.
fn pose(turn: f64) -> ([f64; 3], UnitQuaternion<f64>, [f64; NUM_JOINTS]) {
    let mut q = [0.0; NUM_JOINTS];
    let set = |q: &mut [f64; NUM_JOINTS], name: &str, v: f64| {
        let j = g1::JOINTS.iter().position(|r| r.name == name).unwrap();
        q[j] = v;
    };
    set(&mut q, "left_hip_pitch", -0.5);
    set(&mut q, "left_knee", 0.9);
    set(&mut q, "left_ankle_pitch", -0.4);
    set(&mut q, "right_shoulder_pitch", -1.2);
    set(&mut q, "right_elbow", 0.6);
    (
        [0.4, -0.2, 0.76],
        UnitQuaternion::from_euler_angles(0.0, 0.05, turn),
        q,
    )
}

fn feed(tl: &mut Timeline, t: f64, p: [f64; 3], r: &UnitQuaternion<f64>, q: &[f64; NUM_JOINTS]) {
    let stamp = Time::from_secs_f64(t);
    tl.joint_state(
        t,
        &JointState {
            header: Header::new(stamp, "pelvis"),
            name: g1::JOINTS.iter().map(|j| j.model_name()).collect(),
            position: q.to_vec(),
            velocity: vec![0.0; NUM_JOINTS],
            effort: vec![],
        },
    );
    let mut o = Odometry::default();
    o.pose.pose.position = Point {
        x: p[0],
        y: p[1],
        z: p[2],
    };
    o.pose.pose.orientation = Quaternion {
        x: r.i,
        y: r.j,
        z: r.k,
        w: r.w,
    };
    tl.odometry(t, "/sim/odom", &o);
}

fn cylinder(x: f64, y: f64) -> Obstacle {
    Obstacle {
        shape: Obstacle::CYLINDER,
        pose: Pose {
            position: Point { x, y, z: 0.5 },
            ..Pose::default()
        },
        dimensions: V3 {
            x: 0.25,
            y: 0.0,
            z: 0.5,
        },
    }
}

fn rgb(img: &image::RgbImage, p: [f32; 2]) -> [f32; 3] {
    let px = img.get_pixel(p[0].round() as u32, p[1].round() as u32).0;
    px.map(|c| c as f32 / 255.0)
}

fn differs_near(a: &image::RgbImage, b: &image::RgbImage, p: [f32; 2], r: i32) -> bool {
    let (cx, cy) = (p[0].round() as i32, p[1].round() as i32);
    (-r..=r).any(|dx| {
        (-r..=r).any(|dy| {
            let (x, y) = ((cx + dx) as u32, (cy + dy) as u32);
            let (pa, pb) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            pa.iter()
                .zip(pb.iter())
                .map(|(u, v)| (*u as i32 - *v as i32).abs())
                .sum::<i32>()
                > 30
        })
    })
}

/// The robot's silhouette is where MuJoCo's kinematics puts its bodies; outside the bodies'
/// reach nothing changes when the robot is drawn; the obstacle is in the frame, in its colour.
#[test]
fn the_robot_is_where_mujoco_puts_it_and_the_obstacle_is_in_the_frame() {
    let (p, r, q) = pose(0.6);
    // MuJoCo's own kinematics of the same state.
    let mut sim = g1_sim::Sim::new(&assets(), g1_sim::SimConfig::default()).unwrap();
    let mut init = g1_sim::InitialState::standing(p[2]);
    init.root = g1::RootState::at_rest(Vector3::from(p), r);
    init.q = q;
    sim.reset(&init, 0).unwrap();

    let mut tl = Timeline::new();
    feed(&mut tl, 0.0, p, &r, &q);
    tl.obstacles(
        0.0,
        &ObstacleArray {
            header: Header::default(),
            obstacles: vec![cylinder(1.6, 0.9)],
        },
    );
    let s = tl.at(0.0).unwrap();
    let mut view = Offscreen::new(&opts()).unwrap();
    let with = view.render(&s);
    view.stage.show_robot = false;
    let without = view.render(&s);
    assert_eq!(with.dimensions(), (640, 480));
    if let Ok(dir) = std::env::var("G1D_VIEW_TEST_OUT") {
        with.save(format!("{dir}/robot.png")).unwrap();
        without.save(format!("{dir}/world.png")).unwrap();
    }

    let bodies = [
        "pelvis",
        "torso_link",
        "left_knee_link",
        "right_knee_link",
        "left_ankle_roll_link",
        "right_ankle_roll_link",
        "right_elbow_link",
        "left_elbow_link",
    ];
    let mut pts = vec![];
    for name in bodies {
        let b = g1::BODIES.iter().position(|r| r.name == name).unwrap();
        let (pos, _) = sim.mujoco_body_pose(b);
        let px = view.project(pos);
        assert!(
            differs_near(&with, &without, px, 4),
            "{name}: nothing of the robot drawn at {px:?}, where MuJoCo puts it"
        );
        pts.push(px);
    }
    // Everything the robot changed lies near where its bodies project (no stray parts).
    let (lo, hi) = pts
        .iter()
        .fold(([f32::MAX; 2], [f32::MIN; 2]), |(lo, hi), p| {
            (
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            )
        });
    let margin = 60.0;
    let mut changed = 0;
    for (x, y, a) in with.enumerate_pixels() {
        let b = without.get_pixel(x, y);
        let d: i32 =
            a.0.iter()
                .zip(b.0.iter())
                .map(|(u, v)| (*u as i32 - *v as i32).abs())
                .sum();
        if d > 30 && y > 80 {
            changed += 1;
            let (x, y) = (x as f32, y as f32);
            assert!(
                x > lo[0] - margin
                    && x < hi[0] + margin
                    && y > lo[1] - margin
                    && y < hi[1] + margin,
                "pixel ({x}, {y}) changed by the robot, far from its bodies ({lo:?}–{hi:?})"
            );
        }
    }
    assert!(changed > 2000, "the robot covers only {changed} pixels");

    let c = rgb(&with, view.project([1.6, 0.9, 0.5]));
    assert!(
        c[0] > 0.45 && c[0] > 1.3 * c[1] && c[0] > 2.0 * c[2],
        "obstacle pixel {c:?}"
    );
}

/// The plan's markers are drawn where they say, in the plan's colour; another moment of the
/// recording gives another picture.
#[test]
fn plans_and_time_show() {
    let (p, r, q) = pose(0.0);
    let mut tl = Timeline::new();
    feed(&mut tl, 10.0, p, &r, &q);
    let ahead: Vec<Point> = (1..=8)
        .map(|i| Point {
            x: p[0] + 0.15 * i as f64,
            y: p[1],
            z: 0.02,
        })
        .collect();
    let bodies = Marker {
        ns: "plan_bodies".into(),
        points: vec![Point {
            x: p[0] + 0.9,
            y: p[1] - 0.5,
            z: 0.05,
        }],
        color: ColorRGBA {
            r: 0.2,
            g: 0.5,
            b: 1.0,
            a: 1.0,
        },
        ..Marker::default()
    };
    let roots = Marker {
        ns: "plan_root".into(),
        points: ahead,
        ..Marker::default()
    };
    tl.plan_markers(
        10.0,
        &MarkerArray {
            markers: vec![roots, bodies],
        },
    );
    let (_, r2, q2) = pose(1.2);
    feed(&mut tl, 12.0, [p[0] + 0.3, p[1] + 0.2, p[2]], &r2, &q2);
    let mut view = Offscreen::new(&opts()).unwrap();
    let s0 = tl.at(0.0).unwrap();
    let a = view.render(&s0);
    let c = rgb(&a, view.project([p[0] + 0.9, p[1] - 0.5, 0.05]));
    assert!(c[2] > 0.6 && c[2] > 1.5 * c[0], "plan body pixel {c:?}");
    let g = rgb(&a, view.project([p[0] + 1.05, p[1], 0.02]));
    assert!(
        g[1] > 0.5 && g[1] > 1.5 * g[0] && g[1] > 1.5 * g[2],
        "plan root pixel {g:?}"
    );
    let b = view.render(&tl.at(2.0).unwrap());
    let changed = a
        .pixels()
        .zip(b.pixels())
        .filter(|(u, v)| u.0.iter().zip(v.0.iter()).any(|(x, y)| x.abs_diff(*y) > 20))
        .count();
    assert!(
        changed > 640 * 480 / 100,
        "only {changed} pixels differ between 0 s and 2 s"
    );
}
