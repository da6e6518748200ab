//! Builds the MJCF of the G1 scene from the Menagerie files shipped in `assets/g1/mjcf`.
//!
//! The robot is `g1_mjx.xml` unchanged except for an absolute mesh directory; the scene adds a
//! floor, the explicit contact pairs of Menagerie's `scene_mjx.xml` (feet as capsules, the foot
//! friction set from the config), and the obstacles with contact pairs against every robot
//! collision geom. Physics options and actuator gains are applied to the compiled model from the
//! joint table (see `Sim::new`), so the table stays the single source of truth.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::{FootContact, Obstacle, SimConfig};
use crate::SimError;

/// Names of the robot's collision geoms (those that can touch obstacles).
pub const ROBOT_COLLISION_GEOMS: [&str; 28] = [
    "pelvis_collision",
    "left_hip_collision",
    "left_thigh_collision",
    "left_shin_collision",
    "left_linkage_brace_collision",
    "left_foot1_collision",
    "left_foot2_collision",
    "left_foot3_collision",
    "right_hip_collision",
    "right_thigh_collision",
    "right_shin_collision",
    "right_linkage_brace_collision",
    "right_foot1_collision",
    "right_foot2_collision",
    "right_foot3_collision",
    "torso_collision",
    "head_collision",
    "left_shoulder_yaw_collision",
    "left_elbow_yaw_collision",
    "left_wrist_collision",
    "left_hand_collision",
    "right_shoulder_yaw_collision",
    "right_elbow_yaw_collision",
    "right_wrist_collision",
    "right_hand_collision",
    "left_foot_box_collision",
    "right_foot_box_collision",
    "floor",
];

/// Name of obstacle `i`'s geom.
pub fn obstacle_geom_name(i: usize) -> String {
    format!("obstacle_{i}")
}

fn read(path: &Path) -> Result<String, SimError> {
    std::fs::read_to_string(path).map_err(|e| SimError::Asset {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// Returns the complete scene MJCF for `assets_dir` (the repository's `assets/`).
pub fn scene_xml(assets_dir: &Path, cfg: &SimConfig) -> Result<String, SimError> {
    let mjcf_dir = assets_dir.join("g1/mjcf");
    let robot_path = mjcf_dir.join("g1_mjx.xml");
    let robot = read(&robot_path)?;
    let scene = read(&mjcf_dir.join("scene_mjx.xml"))?;
    let mesh_dir = mjcf_dir.join("assets");
    let mesh_dir = mesh_dir.canonicalize().map_err(|e| SimError::Asset {
        path: mesh_dir.clone(),
        why: e.to_string(),
    })?;
    let mesh_attr = r#"meshdir="assets""#;
    if !robot.contains(mesh_attr) {
        return Err(SimError::Asset {
            path: robot_path,
            why: format!("expected `{mesh_attr}` in <compiler>"),
        });
    }
    let mut xml = robot.replacen(
        mesh_attr,
        &format!(r#"meshdir="{}""#, mesh_dir.display()),
        1,
    );
    let end = xml.rfind("</mujoco>").ok_or_else(|| SimError::Asset {
        path: robot_path.clone(),
        why: "no closing </mujoco>".into(),
    })?;
    xml.truncate(end);

    // Contact pairs of the Menagerie scene, foot friction from the config.
    let (c0, c1) = match (scene.find("<contact>"), scene.find("</contact>")) {
        (Some(a), Some(b)) if a < b => (a + "<contact>".len(), b),
        _ => {
            return Err(SimError::Asset {
                path: mjcf_dir.join("scene_mjx.xml"),
                why: "no <contact> section".into(),
            })
        }
    };
    let mu = cfg.foot_friction;
    let pairs = scene[c0..c1].replace(
        r#"friction="1 1""#,
        &format!(r#"friction="{mu} {mu} 0.005 0.0001 0.0001""#),
    );

    let mut extra = String::new();
    extra.push_str("  <visual><global offwidth=\"1280\" offheight=\"720\"/></visual>\n");
    extra.push_str("  <worldbody>\n");
    extra.push_str("    <light name=\"sun\" pos=\"0 0 5\" dir=\"0 0 -1\" directional=\"true\"/>\n");
    extra.push_str(
        "    <geom name=\"floor\" size=\"0 0 0.05\" type=\"plane\" rgba=\"0.25 0.3 0.35 1\" contype=\"0\" conaffinity=\"0\"/>\n",
    );
    for (i, o) in cfg.obstacles.iter().enumerate() {
        let [x, y, z] = o.center_3d();
        let name = obstacle_geom_name(i);
        let common = r#"contype="0" conaffinity="0" condim="3" rgba="0.85 0.35 0.2 1""#;
        let _ = match o {
            Obstacle::Sphere { radius, .. } => writeln!(
                extra,
                r#"    <geom name="{name}" type="sphere" size="{radius}" pos="{x} {y} {z}" {common}/>"#
            ),
            Obstacle::Box {
                half_extents: h,
                yaw,
                ..
            } => writeln!(
                extra,
                r#"    <geom name="{name}" type="box" size="{} {} {}" pos="{x} {y} {z}" euler="0 0 {yaw}" {common}/>"#,
                h[0], h[1], h[2]
            ),
            Obstacle::Cylinder { radius, height, .. } => writeln!(
                extra,
                r#"    <geom name="{name}" type="cylinder" size="{radius} {}" pos="{x} {y} {z}" {common}/>"#,
                height / 2.0
            ),
        };
    }
    extra.push_str("  </worldbody>\n  <contact>\n");
    extra.push_str(&pairs);
    if cfg.foot_contact == FootContact::CapsulesAndSole {
        for side in ["left", "right"] {
            let _ = writeln!(
                extra,
                r#"    <pair geom1="{side}_foot_box_collision" geom2="floor" condim="3" friction="{mu} {mu} 0.005 0.0001 0.0001"/>"#
            );
        }
    }
    for i in 0..cfg.obstacles.len() {
        for g in ROBOT_COLLISION_GEOMS.iter().filter(|g| **g != "floor") {
            let _ = writeln!(
                extra,
                r#"    <pair geom1="{g}" geom2="{}" condim="3" friction="0.8 0.8 0.005 0.0001 0.0001"/>"#,
                obstacle_geom_name(i)
            );
        }
    }
    extra.push_str("  </contact>\n</mujoco>\n");
    xml.push_str(&extra);
    Ok(xml)
}
