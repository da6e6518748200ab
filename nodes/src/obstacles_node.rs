//! `g1_obstacles`: the scene's obstacles for the planner and RViz. Reads the `obstacles` of a
//! simulator settings YAML (the same file `g1_sim` loads, so both agree) and publishes them as
//! `g1_diffusion/ObstacleArray` on `/g1d/obstacles` and as markers on `/obstacles/markers`,
//! both transient-local (a planner or RViz started later still gets them), once a second.

use std::time::Duration;

use anyhow::{Context as _, Result};
use g1_msgs::g1d::{Obstacle as ObstacleMsg, ObstacleArray};
use g1_msgs::geometry_msgs::{Point, Pose, Quaternion, Vector3};
use g1_msgs::std_msgs::{ColorRGBA, Header};
use g1_msgs::visualization_msgs::{Marker, MarkerArray};
use g1_ros::dds::{Publisher, QosPreset, RosNode};
use g1_ros::{NodeConfig, ParamError};
use g1_sim::{Obstacle, SimConfig};
use serde::{Deserialize, Serialize};

use crate::runtime::Node;
use crate::stamp;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ObstaclesConfig {
    /// Simulator settings YAML whose `obstacles` to publish.
    pub sim_config: String,
    pub frame_id: String,
}

impl NodeConfig for ObstaclesConfig {
    fn check(&self) -> Result<(), ParamError> {
        if self.sim_config.is_empty() {
            return Err(ParamError::Invalid {
                key: "sim_config".into(),
                why: "name the YAML file whose `obstacles` to publish".into(),
            });
        }
        Ok(())
    }
}

fn yaw_quat(yaw: f64) -> Quaternion {
    Quaternion {
        x: 0.0,
        y: 0.0,
        z: (yaw / 2.0).sin(),
        w: (yaw / 2.0).cos(),
    }
}

/// The message form of a simulator obstacle (see msg/Obstacle.msg for the dimensions).
pub fn to_msg(o: &Obstacle) -> ObstacleMsg {
    let c = o.center_3d();
    let position = Point {
        x: c[0],
        y: c[1],
        z: c[2],
    };
    let (shape, yaw, d) = match o {
        Obstacle::Sphere { radius, .. } => (ObstacleMsg::SPHERE, 0.0, [*radius, 0.0, 0.0]),
        Obstacle::Box {
            half_extents, yaw, ..
        } => (ObstacleMsg::BOX, *yaw, *half_extents),
        Obstacle::Cylinder { radius, height, .. } => {
            (ObstacleMsg::CYLINDER, 0.0, [*radius, 0.0, height / 2.0])
        }
    };
    ObstacleMsg {
        shape,
        pose: Pose {
            position,
            orientation: yaw_quat(yaw),
        },
        dimensions: Vector3 {
            x: d[0],
            y: d[1],
            z: d[2],
        },
    }
}

/// Back to a simulator obstacle (what the planner's cost uses); unknown shapes are errors.
pub fn from_msg(m: &ObstacleMsg) -> Result<Obstacle> {
    let p = &m.pose.position;
    let q = &m.pose.orientation;
    let yaw = 2.0 * q.z.atan2(q.w);
    let center = vec![p.x, p.y, p.z];
    let d = &m.dimensions;
    Ok(match m.shape {
        ObstacleMsg::SPHERE => Obstacle::Sphere {
            center,
            radius: d.x,
        },
        ObstacleMsg::BOX => Obstacle::Box {
            center,
            half_extents: [d.x, d.y, d.z],
            yaw,
        },
        ObstacleMsg::CYLINDER => Obstacle::Cylinder {
            center,
            radius: d.x,
            height: 2.0 * d.z,
        },
        s => anyhow::bail!("obstacle shape {s} (expected 0 sphere, 1 box, 2 cylinder)"),
    })
}

fn marker(i: usize, m: &ObstacleMsg, header: &Header) -> Marker {
    let d = &m.dimensions;
    let (kind, scale) = match m.shape {
        ObstacleMsg::SPHERE => (2, [2.0 * d.x, 2.0 * d.x, 2.0 * d.x]),
        ObstacleMsg::BOX => (1, [2.0 * d.x, 2.0 * d.y, 2.0 * d.z]),
        _ => (3, [2.0 * d.x, 2.0 * d.x, 2.0 * d.z]),
    };
    Marker {
        header: header.clone(),
        ns: "obstacles".into(),
        id: i as i32,
        r#type: kind,
        action: 0,
        pose: m.pose,
        scale: Vector3 {
            x: scale[0],
            y: scale[1],
            z: scale[2],
        },
        color: ColorRGBA {
            r: 0.6,
            g: 0.6,
            b: 0.6,
            a: 0.8,
        },
        ..Marker::default()
    }
}

pub struct ObstaclesNode {
    name: String,
    /// The node on the wire: kept alive, it stays in the ROS graph (`ros_discovery_info`).
    _ros: RosNode,
    /// The parameter services (`ros2 param`).
    params: g1_ros::param_server::ParamServer<ObstaclesConfig>,
    cfg: ObstaclesConfig,
    obstacles: Vec<ObstacleMsg>,
    array_pub: Publisher<ObstacleArray>,
    markers_pub: Publisher<MarkerArray>,
}

impl ObstaclesNode {
    pub fn new(mut ros: RosNode) -> Result<Self> {
        let mut cfg: ObstaclesConfig = ros.ctx.config()?;
        if cfg.frame_id.is_empty() {
            cfg.frame_id = "odom".into();
        }
        let params = g1_ros::param_server::ParamServer::new(&mut ros, cfg.clone())?;
        let text = std::fs::read_to_string(&cfg.sim_config)
            .with_context(|| format!("parameter `sim_config`: {}", cfg.sim_config))?;
        let sc: SimConfig = serde_yaml::from_str(&text)
            .with_context(|| format!("parameter `sim_config`: {}", cfg.sim_config))?;
        sc.validate()?;
        Ok(Self {
            params,
            name: ros.ctx.names.fqn(),
            obstacles: sc.obstacles.iter().map(to_msg).collect(),
            array_pub: ros.publisher("/g1d/obstacles", QosPreset::Latched)?,
            markers_pub: ros.publisher("/obstacles/markers", QosPreset::Latched)?,
            cfg,
            _ros: ros,
        })
    }
}

impl Node for ObstaclesNode {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn step(&mut self, now_s: f64) -> Result<Duration> {
        self.params.poll(now_s);
        let header = Header::new(stamp(now_s), &self.cfg.frame_id);
        self.array_pub
            .publish(ObstacleArray {
                header: header.clone(),
                obstacles: self.obstacles.clone(),
            })
            .ok();
        self.markers_pub
            .publish(MarkerArray {
                markers: self
                    .obstacles
                    .iter()
                    .enumerate()
                    .map(|(i, m)| marker(i, m, &header))
                    .collect(),
            })
            .ok();
        Ok(Duration::from_secs(1))
    }
}
