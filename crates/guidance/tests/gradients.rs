//! Every cost's gradient against central finite differences, through de-normalisation; the
//! yaw of a rotation vector against nalgebra; SDFs against closed-form distances.

use g1::bodypos::layout;
use g1::nalgebra::{UnitQuaternion, Vector3};
use g1::{NUM_BODIES, STATE_DIM};
use g1_diffusion::Stats;
use g1_guidance::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A plausible physical trajectory: root drifting forward with a yaw, bodies around the root.
fn trajectory(r: &mut ChaCha8Rng) -> Vec<f64> {
    let mut x = vec![0.0; STEPS * STATE_DIM];
    for t in 0..STEPS {
        let o = t * STATE_DIM;
        let s = (t as f64 - NOW as f64) * 0.02;
        x[o] = 0.6 * s + r.gen_range(-0.05..0.05);
        x[o + 1] = 0.2 * s + r.gen_range(-0.05..0.05);
        x[o + 2] = 0.75 + r.gen_range(-0.02..0.02);
        for k in 3..6 {
            x[o + k] = r.gen_range(-0.4..0.4);
        }
        for k in 6..12 {
            x[o + k] = r.gen_range(-0.8..0.8);
        }
        for b in 0..NUM_BODIES {
            let q = o + layout::body_pos(b).start;
            x[q] = r.gen_range(-0.3..0.3);
            x[q + 1] = r.gen_range(-0.3..0.3);
            x[q + 2] = r.gen_range(0.05..1.3);
        }
    }
    x
}

fn stats(r: &mut ChaCha8Rng) -> Stats {
    Stats {
        state_mean: (0..STATE_DIM).map(|_| r.gen_range(-0.5..0.5)).collect(),
        state_std: (0..STATE_DIM).map(|_| r.gen_range(0.1..2.0)).collect(),
        action_mean: vec![0.0; 29],
        action_std: vec![1.0; 29],
    }
}

fn normalise(x: &[f64], s: &Stats) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, v)| (v - s.state_mean[i % STATE_DIM]) / s.state_std[i % STATE_DIM])
        .collect()
}

/// Compares the analytic gradient of `g` at normalised `xn` with central differences on every
/// coordinate; returns the worst relative error.
fn check(g: &Guidance, xn: &[f64], s: &Stats, f: impl Fn(&[f64]) -> f64) -> f64 {
    let mut grad = vec![0.0; xn.len()];
    g.eval_normalised_f64(xn, s, &mut grad);
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    let mut nonzero = 0;
    for i in 0..xn.len() {
        let mut p = xn.to_vec();
        p[i] += h;
        let mut m = xn.to_vec();
        m[i] -= h;
        let fd = (f(&p) - f(&m)) / (2.0 * h);
        let err = (fd - grad[i]).abs() / (1.0 + fd.abs().max(grad[i].abs()));
        worst = worst.max(err);
        if grad[i].abs() > 1e-9 {
            nonzero += 1;
        }
    }
    assert!(nonzero > 0, "gradient is identically zero");
    worst
}

fn value(g: &Guidance, xn: &[f64], s: &Stats) -> f64 {
    let mut tmp = vec![0.0; xn.len()];
    g.eval_normalised_f64(xn, s, &mut tmp)
}

