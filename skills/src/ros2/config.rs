//! Configuration of the ROS 2 robot adapter, as written in a launch file (YAML).
//!
//! Every struct denies unknown fields, so a typo is an error that names the field, not a silently
//! ignored setting. [`RobotConfig::validate`] checks what serde cannot: a mapping for every skill
//! served, a pose for every navigation point, well-formed interface type names.

use crate::pool::POOL;
use clea_bus::msg::WorldVocabulary;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// A mapped skill that the robot cannot perform (not in the pool, or its capabilities do
    /// not allow it).
    #[error(
        "skill {skill:?} is mapped, but it is not a skill of robot {robot} (its skills: {allowed})"
    )]
    NotASkillOfTheRobot {
        /// The mapped skill.
        skill: String,
        /// The robot.
        robot: String,
        /// The skills the robot has, comma-separated.
        allowed: String,
    },
    /// A time that is not a number of seconds in range.
    #[error("{what}: {value} is not a time in [0, 1e6] s")]
    InvalidTime {
        /// Which field.
        what: String,
        /// The value.
        value: f64,
    },
    /// A goal template placeholder that cannot be filled.
    #[error("skills.{skill}.goal: {placeholder:?} {why}")]
    BadPlaceholder {
        /// The skill.
        skill: String,
        /// The placeholder as written.
        placeholder: String,
        /// Why.
        why: String,
    },
    /// A named pose that is not a navigation point of the world.
    #[error("poses.{0}: not a navigation point of the world (its navigation points: {1})")]
    UnknownPose(String, String),
    /// The robot is not one of the world's robots.
    #[error("robot {robot:?} is not a robot of the world (its robots: {known})")]
    UnknownRobot {
        /// The configured name.
        robot: String,
        /// The world's robots, comma-separated.
        known: String,
    },
    /// A ROS 2 topic or server name that ROS 2 would refuse.
    #[error("{what}: {name:?} is not a valid ROS 2 name ({why})")]
    InvalidTopic {
        /// Which field.
        what: String,
        /// The name as written.
        name: String,
        /// Why.
        why: &'static str,
    },
}

/// A launch file for the ROS 2 adapter: the bus to join and the robot to bridge, and what runs
/// beside the adapter on the robot (`P`: the perception section's type, which is the
/// launcher's to give, since this crate knows no detector; by default any value).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ros2LaunchFile<P = serde_json::Value> {
    /// What the file is: `robot` (optional; without it, a file with a `robot:` key is one).
    #[serde(default)]
    pub kind: Option<RobotKind>,
    /// The bus (same fields as in `clea run` launch files).
    #[serde(default)]
    pub bus: clea_bus::BusConfig,
    /// The world file whose robot this is (`sim/worlds/clea-kitchen.yaml`), relative to the
    /// launch file: it says which skills the robot must serve (those its capabilities allow) and
    /// which navigation points need a pose.
    #[serde(default)]
    pub world: Option<PathBuf>,
    /// The robot.
    pub robot: RobotConfig,
    /// Perception on the robot's cameras, run in the adapter's process (`clea run` starts it
    /// after the adapter).
    #[serde(default = "none::<P>")]
    pub perception: Option<P>,
}

/// A missing section (`#[serde(default)]` would ask `P: Default`).
fn none<T>() -> Option<T> {
    None
}

/// The `kind:` of a robot launch file: only `robot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RobotKind {
    /// A ROS 2 robot launch file.
    Robot,
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
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
    /// `nav_msgs/msg/Odometry` topic of the base (e.g. `/odom`) -> bus `.../robot/<name>/odom`.
    #[serde(default)]
    pub odometry_topic: Option<String>,
}

/// Topics of one camera (`sensor_msgs/msg/Image` and `sensor_msgs/msg/CameraInfo`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Colour image topic -> bus `.../camera/<cam>/image` (raw) or
    /// `.../camera/<cam>/image_compressed` (compressed).
    pub image_topic: String,
    /// Its type: `sensor_msgs/msg/Image` (raw, the default) or `sensor_msgs/msg/CompressedImage`
    /// (JPEG/PNG from `image_transport`'s `compressed` plugin, e.g. `.../image_raw/compressed`).
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
    IMAGE.into()
}

