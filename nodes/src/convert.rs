//! Conversions between nalgebra and the message types, shared by every node: vectors, points,
//! quaternions, poses, stamps, and REP-105 odometry (the one place `/sim/odom` and `/odom`
//! are built, so both carry the twist in the child frame).

use g1::nalgebra::{Quaternion as NQuat, UnitQuaternion, Vector3 as NV};
use g1::RootState;
use g1_msgs::builtin_interfaces::Time;
use g1_msgs::geometry_msgs::{
    Point, Pose, PoseWithCovariance, Quaternion, Twist, TwistWithCovariance, Vec36, Vector3,
};
use g1_msgs::nav_msgs::Odometry;
use g1_msgs::std_msgs::Header;

/// A ROS quaternion as nalgebra's (normalised).
pub fn unit_quat(q: &Quaternion) -> UnitQuaternion<f64> {
    UnitQuaternion::from_quaternion(NQuat::new(q.w, q.x, q.y, q.z))
}

/// A time in seconds as a message stamp.
pub fn stamp(t_s: f64) -> Time {
    Time::from_secs_f64(t_s)
}

pub fn v3(v: &NV<f64>) -> Vector3 {
    Vector3 {
        x: v.x,
        y: v.y,
        z: v.z,
    }
}

/// A message vector as nalgebra's.
pub fn nv(v: &Vector3) -> NV<f64> {
    NV::new(v.x, v.y, v.z)
}

pub fn pt(v: &NV<f64>) -> Point {
    Point {
        x: v.x,
        y: v.y,
        z: v.z,
    }
}

pub fn quat(q: &UnitQuaternion<f64>) -> Quaternion {
    Quaternion {
        x: q.i,
        y: q.j,
        z: q.k,
        w: q.w,
    }
}

/// The pose of a root state (world position and orientation).
pub fn pose_of(r: &RootState) -> Pose {
    Pose {
        position: pt(&r.pos_w),
        orientation: quat(&r.quat_w),
    }
}

/// Odometry of `child_frame` in `header`'s frame (REP-105: the twist in the child frame).
pub fn odometry(r: &RootState, header: Header, child_frame: &str) -> Odometry {
    let q_inv = r.quat_w.inverse();
    Odometry {
        header,
        child_frame_id: child_frame.into(),
        pose: PoseWithCovariance {
            pose: pose_of(r),
            covariance: Vec36::default(),
        },
        twist: TwistWithCovariance {
            twist: Twist {
                linear: v3(&(q_inv * r.lin_vel_w)),
                angular: v3(&(q_inv * r.ang_vel_w)),
            },
            covariance: Vec36::default(),
        },
    }
}

/// The simulator's ground truth as `/sim/odom` (`odom → pelvis`) at time `t` (s).
pub fn sim_odometry(r: &RootState, t: f64) -> Odometry {
    odometry(r, Header::new(stamp(t), "odom"), "pelvis")
}
