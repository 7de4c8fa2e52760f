//! Configuration of the ROS 2 robot adapter, as written in a launch file (YAML).
//!
//! Every struct denies unknown fields, so a typo is an error that names the field, not a silently
//! ignored setting. [`RobotConfig::validate`] checks what serde cannot: a mapping for every skill
//! served, a pose for every navigation point, well-formed interface type names.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Errors of a robot configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The YAML did not parse (syntax, unknown field, wrong type).
    #[error("invalid ROS 2 robot configuration: {0}")]
    Parse(String),
    /// An interface type name that is malformed for its use or unknown to the ROS 2 install.
    #[error("unknown message type {ty:?} for {what}: {why}")]
    UnknownMessageType {
        /// The type as written.
        ty: String,
        /// Where it is used, e.g. `skill go_to` or `camera head`.
        what: String,
        /// Why it is rejected.
        why: String,
    },
    /// A navigation point of the world has no named pose.
    #[error("navigation point {0:?} has no pose in `poses:` (a go_to there could not be sent)")]
    MissingPose(String),
    /// A skill of the pool that the robot must serve has no mapping.
    #[error("skill {0:?} has no mapping in `skills:` (map it onto a ROS 2 action or service)")]
    SkillWithoutMapping(String),
    /// A name that cannot be used in a bus key.
    #[error("invalid name {0:?} (allowed: letters, digits, '_' and '-')")]
    InvalidName(String),
}

/// A launch file for the ROS 2 adapter: the bus to join and the robot to bridge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ros2LaunchFile {
    /// The bus (same fields as in `clea run` launch files).
    #[serde(default)]
    pub bus: clea_bus::BusConfig,
    /// The robot.
    pub robot: RobotConfig,
}

impl Ros2LaunchFile {
    /// Parse a launch file.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with serde's message (line, column, field).
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        serde_yaml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
    }
}

/// One robot: its ROS 2 node, cameras, skill mappings, named poses and e-stop topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// Robot name on the bus (`clea/<ns>/robot/<name>/...`), e.g. `robot_1`.
    pub name: String,
    /// Name of the adapter's ROS 2 node (default `clea_<name>`).
    #[serde(default)]
    pub node_name: Option<String>,
    /// ROS 2 namespace of the node (default: root).
    #[serde(default)]
    pub node_namespace: String,
    /// Cameras by bus name (`.../camera/<name>/...`).
    #[serde(default)]
    pub cameras: BTreeMap<String, CameraConfig>,
    /// Skill name -> ROS 2 action or service.
    #[serde(default)]
    pub skills: BTreeMap<String, SkillMapping>,
    /// Named poses (navigation points) by world name.
    #[serde(default)]
    pub poses: BTreeMap<String, NamedPose>,
    /// Emergency stop output.
    #[serde(default)]
    pub estop: Option<EStopConfig>,
}

/// Topics of one camera (`sensor_msgs/msg/Image` and `sensor_msgs/msg/CameraInfo`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Colour image topic -> bus `.../camera/<cam>/image`.
    pub image_topic: String,
    /// Its type: only `sensor_msgs/msg/Image` (raw) is bridged.
    #[serde(default = "image_type")]
    pub image_type: String,
    /// Depth image topic (aligned to colour; `16UC1` or `32FC1`) -> bus `.../camera/<cam>/depth`.
    #[serde(default)]
    pub depth_topic: Option<String>,
    /// `sensor_msgs/msg/CameraInfo` topic -> bus `.../camera/<cam>/camera_info`.
    #[serde(default)]
    pub info_topic: Option<String>,
    /// QoS of the subscriptions: `sensor_data` (best effort, the camera-driver default) or
    /// `reliable`.
    #[serde(default)]
    pub qos: CameraQos,
}

fn image_type() -> String {
    "sensor_msgs/msg/Image".into()
}

/// QoS of camera subscriptions.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CameraQos {
    /// Best effort, keep last 5 (matches both reliable and best-effort publishers).
    #[default]
    SensorData,
    /// Reliable, keep last 10.
    Reliable,
}