const IMAGE: &str = "sensor_msgs/msg/Image";
const COMPRESSED_IMAGE: &str = "sensor_msgs/msg/CompressedImage";

impl CameraConfig {
    /// Whether the colour topic carries `sensor_msgs/msg/CompressedImage`.
    pub fn compressed(&self) -> bool {
        self.image_type == COMPRESSED_IMAGE
    }
}

/// QoS of camera subscriptions.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CameraQos {
    /// Best effort, keep last 5 (matches both reliable and best-effort publishers).
    #[default]
    SensorData,
    /// Reliable, keep last 10.
    Reliable,
}

/// How a skill maps onto the robot's ROS 2 interface.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
    /// Deadline for the result after acceptance, s; passed, the goal is canceled (and ends
    /// `timed_out` unless the server reports another result within `cancel_grace_s`). `None`:
    /// no deadline (the bus client may still set one).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// After a cancel (the agent's, or `timeout_s` running out), how long to wait for the
    /// server's own result, s. The server's result is what the bus reports (a goal that
    /// SUCCEEDED in the meantime did the work); only when none comes within this time does the
    /// goal end `canceled` (or `timed_out`).
    #[serde(default = "default_cancel_grace")]
    pub cancel_grace_s: f64,
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
fn default_cancel_grace() -> f64 {
    10.0
}
fn default_accept() -> f64 {
    2.0
}

/// Action or service.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InterfaceKind {
    /// A ROS 2 action (goal, feedback, result, cancel).
    Action,
    /// A ROS 2 service (request, response; cancel abandons the call).
    Service,
}