#[test]
fn joystick_approach_gradient_matches_finite_differences() {
    let mut r = rng(11);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let mut g = Guidance::default();
    g.push(
        0.7,
        Joystick {
            velocity: [0.5, -0.2],
            approach: Some(([0.1, 0.3], 0.04)),
        },
    );
    let xn = normalise(&x, &s);
    let worst = check(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(
        worst < 1e-6,
        "joystick approach: worst relative error {worst}"
    );
}

#[test]
fn joystick_approach_goals_move_from_the_measured_velocity_to_the_command() {
    let j = Joystick {
        velocity: [0.5, 0.0],
        approach: Some(([0.0, 0.4], 0.05)),
    };
    // Distance to the command: 0.640 m/s, covered in 0.05 m/s steps (13 steps).
    let mut last = [0.0, 0.4];
    for i in 1..=16 {
        let goal = j.goal(i);
        let step = (goal[0] - last[0]).hypot(goal[1] - last[1]);
        assert!(step <= 0.05 + 1e-12, "step {i}: moved {step}");
        // On the straight line from the measured velocity to the command.
        let cross = goal[0] * (-0.4) - (goal[1] - 0.4) * 0.5;
        assert!(cross.abs() < 1e-12, "step {i}: off the line {goal:?}");
        if i >= 13 {
            assert_eq!(goal, [0.5, 0.0], "step {i}");
        } else {
            assert!((step - 0.05).abs() < 1e-12, "step {i}: {step}");
        }
        last = goal;
    }
    // Off, every step has the command as its goal (the method's cost, docs/METHOD.md).
    let constant = Joystick::constant([0.5, 0.0]);
    assert!((1..=16).all(|i| constant.goal(i) == [0.5, 0.0]));
}

#[test]
fn joystick_gradient_matches_finite_differences() {
    let mut r = rng(1);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let mut g = Guidance::default();
    g.push(0.1, Joystick::constant([0.5, -0.2]));
    let xn = normalise(&x, &s);
    let worst = check(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(worst < 1e-6, "joystick: worst relative error {worst}");
}

#[test]
fn yaw_rate_gradient_matches_finite_differences_and_touches_only_planned_yaw_rates() {
    let mut r = rng(11);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let mut g = Guidance::default();
    g.push(0.7, YawRate { rate: 0.3 });
    let xn = normalise(&x, &s);
    let worst = check(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(worst < 1e-6, "yaw rate: worst relative error {worst}");
    let mut grad = vec![0.0; xn.len()];
    g.eval_normalised_f64(&xn, &s, &mut grad);
    let wz = layout::ROOT_ANG_VEL.start + 2;
    for (i, d) in grad.iter().enumerate() {
        let (t, k) = (i / STATE_DIM, i % STATE_DIM);
        if t <= NOW || k != wz {
            assert_eq!(*d, 0.0, "step {t} index {k}");
        } else {
            assert!(d.abs() > 0.0, "step {t}: no gradient on the yaw rate");
        }
    }
}

#[test]
fn waypoint_gradient_matches_finite_differences_with_detached_distance() {
    let mut r = rng(2);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let wp = Waypoint {
        position: [0.4, 0.1],
    };
    let mut g = Guidance::default();
    g.push(0.2, wp);
    let xn = normalise(&x, &s);
    // The cost with e^{−2d} frozen at xn: its finite differences must equal our gradient.
    let den = |y: &[f64]| -> Vec<f64> {
        y.iter()
            .enumerate()
            .map(|(i, v)| v * s.state_std[i % STATE_DIM] + s.state_mean[i % STATE_DIM])
            .collect()
    };
    let x0 = den(&xn);
    let w: Vec<f64> = (0..STEPS)
        .map(|t| {
            let o = t * STATE_DIM;
            (-2.0 * ((x0[o] - 0.4).powi(2) + (x0[o + 1] - 0.1).powi(2)).sqrt()).exp()
        })
        .collect();
    let frozen = |y: &[f64]| -> f64 {
        let x = den(y);
        let mut c = 0.0;
        for t in NOW + 1..STEPS {
            let o = t * STATE_DIM;
            let p = [x[o] - 0.4, x[o + 1] - 0.1];
            let v = [x[o + 6], x[o + 7]];
            c += (1.0 - w[t]) * (p[0] * p[0] + p[1] * p[1]) + w[t] * (v[0] * v[0] + v[1] * v[1]);
        }
        0.2 * c
    };
    assert!((frozen(&xn) - value(&g, &xn, &s)).abs() < 1e-9);
    let worst = check(&g, &xn, &s, frozen);
    assert!(worst < 1e-6, "waypoint: worst relative error {worst}");
    // And it is really detached: the full derivative differs.
    let full = check_worst_silent(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(
        full > 1e-4,
        "the distance weight should not be differentiated ({full})"
    );
}

fn check_worst_silent(g: &Guidance, xn: &[f64], s: &Stats, f: impl Fn(&[f64]) -> f64) -> f64 {
    check(g, xn, s, f)
}

#[test]
fn obstacle_gradient_matches_finite_differences_through_layout_and_yaw() {
    let mut r = rng(3);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let shapes = vec![
        Shape::Cylinder {
            center: [0.55, 0.25],
            radius: 0.2,
            height: 1.5,
        },
        Shape::Box {
            center: [0.3, -0.45, 0.5],
            half_extents: [0.15, 0.1, 0.5],
            yaw: 0.4,
        },
        Shape::Sphere {
            center: [0.2, 0.5, 0.9],
            radius: 0.15,
        },
    ];
    let mut g = Guidance::default();
    g.push(
        1.0,
        Obstacles {
            shapes,
            body_radii: default_body_radii(),
            delta: 0.05,
            influence: 0.0,
            hand_extension: 0.0,
        },
    );
    let xn = normalise(&x, &s);
    let worst = check(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(worst < 1e-5, "obstacles: worst relative error {worst}");
}

#[test]
fn cut_off_obstacle_gradient_matches_finite_differences() {
    let mut r = rng(6);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let shapes = vec![
        Shape::Cylinder {
            center: [0.55, 0.25],
            radius: 0.2,
            height: 1.5,
        },
        Shape::Sphere {
            center: [0.2, -0.5, 0.9],
            radius: 0.15,
        },
    ];
    let obstacles = Obstacles {
        shapes,
        body_radii: default_body_radii(),
        delta: 0.05,
        influence: 0.3,
        hand_extension: 0.0,
    };
    // Some bodies lie inside the influence distance (the cut barrier is positive there), so the
    // check below exercises it and not only the zero beyond.
    let mut grad = vec![0.0; x.len()];
    assert!(obstacles.eval(&x, &mut grad) > 0.0);
    assert!(grad.iter().any(|v| *v != 0.0));
    let mut g = Guidance::default();
    g.push(1.0, obstacles);
    let xn = normalise(&x, &s);
    let worst = check(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(
        worst < 1e-5,
        "cut-off obstacles: worst relative error {worst}"
    );
}

#[test]
fn cut_off_barrier_is_c1_at_its_distance_and_parallel_to_the_barrier_below() {
    let (d, m) = (0.05, 0.3);
    let (v, dv) = cut_off_barrier(m - 1e-9, d, m);
    assert!(v.abs() < 1e-8 && dv.abs() < 1e-7, "{v} {dv}");
    assert_eq!(cut_off_barrier(m + 0.1, d, m), (0.0, 0.0));
    for x in [-0.1, 0.0, 0.02, 0.05, 0.1, 0.2] {
        let (b, db) = relaxed_log_barrier(x, d);
        let (c, dc) = cut_off_barrier(x, d, m);
        assert!((dc - (db + 1.0 / m)).abs() < 1e-12);
        assert!((c - (b + m.ln() + (x - m) / m)).abs() < 1e-12);
        assert!(c > 0.0, "the cut barrier is positive below m (x = {x})");
    }
}

#[test]
fn weighted_sum_gradient_matches_finite_differences() {
    let mut r = rng(4);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let mut g = Guidance::default();
    g.push(0.1, Joystick::constant([0.3, 0.0]));
    g.push(
        1.0,
        Obstacles {
            shapes: vec![Shape::Sphere {
                center: [0.5, 0.0, 0.6],
                radius: 0.2,
            }],
            body_radii: default_body_radii(),
            delta: 0.1,
            influence: 0.0,
            hand_extension: 0.0,
        },
    );
    let xn = normalise(&x, &s);
    let worst = check(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(worst < 1e-5, "sum: worst relative error {worst}");
    // The f32 entry point agrees with the f64 one.
    let xf: Vec<f32> = xn.iter().map(|v| *v as f32).collect();
    let mut gf = vec![0.0f32; xf.len()];
    let c = g.eval_normalised(&xf, &s, &mut gf);
    assert!((c - value(&g, &xn, &s)).abs() < 1e-3 * (1.0 + c.abs()));
}

#[test]
fn rotvec_yaw_matches_nalgebra_and_its_gradient_finite_differences() {
    let mut r = rng(5);
    for _ in 0..200 {
        let w = [
            r.gen_range(-2.0..2.0),
            r.gen_range(-2.0..2.0),
            r.gen_range(-2.0..2.0),
        ];
        let q = UnitQuaternion::from_scaled_axis(Vector3::new(w[0], w[1], w[2]));
        let (yaw, g) = rotvec_yaw(w);
        let want = g1::bodypos::heading_yaw(&q);
        let dy = (yaw - want + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI)
            - std::f64::consts::PI;
        assert!(dy.abs() < 1e-12, "yaw {yaw} vs {want}");
        for i in 0..3 {
            let h = 1e-6;
            let (mut p, mut m) = (w, w);
            p[i] += h;
            m[i] -= h;
            let mut fd = rotvec_yaw(p).0 - rotvec_yaw(m).0;
            fd = (fd + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI)
                - std::f64::consts::PI;
            fd /= 2.0 * h;
            assert!(
                (fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "∂yaw/∂ω{i}: {fd} vs {}",
                g[i]
            );
        }
    }
    // Near zero rotation (series branch).
    let (y, g) = rotvec_yaw([1e-6, -2e-6, 3e-6]);
    assert!((y - 3e-6).abs() < 1e-9 && (g[2] - 1.0).abs() < 1e-9 && g[0].abs() < 1e-5);
}

#[test]
fn sdf_values_and_gradients() {
    let sphere = Shape::Sphere {
        center: [1.0, 0.0, 0.5],
        radius: 0.3,
    };
    assert!((sphere.sdf([2.0, 0.0, 0.5]).0 - 0.7).abs() < 1e-12);
    assert!((sphere.sdf([1.0, 0.0, 0.5]).0 + 0.3).abs() < 1e-12);
    let bx = Shape::Box {
        center: [0.0, 0.0, 0.5],
        half_extents: [0.5, 0.2, 0.5],
        yaw: std::f64::consts::FRAC_PI_2,
    };
    // Rotated 90°: its long side lies along y.
    assert!((bx.sdf([0.0, 1.0, 0.5]).0 - 0.5).abs() < 1e-12);
    assert!((bx.sdf([1.0, 0.0, 0.5]).0 - 0.8).abs() < 1e-12);
    assert!((bx.sdf([0.0, 0.0, 0.5]).0 + 0.2).abs() < 1e-12);
    // Corner: Euclidean distance to the corner.
    let corner = bx.sdf([0.5, 0.8, 1.3]).0;
    assert!((corner - (0.3f64.powi(2) + 0.3f64.powi(2) + 0.3f64.powi(2)).sqrt()).abs() < 1e-12);
    let cyl = Shape::Cylinder {
        center: [2.0, 1.0],
        radius: 0.25,
        height: 1.0,
    };
    assert!((cyl.sdf([2.0, 2.0, 0.5]).0 - 0.75).abs() < 1e-12);
    assert!((cyl.sdf([2.0, 1.0, 1.5]).0 - 0.5).abs() < 1e-12);
    assert!((cyl.sdf([2.0, 1.1, 0.5]).0 + 0.15).abs() < 1e-12);
    let mut r = rng(6);
    for s in [sphere, bx, cyl] {
        for _ in 0..300 {
            let p = [
                r.gen_range(-1.0..3.0),
                r.gen_range(-1.0..2.5),
                r.gen_range(-0.2..1.8),
            ];
            let (_, g) = s.sdf(p);
            for i in 0..3 {
                let h = 1e-7;
                let (mut a, mut b) = (p, p);
                a[i] += h;
                b[i] -= h;
                let fd = (s.sdf(a).0 - s.sdf(b).0) / (2.0 * h);
                // Kinks (medial axes) are measure-zero; allow a rare miss only there.
                if (fd - g[i]).abs() > 1e-5 {
                    let (mut a2, mut b2) = (p, p);
                    a2[i] += 1e-9;
                    b2[i] -= 1e-9;
                    let fd2 = (s.sdf(a2).0 - s.sdf(b2).0) / 2e-9;
                    assert!(
                        (fd - fd2).abs() > 1e-3,
                        "{s:?} at {p:?}: ∂{i} {fd} vs {}",
                        g[i]
                    );
                }
            }
        }
    }
    // A shape re-expressed in another frame keeps its distances.
    let p_world = [1.5, 0.7, 0.4];
    let (origin, yaw) = ([0.3, -0.2], 0.8);
    let (sy, cy) = f64::sin_cos(yaw);
    let d = [p_world[0] - origin[0], p_world[1] - origin[1]];
    let p_local = [cy * d[0] + sy * d[1], -sy * d[0] + cy * d[1], p_world[2]];
    for s in [sphere, bx, cyl] {
        assert!((s.sdf(p_world).0 - s.in_frame(origin, yaw).sdf(p_local).0).abs() < 1e-12);
    }
}

#[test]
fn relaxed_barrier_is_c1_at_delta() {
    let d = 0.05;
    let (a, ga) = relaxed_log_barrier(d, d);
    let (b, gb) = relaxed_log_barrier(d - 1e-12, d);
    assert!((a - b).abs() < 1e-9 && (ga - gb).abs() < 1e-6);
    assert!(relaxed_log_barrier(-0.1, d).0.is_finite());
    assert!(
        relaxed_log_barrier(-0.1, d).1 < 0.0,
        "pushes out of collision"
    );
}

#[test]
fn hand_points_gradient_matches_finite_differences() {
    let mut r = rng(8);
    let (x, s) = (trajectory(&mut r), stats(&mut r));
    let shapes = vec![
        Shape::Cylinder {
            center: [0.45, 0.3],
            radius: 0.2,
            height: 1.5,
        },
        Shape::Sphere {
            center: [0.3, -0.45, 0.8],
            radius: 0.2,
        },
    ];
    let with = |k: f64| Obstacles {
        shapes: shapes.clone(),
        body_radii: default_body_radii(),
        delta: 0.05,
        influence: 0.3,
        hand_extension: k,
    };
    // The hand points add cost where the hands approach (not only the bodies' origins).
    let mut grad = vec![0.0; x.len()];
    let (off, on) = (
        with(0.0).eval(&x, &mut grad),
        with(0.38).eval(&x, &mut grad),
    );
    assert!(on > off, "hand points add nothing: {on} vs {off}");
    let mut g = Guidance::default();
    g.push(1.0, with(0.38));
    let xn = normalise(&x, &s);
    let worst = check(&g, &xn, &s, |y| value(&g, y, &s));
    assert!(worst < 1e-5, "hand points: worst relative error {worst}");
}
