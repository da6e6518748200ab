//! Standard ROS 2 message types (Jazzy definitions) used by the project.

use crate::ros_message;

pub mod builtin_interfaces {
    use super::*;
    ros_message! {
        /// A point in time (ROS time: seconds and nanoseconds since the epoch or since sim start).
        #[derive(Default, Copy, PartialOrd)]
        pub struct Time = "builtin_interfaces/msg/Time" uses [] {
            pub sec: i32,
            pub nanosec: u32,
        }
        definition = "int32 sec\nuint32 nanosec\n";
    }
    ros_message! {
        #[derive(Default, Copy)]
        pub struct Duration = "builtin_interfaces/msg/Duration" uses [] {
            pub sec: i32,
            pub nanosec: u32,
        }
        definition = "int32 sec\nuint32 nanosec\n";
    }

    impl Time {
        /// From nanoseconds (non-negative; saturates at the i32 seconds range).
        pub fn from_nanos(ns: u64) -> Self {
            Self {
                sec: (ns / 1_000_000_000).min(i32::MAX as u64) as i32,
                nanosec: (ns % 1_000_000_000) as u32,
            }
        }
        pub fn from_secs_f64(s: f64) -> Self {
            Self::from_nanos((s.max(0.0) * 1e9).round() as u64)
        }
        pub fn as_nanos(&self) -> u64 {
            self.sec.max(0) as u64 * 1_000_000_000 + self.nanosec as u64
        }
        pub fn as_secs_f64(&self) -> f64 {
            self.sec as f64 + self.nanosec as f64 * 1e-9
        }
    }
    impl Duration {
        pub fn from_secs_f64(s: f64) -> Self {
            let ns = (s * 1e9).round() as i64;
            Self {
                sec: ns.div_euclid(1_000_000_000) as i32,
                nanosec: ns.rem_euclid(1_000_000_000) as u32,
            }
        }
        pub fn as_secs_f64(&self) -> f64 {
            self.sec as f64 + self.nanosec as f64 * 1e-9
        }
    }
}

pub mod std_msgs {
    use super::builtin_interfaces::Time;
    use super::*;
    ros_message! {
        #[derive(Default)]
        pub struct Header = "std_msgs/msg/Header" uses [Time] {
            pub stamp: Time,
            pub frame_id: String,
        }
        definition = "builtin_interfaces/Time stamp\nstring frame_id\n";
    }
    ros_message! {
        #[derive(Default, Copy)]
        pub struct ColorRGBA = "std_msgs/msg/ColorRGBA" uses [] {
            pub r: f32,
            pub g: f32,
            pub b: f32,
            pub a: f32,
        }
        definition = "float32 r\nfloat32 g\nfloat32 b\nfloat32 a\n";
    }
    ros_message! {
        /// `std_msgs/String` (named so that it does not shadow Rust's `String` here).
        #[derive(Default)]
        pub struct StringMsg = "std_msgs/msg/String" uses [] {
            pub data: String,
        }
        definition = "string data\n";
    }
    ros_message! {
        /// `std_msgs/Float64` (a per-joint command of Gazebo's joint controllers).
        #[derive(Default, Copy)]
        pub struct Float64 = "std_msgs/msg/Float64" uses [] {
            pub data: f64,
        }
        definition = "float64 data\n";
    }
    impl Header {
        pub fn new(stamp: Time, frame_id: &str) -> Self {
            Self {
                stamp,
                frame_id: frame_id.to_string(),
            }
        }
    }
}