/// A named pose (a navigation point) in a fixed frame.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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
        if let Some(n) = &self.node_name {
            let ok = n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(ConfigError::InvalidTopic {
                    what: "node_name".into(),
                    name: n.clone(),
                    why: "a node name is letters, digits and '_', not starting with a digit",
                });
            }
        }
        if !self.node_namespace.is_empty() {
            if !self.node_namespace.starts_with('/') {
                return Err(ConfigError::InvalidTopic {
                    what: "node_namespace".into(),
                    name: self.node_namespace.clone(),
                    why: "a namespace is empty or starts with '/'",
                });
            }
            if self.node_namespace != "/" {
                check_ros_name("node_namespace", &self.node_namespace)?;
            }
        }
        for (cam, c) in &self.cameras {
            if !is_chunk(cam) {
                return Err(ConfigError::InvalidName(cam.clone()));
            }
            if c.image_type != IMAGE && c.image_type != COMPRESSED_IMAGE {
                return Err(ConfigError::UnknownMessageType {
                    ty: c.image_type.clone(),
                    what: format!("camera {cam}"),
                    why: format!("a camera's image_type is {IMAGE} or {COMPRESSED_IMAGE}"),
                });
            }
            let topics = [
                Some(&c.image_topic),
                c.depth_topic.as_ref(),
                c.info_topic.as_ref(),
            ];
            for (field, t) in ["image_topic", "depth_topic", "info_topic"]
                .iter()
                .zip(topics)
            {
                if let Some(t) = t {
                    check_ros_name(&format!("cameras.{cam}.{field}"), t)?;
                }
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
            check_ros_name(&format!("skills.{skill}.server"), &m.server)?;
            let times = [
                ("server_wait_s", Some(m.server_wait_s)),
                ("accept_timeout_s", Some(m.accept_timeout_s)),
                ("timeout_s", m.timeout_s),
                ("cancel_grace_s", Some(m.cancel_grace_s)),
            ];
            for (field, t) in times {
                if let Some(t) = t.filter(|t| !(t.is_finite() && (0.0..=1e6).contains(t))) {
                    return Err(ConfigError::InvalidTime {
                        what: format!("skills.{skill}.{field}"),
                        value: t,
                    });
                }
            }
            for p in super::template::placeholders(&m.goal) {
                if let super::template::Placeholder::Unknown(s) = p {
                    return Err(ConfigError::BadPlaceholder {
                        skill: skill.clone(),
                        placeholder: s,
                        why: "is not a placeholder ($robot, $arg:NAME, $pose:NAME, $pose_stamped:NAME)".into(),
                    });
                }
            }
        }
        if let Some(t) = &self.odometry_topic {
            check_ros_name("odometry_topic", t)?;
        }
        if let Some(e) = &self.estop {
            check_ros_name("estop.topic", &e.topic)?;
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

    /// [`validate`](Self::validate) against a world: the robot must be one of its robots, every
    /// skill of the pool that the robot's capabilities allow needs a mapping (and no other skill
    /// may have one), and when it serves
    /// `go_to`, every navigation point of the world needs a pose.
    ///
    /// # Errors
    /// [`ConfigError::UnknownRobot`], [`ConfigError::NotASkillOfTheRobot`], or the first problem
    /// [`validate`](Self::validate) finds.
    pub fn validate_for_world(&self, world: &WorldVocabulary) -> Result<(), ConfigError> {
        let Some(robot) = world.robot(&self.name) else {
            let known: Vec<&str> = world.robots.iter().map(|r| r.name.as_str()).collect();
            return Err(ConfigError::UnknownRobot {
                robot: self.name.clone(),
                known: known.join(", "),
            });
        };
        let skills: Vec<&str> = POOL
            .iter()
            .filter(|s| s.requires.iter().all(|c| c.held_by(robot)))
            .map(|s| s.name.as_str())
            .collect();
        if let Some(extra) = self.skills.keys().find(|k| !skills.contains(&k.as_str())) {
            return Err(ConfigError::NotASkillOfTheRobot {
                skill: extra.clone(),
                robot: self.name.clone(),
                allowed: skills.join(", "),
            });
        }
        // Placeholders name the skill's parameters; poses come from navigation points.
        for spec in POOL
            .iter()
            .filter(|s| self.skills.contains_key(s.name.as_str()))
        {
            let skill = spec.name.as_str();
            for p in super::template::placeholders(&self.skills[skill].goal) {
                use super::template::Placeholder;
                let (name, text, pose) = match &p {
                    Placeholder::Arg(n) => (n, format!("$arg:{n}"), false),
                    Placeholder::Pose(n, stamped) => {
                        let kind = if *stamped { "pose_stamped" } else { "pose" };
                        (n, format!("${kind}:{n}"), true)
                    }
                    _ => continue,
                };
                let params: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                let why = match spec.params.iter().find(|p| p.name == name.as_str()) {
                    None => format!("names no parameter of {skill}({})", params.join(", ")),
                    Some(p) if pose && p.kind != crate::ArgKind::NavigationPoint => {
                        format!("takes a pose from {name}, which is not a navigation point")
                    }
                    Some(_) => continue,
                };
                return Err(ConfigError::BadPlaceholder {
                    skill: skill.into(),
                    placeholder: text,
                    why,
                });
            }
        }
        if let Some(p) = self.poses.keys().find(|p| !world.is_navigation_point(p)) {
            return Err(ConfigError::UnknownPose(
                p.clone(),
                world.navigation_points.join(", "),
            ));
        }
        let points: Vec<&str> = if skills.contains(&"go_to") {
            world.navigation_points.iter().map(String::as_str).collect()
        } else {
            Vec::new()
        };
        self.validate(&skills, &points)
    }
}

/// Whether `name` is a valid ROS 2 topic or service name (rcl's rules, relative names included;
/// `~` and substitutions are not used by the adapter).
fn check_ros_name(what: &str, name: &str) -> Result<(), ConfigError> {
    let bad = |why| {
        Err(ConfigError::InvalidTopic {
            what: what.into(),
            name: name.into(),
            why,
        })
    };
    let body = name.strip_prefix('/').unwrap_or(name);
    if body.is_empty() {
        return bad("empty");
    }
    for token in body.split('/') {
        if token.is_empty() {
            return bad("empty token ('//' or a trailing '/')");
        }
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            return bad("a token starts with a digit");
        }
        if !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return bad("only letters, digits, '_' and '/' are allowed");
        }
    }
    Ok(())
}
