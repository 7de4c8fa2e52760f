//! # ROS 2 robot adapter
//!
//! The configuration ([`config`], [`template`]) and its checks are always built, so `clea run --check`
//! validates a robot launch file anywhere; the adapter itself needs the feature `ros2` (r2r).
//!
//! Joins a robot's ROS 2 graph through `r2r` and bridges it to the bus, configured by a launch
//! file ([`Ros2LaunchFile`], e.g. `launch/files/mobile-manipulator.yaml`):
//!
//! - **cameras**: `sensor_msgs/msg/Image` (colour and depth), `sensor_msgs/msg/CompressedImage`
//!   and `sensor_msgs/msg/CameraInfo` subscriptions, republished as
//!   [`clea_bus::msg::CameraImage`] / [`clea_bus::msg::CompressedImage`] /
//!   [`clea_bus::msg::CameraInfo`] on `.../camera/<cam>/image|depth|image_compressed|camera_info`,
//!   encodings, formats, stamps and frame ids preserved;
//! - **odometry**: `nav_msgs/msg/Odometry` -> [`clea_bus::msg::Odometry`] on `.../robot/<name>/odom`;
//! - **skills**: a [`clea_bus::action::SkillServer`] for every mapped skill; each goal becomes a
//!   ROS 2 action goal or service request through r2r's *untyped* (JSON) clients, so the robot's
//!   interfaces are chosen by configuration. The bus goal is accepted only once the ROS 2 server
//!   accepted it (a missing server, a rejection or an unfilled template rejects it with the
//!   reason); feedback, result, cancel and the mapping's deadline map onto the bus protocol, and
//!   an action server that vanishes mid-goal fails the goal;
//! - **e-stop**: an engaged [`clea_bus::msg::EStop`] on the bus cancels every active ROS 2 goal,
//!   publishes `std_msgs/msg/Bool` `true` on the configured topic and rejects new goals until
//!   released; [`Ros2Adapter::estop_stats`] reports how long the cancel requests took.
//!
//! Threading: the r2r node lives on its own thread with a single-threaded executor (r2r handles
//! are not all `Send`); the bus side runs on the caller's tokio runtime.

#[cfg(feature = "ros2")]
mod adapter;
pub mod config;
#[cfg(feature = "ros2")]
mod node;
pub mod template;

#[cfg(feature = "ros2")]
pub use adapter::{
    check_interfaces, compressed_to_bus, image_to_bus, info_to_bus, odometry_to_bus, AdapterError,
    EStopStats, Ros2Adapter,
};
pub use config::{
    CameraConfig, CameraQos, ConfigError, EStopConfig, InterfaceKind, NamedPose, RobotConfig,
    Ros2LaunchFile, SkillMapping,
};