pub mod geometry_msgs {
    use super::std_msgs::Header;
    use super::*;
    ros_message! {
        #[derive(Default, Copy)]
        pub struct Point = "geometry_msgs/msg/Point" uses [] {
            pub x: f64,
            pub y: f64,
            pub z: f64,
        }
        definition = "float64 x\nfloat64 y\nfloat64 z\n";
    }
    ros_message! {
        #[derive(Default, Copy)]
        pub struct Vector3 = "geometry_msgs/msg/Vector3" uses [] {
            pub x: f64,
            pub y: f64,
            pub z: f64,
        }
        definition = "float64 x\nfloat64 y\nfloat64 z\n";
    }
    ros_message! {
        /// Orientation as a unit quaternion; the default is the identity (w = 1), as in ROS 2.
        #[derive(Copy)]
        pub struct Quaternion = "geometry_msgs/msg/Quaternion" uses [] {
            pub x: f64,
            pub y: f64,
            pub z: f64,
            pub w: f64,
        }
        definition = "float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n";
    }
    impl Default for Quaternion {
        fn default() -> Self {
            Self {
                x: 0.0,
                y: 0.0,
                z: 0.0,
                w: 1.0,
            }
        }
    }
    ros_message! {
        #[derive(Default, Copy)]
        pub struct Pose = "geometry_msgs/msg/Pose" uses [Point, Quaternion] {
            pub position: Point,
            pub orientation: Quaternion,
        }
        definition = "Point position\nQuaternion orientation\n";
    }
    ros_message! {
        #[derive(Default, Copy)]
        pub struct Twist = "geometry_msgs/msg/Twist" uses [Vector3] {
            pub linear: Vector3,
            pub angular: Vector3,
        }
        definition = "Vector3 linear\nVector3 angular\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct PoseStamped = "geometry_msgs/msg/PoseStamped" uses [Header, Pose] {
            pub header: Header,
            pub pose: Pose,
        }
        definition = "std_msgs/Header header\nPose pose\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct TwistStamped = "geometry_msgs/msg/TwistStamped" uses [Header, Twist] {
            pub header: Header,
            pub twist: Twist,
        }
        definition = "std_msgs/Header header\nTwist twist\n";
    }
    ros_message! {
        #[derive(Default, Copy)]
        pub struct Transform = "geometry_msgs/msg/Transform" uses [Vector3, Quaternion] {
            pub translation: Vector3,
            pub rotation: Quaternion,
        }
        definition = "Vector3 translation\nQuaternion rotation\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct TransformStamped = "geometry_msgs/msg/TransformStamped" uses [Header, Transform] {
            pub header: Header,
            pub child_frame_id: String,
            pub transform: Transform,
        }
        definition = "std_msgs/Header header\nstring child_frame_id\nTransform transform\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct PoseWithCovariance = "geometry_msgs/msg/PoseWithCovariance" uses [Pose] {
            pub pose: Pose,
            pub covariance: Vec36,
        }
        definition = "Pose pose\nfloat64[36] covariance\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct TwistWithCovariance = "geometry_msgs/msg/TwistWithCovariance" uses [Twist] {
            pub twist: Twist,
            pub covariance: Vec36,
        }
        definition = "Twist twist\nfloat64[36] covariance\n";
    }

    /// A row-major 6×6 covariance (`float64[36]`).
    #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Vec36(#[serde(with = "serde_big_array::BigArray")] pub [f64; 36]);
    impl Default for Vec36 {
        fn default() -> Self {
            Self([0.0; 36])
        }
    }
    impl crate::cdr::CdrField for Vec36 {
        fn write(&self, w: &mut crate::cdr::CdrWriter) {
            self.0.write(w)
        }
        fn read(r: &mut crate::cdr::CdrReader<'_>) -> Result<Self, crate::cdr::CdrError> {
            Ok(Self(crate::cdr::CdrField::read(r)?))
        }
        const MIN_SIZE: usize = 288;
    }
}

pub mod sensor_msgs {
    use super::geometry_msgs::{Quaternion, Vector3};
    use super::std_msgs::Header;
    use super::*;
    ros_message! {
        #[derive(Default)]
        pub struct JointState = "sensor_msgs/msg/JointState" uses [Header] {
            pub header: Header,
            pub name: Vec<String>,
            pub position: Vec<f64>,
            pub velocity: Vec<f64>,
            pub effort: Vec<f64>,
        }
        definition = "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct Imu = "sensor_msgs/msg/Imu" uses [Header, Quaternion, Vector3] {
            pub header: Header,
            pub orientation: Quaternion,
            pub orientation_covariance: [f64; 9],
            pub angular_velocity: Vector3,
            pub angular_velocity_covariance: [f64; 9],
            pub linear_acceleration: Vector3,
            pub linear_acceleration_covariance: [f64; 9],
        }
        definition = "std_msgs/Header header\ngeometry_msgs/Quaternion orientation\nfloat64[9] orientation_covariance\ngeometry_msgs/Vector3 angular_velocity\nfloat64[9] angular_velocity_covariance\ngeometry_msgs/Vector3 linear_acceleration\nfloat64[9] linear_acceleration_covariance\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct Joy = "sensor_msgs/msg/Joy" uses [Header] {
            pub header: Header,
            pub axes: Vec<f32>,
            pub buttons: Vec<i32>,
        }
        definition = "std_msgs/Header header\nfloat32[] axes\nint32[] buttons\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct CompressedImage = "sensor_msgs/msg/CompressedImage" uses [Header] {
            pub header: Header,
            pub format: String,
            pub data: Vec<u8>,
        }
        definition = "std_msgs/Header header\nstring format\nuint8[] data\n";
    }
}