/// How a skill maps onto the robot's ROS 2 interface.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillMapping {
    /// `action` or `service`.
    pub kind: InterfaceKind,
    /// Interface type, e.g. `nav2_msgs/action/NavigateToPose`, `std_srvs/srv/SetBool`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Action server or service name, e.g. `/navigate_to_pose`.
    pub server: String,
    /// Goal (or request) JSON template; see [`crate::ros2::template`] for the placeholders.
    #[serde(default = "empty_object")]
    pub goal: serde_json::Value,
    /// How long to wait for the server to be discovered before rejecting the goal, s.
    #[serde(default = "default_server_wait")]
    pub server_wait_s: f64,
    /// How long to wait for the server to accept the goal, s.
    #[serde(default = "default_accept")]
    pub accept_timeout_s: f64,
    /// Deadline for the result after acceptance, s; passed, the goal is canceled and ends
    /// `timed_out`. `None`: no deadline (the bus client may still set one).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// JSON pointer into the result (or response) of a boolean that must be true for success,
    /// e.g. `/success` for `std_srvs/srv/SetBool`.
    #[serde(default)]
    pub success_field: Option<String>,
    /// JSON pointer into the result of a failure message, e.g. `/message`.
    #[serde(default)]
    pub message_field: Option<String>,
    /// JSON pointer into the feedback of a progress number in `[0, 1]`.
    #[serde(default)]
    pub progress_field: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}
fn default_server_wait() -> f64 {
    2.0
}
fn default_accept() -> f64 {
    2.0
}

/// Action or service.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InterfaceKind {
    /// A ROS 2 action (goal, feedback, result, cancel).
    Action,
    /// A ROS 2 service (request, response; cancel abandons the call).
    Service,
}

/// A named pose (a navigation point) in a fixed frame.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NamedPose {
    /// Frame, e.g. `map`.
    #[serde(default = "map_frame")]
    pub frame_id: String,
    /// Position `[x, y, z]`, m.
    pub position: [f64; 3],
    /// Heading around z, rad (used when `orientation` is absent).
    #[serde(default)]
    pub yaw: f64,
    /// Orientation quaternion `[x, y, z, w]` (overrides `yaw`).
    #[serde(default)]
    pub orientation: Option<[f64; 4]>,
}

fn map_frame() -> String {
    "map".into()
}

impl NamedPose {
    /// The orientation quaternion `[x, y, z, w]`.
    pub fn quaternion(&self) -> [f64; 4] {
        self.orientation.unwrap_or_else(|| {
            let h = self.yaw / 2.0;
            [0.0, 0.0, h.sin(), h.cos()]
        })
    }
}

/// E-stop output: the adapter publishes `std_msgs/msg/Bool` (`true`: engaged) on `topic`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EStopConfig {
    /// Topic, e.g. `/emergency_stop`.
    pub topic: String,
}

fn is_chunk(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether `ty` looks like `pkg/<middle>/Name`.
fn check_type(ty: &str, middle: &str, what: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = ty.split('/').collect();
    let ok = parts.len() == 3
        && parts[1] == middle
        && parts[0]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !parts[0].is_empty()
        && parts[2]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::UnknownMessageType {
            ty: ty.into(),
            what: what.into(),
            why: format!("expected `<package>/{middle}/<Type>`"),
        })
    }
}

impl RobotConfig {
    /// Check what serde cannot: names usable on the bus, interface type names of the right form,
    /// a mapping for every skill in `skills`, a pose for every point in `navigation_points`.
    /// (Whether a type exists in the ROS 2 install is checked when the adapter starts.)
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self, skills: &[&str], navigation_points: &[&str]) -> Result<(), ConfigError> {
        if !is_chunk(&self.name) {
            return Err(ConfigError::InvalidName(self.name.clone()));
        }
        for (cam, c) in &self.cameras {
            if !is_chunk(cam) {
                return Err(ConfigError::InvalidName(cam.clone()));
            }
            if c.image_type != "sensor_msgs/msg/Image" {
                return Err(ConfigError::UnknownMessageType {
                    ty: c.image_type.clone(),
                    what: format!("camera {cam}"),
                    why: "only sensor_msgs/msg/Image is bridged".into(),
                });
            }
        }
        for (skill, m) in &self.skills {
            if !is_chunk(skill) {
                return Err(ConfigError::InvalidName(skill.clone()));
            }
            let middle = match m.kind {
                InterfaceKind::Action => "action",
                InterfaceKind::Service => "srv",
            };
            check_type(&m.ty, middle, &format!("skill {skill}"))?;
        }
        for s in skills {
            if !self.skills.contains_key(*s) {
                return Err(ConfigError::SkillWithoutMapping((*s).into()));
            }
        }
        for p in navigation_points {
            if !self.poses.contains_key(*p) {
                return Err(ConfigError::MissingPose((*p).into()));
            }
        }
        Ok(())
    }
}
