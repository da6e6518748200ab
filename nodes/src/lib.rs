//! The node suite. Each node is a library object built from its [`NodeContext`] (argv tail,
//! parameters, names) that owns its publishers and subscriptions and is driven by
//! [`runtime::spin`]; the executables in `src/bin/` are three lines around it, and
//! [`runtime::compose`] runs several in one process (`g1d up`).
//!
//! | node | subscribes | publishes |
//! |---|---|---|
//! | `g1_sim` ([`sim_node`]) | `/lowcmd` | `/lowstate` (every physics step, CRC), `/clock`, `/sim/odom` |
//! | `g1_bridge` ([`bridge_node`]) | `/lowstate`, `joint_targets` | `/lowcmd` (per LowState, CRC), `/joint_states`, `/imu` |
//! | `g1_estimator` ([`estimator_node`]) | `/joint_states`, `/sim/odom` | `/g1d/state` (Body-Pos), `/odom`, `/tf` |
//! | `g1_expert` ([`expert_node`]) | `/joint_states`, `/imu`, `cmd_vel` | `joint_targets` |

pub mod bridge_node;
pub mod estimator_node;
pub mod expert_node;
pub mod runtime;
pub mod sim_node;

pub use g1_ros::NodeContext;

use g1_msgs::builtin_interfaces::Time;
use g1_msgs::geometry_msgs::{Point, Quaternion, Vector3};

pub(crate) fn stamp(t_s: f64) -> Time {
    Time::from_secs_f64(t_s)
}

pub(crate) fn v3(v: &g1::nalgebra::Vector3<f64>) -> Vector3 {
    Vector3 {
        x: v.x,
        y: v.y,
        z: v.z,
    }
}

pub(crate) fn pt(v: &g1::nalgebra::Vector3<f64>) -> Point {
    Point {
        x: v.x,
        y: v.y,
        z: v.z,
    }
}

pub(crate) fn quat(q: &g1::nalgebra::UnitQuaternion<f64>) -> Quaternion {
    Quaternion {
        x: q.i,
        y: q.j,
        z: q.k,
        w: q.w,
    }
}