pub mod nav_msgs {
    use super::geometry_msgs::{PoseStamped, PoseWithCovariance, TwistWithCovariance};
    use super::std_msgs::Header;
    use super::*;
    ros_message! {
        #[derive(Default)]
        pub struct Odometry = "nav_msgs/msg/Odometry" uses [Header, PoseWithCovariance, TwistWithCovariance] {
            pub header: Header,
            pub child_frame_id: String,
            pub pose: PoseWithCovariance,
            pub twist: TwistWithCovariance,
        }
        definition = "std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/PoseWithCovariance pose\ngeometry_msgs/TwistWithCovariance twist\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct Path = "nav_msgs/msg/Path" uses [Header, PoseStamped] {
            pub header: Header,
            pub poses: Vec<PoseStamped>,
        }
        definition = "std_msgs/Header header\ngeometry_msgs/PoseStamped[] poses\n";
    }
}

pub mod visualization_msgs {
    use super::builtin_interfaces::Duration;
    use super::geometry_msgs::{Point, Pose, Vector3};
    use super::sensor_msgs::CompressedImage;
    use super::std_msgs::{ColorRGBA, Header};
    use super::*;
    ros_message! {
        #[derive(Default, Copy)]
        pub struct UVCoordinate = "visualization_msgs/msg/UVCoordinate" uses [] {
            pub u: f32,
            pub v: f32,
        }
        definition = "float32 u\nfloat32 v\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct MeshFile = "visualization_msgs/msg/MeshFile" uses [] {
            pub filename: String,
            pub data: Vec<u8>,
        }
        definition = "string filename\nuint8[] data\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct Marker = "visualization_msgs/msg/Marker" uses [Header, Pose, Vector3, ColorRGBA, Duration, Point, CompressedImage, UVCoordinate, MeshFile] {
            pub header: Header,
            pub ns: String,
            pub id: i32,
            pub r#type: i32,
            pub action: i32,
            pub pose: Pose,
            pub scale: Vector3,
            pub color: ColorRGBA,
            pub lifetime: Duration,
            pub frame_locked: bool,
            pub points: Vec<Point>,
            pub colors: Vec<ColorRGBA>,
            pub texture_resource: String,
            pub texture: CompressedImage,
            pub uv_coordinates: Vec<UVCoordinate>,
            pub text: String,
            pub mesh_resource: String,
            pub mesh_file: MeshFile,
            pub mesh_use_embedded_materials: bool,
        }
        definition = "int32 ARROW=0\nint32 CUBE=1\nint32 SPHERE=2\nint32 CYLINDER=3\nint32 LINE_STRIP=4\nint32 LINE_LIST=5\nint32 CUBE_LIST=6\nint32 SPHERE_LIST=7\nint32 POINTS=8\nint32 TEXT_VIEW_FACING=9\nint32 MESH_RESOURCE=10\nint32 TRIANGLE_LIST=11\nint32 ARROW_STRIP=12\nint32 ADD=0\nint32 MODIFY=0\nint32 DELETE=2\nint32 DELETEALL=3\nstd_msgs/Header header\nstring ns\nint32 id\nint32 type\nint32 action\ngeometry_msgs/Pose pose\ngeometry_msgs/Vector3 scale\nstd_msgs/ColorRGBA color\nbuiltin_interfaces/Duration lifetime\nbool frame_locked\ngeometry_msgs/Point[] points\nstd_msgs/ColorRGBA[] colors\nstring texture_resource\nsensor_msgs/CompressedImage texture\nUVCoordinate[] uv_coordinates\nstring text\nstring mesh_resource\nMeshFile mesh_file\nbool mesh_use_embedded_materials\n";
    }
    impl Marker {
        pub const ARROW: i32 = 0;
        pub const CUBE: i32 = 1;
        pub const SPHERE: i32 = 2;
        pub const CYLINDER: i32 = 3;
        pub const LINE_STRIP: i32 = 4;
        pub const SPHERE_LIST: i32 = 7;
        pub const ADD: i32 = 0;
        pub const DELETEALL: i32 = 3;
    }
    ros_message! {
        #[derive(Default)]
        pub struct MarkerArray = "visualization_msgs/msg/MarkerArray" uses [Marker] {
            pub markers: Vec<Marker>,
        }
        definition = "Marker[] markers\n";
    }
}

