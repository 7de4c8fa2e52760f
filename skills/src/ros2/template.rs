//! Goal templates: a JSON value in which some strings are placeholders, filled from a skill call.
//!
//! A string that is exactly one of these is replaced by a JSON value (so numbers stay numbers):
//!
//! | placeholder | becomes |
//! |---|---|
//! | `$robot` | the robot's name |
//! | `$arg:NAME` | the call's argument `NAME` as given (string, number, ...) |
//! | `$pose:NAME` | `geometry_msgs/Pose` of the named pose the argument `NAME` names |
//! | `$pose_stamped:NAME` | `geometry_msgs/PoseStamped` of that pose (header with its frame) |
//!
//! Any other string is kept as is.

use super::config::NamedPose;
use clea_bus::msg::SkillCall;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Why a template could not be filled (the goal is rejected with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The call lacks an argument the template uses.
    #[error("the call has no argument {0:?} that the goal template uses")]
    MissingArg(String),
    /// The argument names no configured pose.
    #[error("no pose named {0:?} in the launch file (argument {1:?})")]
    MissingPose(String, String),
}

/// A placeholder found in a goal template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// `$robot`.
    Robot,
    /// `$arg:NAME`.
    Arg(String),
    /// `$pose:NAME` (`false`) or `$pose_stamped:NAME` (`true`): a pose named by the argument
    /// `NAME`.
    Pose(String, bool),
    /// A string starting with `$` that is none of the above (a typo, most likely).
    Unknown(String),
}

/// Every placeholder in `template`, in document order.
pub fn placeholders(template: &Value) -> Vec<Placeholder> {
    let mut out = Vec::new();
    collect(template, &mut out);
    out
}

fn collect(v: &Value, out: &mut Vec<Placeholder>) {
    match v {
        Value::String(s) if s.starts_with('$') => out.push(if s == "$robot" {
            Placeholder::Robot
        } else if let Some(n) = s.strip_prefix("$arg:") {
            Placeholder::Arg(n.into())
        } else if let Some(n) = s.strip_prefix("$pose_stamped:") {
            Placeholder::Pose(n.into(), true)
        } else if let Some(n) = s.strip_prefix("$pose:") {
            Placeholder::Pose(n.into(), false)
        } else {
            Placeholder::Unknown(s.clone())
        }),
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}

/// `geometry_msgs/Pose` JSON of `p`.
pub fn pose_json(p: &NamedPose) -> Value {
    let q = p.quaternion();
    json!({
        "position": {"x": p.position[0], "y": p.position[1], "z": p.position[2]},
        "orientation": {"x": q[0], "y": q[1], "z": q[2], "w": q[3]},
    })
}

/// Fill `template` from `call`, the robot name and the named poses.
///
/// # Errors
/// [`TemplateError`] for a missing argument or pose.
pub fn fill(
    template: &Value,
    robot: &str,
    call: &SkillCall,
    poses: &BTreeMap<String, NamedPose>,
) -> Result<Value, TemplateError> {
    let arg = |name: &str| {
        call.args
            .get(name)
            .ok_or_else(|| TemplateError::MissingArg(name.into()))
    };
    let pose = |name: &str| -> Result<&NamedPose, TemplateError> {
        let v = arg(name)?;
        let key = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        poses
            .get(&key)
            .ok_or_else(|| TemplateError::MissingPose(key, name.into()))
    };
    Ok(match template {
        Value::String(s) => {
            if s == "$robot" {
                Value::String(robot.into())
            } else if let Some(n) = s.strip_prefix("$arg:") {
                arg(n)?.clone()
            } else if let Some(n) = s.strip_prefix("$pose_stamped:") {
                let p = pose(n)?;
                json!({"header": {"stamp": {"sec": 0, "nanosec": 0}, "frame_id": p.frame_id},
                       "pose": pose_json(p)})
            } else if let Some(n) = s.strip_prefix("$pose:") {
                pose_json(pose(n)?)
            } else {
                template.clone()
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| fill(v, robot, call, poses))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, robot, call, poses)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}
