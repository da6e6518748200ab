//! Signed distance functions of obstacle primitives (negative inside) and their gradients.

use serde::{Deserialize, Serialize};

/// An obstacle primitive in a planar-yaw frame (z up, the floor at z = 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "lowercase")]
pub enum Shape {
    Sphere {
        center: [f64; 3],
        radius: f64,
    },
    /// A box rotated by `yaw` about z.
    Box {
        center: [f64; 3],
        half_extents: [f64; 3],
        yaw: f64,
    },
    /// A vertical cylinder standing on the floor (z ∈ [0, height]).
    Cylinder {
        center: [f64; 2],
        radius: f64,
        height: f64,
    },
}

fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// Distance and gradient of a box centred at the origin with half extents `h`, at `q`.
fn box_sdf(q: [f64; 3], h: [f64; 3]) -> (f64, [f64; 3]) {
    let e = [q[0].abs() - h[0], q[1].abs() - h[1], q[2].abs() - h[2]];
    let sign = |v: f64| if v >= 0.0 { 1.0 } else { -1.0 };
    let out = [e[0].max(0.0), e[1].max(0.0), e[2].max(0.0)];
    let n_out = norm(out);
    if n_out > 0.0 {
        let g = [
            out[0] / n_out * sign(q[0]),
            out[1] / n_out * sign(q[1]),
            out[2] / n_out * sign(q[2]),
        ];
        (n_out, g)
    } else {
        // Inside: the nearest face.
        let k = (1..3).fold(0, |k, a| if e[a] > e[k] { a } else { k });
        let mut g = [0.0; 3];
        g[k] = sign(q[k]);
        (e[k], g)
    }
}

impl Shape {
    /// A planar circle (centre, radius; m) that covers the shape's footprint.
    pub fn footprint_circle(&self) -> ([f64; 2], f64) {
        match *self {
            Shape::Sphere { center, radius } => ([center[0], center[1]], radius),
            Shape::Box {
                center,
                half_extents,
                ..
            } => (
                [center[0], center[1]],
                half_extents[0].hypot(half_extents[1]),
            ),
            Shape::Cylinder { center, radius, .. } => (center, radius),
        }
    }

    /// Signed distance from `p` and its gradient (unit outward normal almost everywhere).
    pub fn sdf(&self, p: [f64; 3]) -> (f64, [f64; 3]) {
        match *self {
            Shape::Sphere { center, radius } => {
                let d = [p[0] - center[0], p[1] - center[1], p[2] - center[2]];
                let n = norm(d);
                if n < 1e-12 {
                    return (-radius, [0.0, 0.0, 1.0]);
                }
                (n - radius, [d[0] / n, d[1] / n, d[2] / n])
            }
            Shape::Box {
                center,
                half_extents,
                yaw,
            } => {
                let (s, c) = yaw.sin_cos();
                let d = [p[0] - center[0], p[1] - center[1], p[2] - center[2]];
                // Into the box frame: q = Rz(yaw)ᵀ·d.
                let q = [c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]];
                let (v, gq) = box_sdf(q, half_extents);
                (v, [c * gq[0] - s * gq[1], s * gq[0] + c * gq[1], gq[2]])
            }
            Shape::Cylinder {
                center,
                radius,
                height,
            } => {
                let (dx, dy) = (p[0] - center[0], p[1] - center[1]);
                let rho = (dx * dx + dy * dy).sqrt();
                let half = height / 2.0;
                let z = p[2] - half;
                // A 2-D box in (ρ, z) with half extents (radius, height/2).
                let (v, g) = box_sdf([rho, z, 0.0], [radius, half, 1.0]);
                let (ux, uy) = if rho > 1e-12 {
                    (dx / rho, dy / rho)
                } else {
                    (1.0, 0.0)
                };
                (v, [g[0] * ux, g[0] * uy, g[1]])
            }
        }
    }

    /// The shape seen from another planar frame: `to_local` maps points of the shape's frame
    /// to the new frame as p' = Rz(−yaw)·(p − origin) (yaw and origin of the new frame).
    pub fn in_frame(&self, origin: [f64; 2], yaw: f64) -> Shape {
        let (s, c) = yaw.sin_cos();
        let tf = |x: f64, y: f64| {
            let (dx, dy) = (x - origin[0], y - origin[1]);
            [c * dx + s * dy, -s * dx + c * dy]
        };
        match *self {
            Shape::Sphere { center, radius } => {
                let p = tf(center[0], center[1]);
                Shape::Sphere {
                    center: [p[0], p[1], center[2]],
                    radius,
                }
            }
            Shape::Box {
                center,
                half_extents,
                yaw: y,
            } => {
                let p = tf(center[0], center[1]);
                Shape::Box {
                    center: [p[0], p[1], center[2]],
                    half_extents,
                    yaw: y - yaw,
                }
            }
            Shape::Cylinder {
                center,
                radius,
                height,
            } => Shape::Cylinder {
                center: tf(center[0], center[1]),
                radius,
                height,
            },
        }
    }
}

/// The union (minimum distance) of `shapes` and the gradient of the nearest one.
pub fn union(shapes: &[Shape], p: [f64; 3]) -> (f64, [f64; 3]) {
    let mut best = (f64::INFINITY, [0.0; 3]);
    for s in shapes {
        let r = s.sdf(p);
        if r.0 < best.0 {
            best = r;
        }
    }
    best
}