pub mod tf2_msgs {
    use super::geometry_msgs::TransformStamped;
    use super::*;
    ros_message! {
        #[derive(Default)]
        pub struct TFMessage = "tf2_msgs/msg/TFMessage" uses [TransformStamped] {
            pub transforms: Vec<TransformStamped>,
        }
        definition = "geometry_msgs/TransformStamped[] transforms\n";
    }
}

pub mod diagnostic_msgs {
    use super::std_msgs::Header;
    use super::*;
    ros_message! {
        #[derive(Default)]
        pub struct KeyValue = "diagnostic_msgs/msg/KeyValue" uses [] {
            pub key: String,
            pub value: String,
        }
        definition = "string key\nstring value\n";
    }
    ros_message! {
        #[derive(Default)]
        pub struct DiagnosticStatus = "diagnostic_msgs/msg/DiagnosticStatus" uses [KeyValue] {
            pub level: u8,
            pub name: String,
            pub message: String,
            pub hardware_id: String,
            pub values: Vec<KeyValue>,
        }
        definition = "byte OK=0\nbyte WARN=1\nbyte ERROR=2\nbyte STALE=3\nbyte level\nstring name\nstring message\nstring hardware_id\nKeyValue[] values\n";
    }
    impl DiagnosticStatus {
        pub const OK: u8 = 0;
        pub const WARN: u8 = 1;
        pub const ERROR: u8 = 2;
        pub const STALE: u8 = 3;
    }
    ros_message! {
        #[derive(Default)]
        pub struct DiagnosticArray = "diagnostic_msgs/msg/DiagnosticArray" uses [Header, DiagnosticStatus] {
            pub header: Header,
            pub status: Vec<DiagnosticStatus>,
        }
        definition = "std_msgs/Header header\nDiagnosticStatus[] status\n";
    }
}

pub mod rosgraph_msgs {
    use super::builtin_interfaces::Time;
    use super::*;
    ros_message! {
        #[derive(Default)]
        pub struct Clock = "rosgraph_msgs/msg/Clock" uses [Time] {
            pub clock: Time,
        }
        definition = "builtin_interfaces/Time clock\n";
    }
}

pub mod rcl_interfaces {
    use super::builtin_interfaces::Time;
    use super::*;
    ros_message! {
        /// A log line on `/rosout` (what the nodes send on Zenoh; on DDS ros2-client's own).
        #[derive(Default)]
        pub struct Log = "rcl_interfaces/msg/Log" uses [Time] {
            pub stamp: Time,
            pub level: u8,
            pub name: String,
            pub msg: String,
            pub file: String,
            pub function: String,
            pub line: u32,
        }
        definition = "byte DEBUG=10\nbyte INFO=20\nbyte WARN=30\nbyte ERROR=40\nbyte FATAL=50\n\
                      builtin_interfaces/Time stamp\nuint8 level\nstring name\nstring msg\n\
                      string file\nstring function\nuint32 line\n";
    }
}

/// `std_srvs/srv/Trigger`'s two halves.
pub mod std_srvs {
    use serde::{Deserialize, Serialize};

    /// An empty request: rosidl gives an empty structure one `uint8` member.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct TriggerRequest {
        pub structure_needs_at_least_one_member: u8,
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct TriggerResponse {
        pub success: bool,
        pub message: String,
    }
}
