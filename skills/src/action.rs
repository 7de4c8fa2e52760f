//! Typed skill calls and their validation against the pool and the world vocabulary.
//!
//! An untrusted [`SkillCall`] (from a model, a plan file or the bus) becomes an [`Action`] only
//! through [`validate`]; nothing else builds an `Action` from text. That is the one gate between
//! model output and a robot.

use crate::pool::{ArgKind, Capability, SkillName};
use crate::term::{parse_term, TermError};
use clea_bus::msg::{SkillCall, WorldVocabulary};
use std::collections::BTreeMap;
use std::fmt;

/// A validated skill call with typed arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `go_to(robot, navigation_point)`.
    GoTo {
        /// Robot.
        robot: String,
        /// Target navigation point.
        navigation_point: String,
    },
    /// `open(robot, openable)`.
    Open {
        /// Robot.
        robot: String,
        /// Openable receptacle.
        openable: String,
    },
    /// `close(robot, openable)`.
    Close {
        /// Robot.
        robot: String,
        /// Openable receptacle.
        openable: String,
    },
    /// `pick_from(robot, object, receptacle)`.
    PickFrom {
        /// Robot.
        robot: String,
        /// Object.
        object: String,
        /// Receptacle it is in or on.
        receptacle: String,
    },
    /// `release_to(robot, object, receptacle)`.
    ReleaseTo {
        /// Robot.
        robot: String,
        /// Held object.
        object: String,
        /// Receptacle to put it in or on.
        receptacle: String,
    },
}

impl Action {
    /// Which skill.
    pub fn skill(&self) -> SkillName {
        match self {
            Action::GoTo { .. } => SkillName::GoTo,
            Action::Open { .. } => SkillName::Open,
            Action::Close { .. } => SkillName::Close,
            Action::PickFrom { .. } => SkillName::PickFrom,
            Action::ReleaseTo { .. } => SkillName::ReleaseTo,
        }
    }

    /// The robot that executes it.
    pub fn robot(&self) -> &str {
        match self {
            Action::GoTo { robot, .. }
            | Action::Open { robot, .. }
            | Action::Close { robot, .. }
            | Action::PickFrom { robot, .. }
            | Action::ReleaseTo { robot, .. } => robot,
        }
    }

    /// Argument values in parameter order (robot first).
    pub fn args(&self) -> Vec<&str> {
        match self {
            Action::GoTo {
                robot,
                navigation_point,
            } => vec![robot, navigation_point],
            Action::Open { robot, openable } | Action::Close { robot, openable } => {
                vec![robot, openable]
            }
            Action::PickFrom {
                robot,
                object,
                receptacle,
            }
            | Action::ReleaseTo {
                robot,
                object,
                receptacle,
            } => vec![robot, object, receptacle],
        }
    }

    /// Value of the parameter named `param`.
    pub fn arg(&self, param: &str) -> Option<&str> {
        let spec = self.skill().spec();
        let i = spec.params.iter().position(|p| p.name == param)?;
        self.args().get(i).copied()
    }

    /// The call as it travels on the bus.
    pub fn to_call(&self) -> SkillCall {
        let spec = self.skill().spec();
        SkillCall {
            skill: spec.name.as_str().to_string(),
            args: spec
                .params
                .iter()
                .zip(self.args())
                .map(|(p, v)| (p.name.to_string(), serde_json::Value::from(v)))
                .collect(),
        }
    }
}

impl fmt::Display for Action {
    /// The paper's notation, e.g. `pick_from(robot_1, apple, table)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.skill(), self.args().join(", "))
    }
}

/// Why a skill call is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The skill is not in the pool.
    #[error("unknown skill {0:?} (the pool has go_to, open, close, pick_from, release_to)")]
    UnknownSkill(String),
    /// A parameter has no value.
    #[error("{skill}: missing argument {param:?}")]
    MissingArgument {
        /// Skill.
        skill: SkillName,
        /// Parameter.
        param: &'static str,
    },
    /// An argument that the skill does not have.
    #[error("{skill}: unknown argument {arg:?}")]
    UnknownArgument {
        /// Skill.
        skill: SkillName,
        /// The argument name given.
        arg: String,
    },
    /// An argument value that is not a string.
    #[error("{skill}: argument {param:?} must be a string naming a {kind}, got {value}")]
    MistypedArgument {
        /// Skill.
        skill: SkillName,
        /// Parameter.
        param: &'static str,
        /// Expected kind.
        kind: ArgKind,
        /// The JSON value given.
        value: String,
    },
    /// A name that is not in the world vocabulary as the expected kind.
    #[error("{skill}: {param} = {value:?} is not a known {kind}")]
    UnknownName {
        /// Skill.
        skill: SkillName,
        /// Parameter.
        param: &'static str,
        /// Expected kind.
        kind: ArgKind,
        /// The name given.
        value: String,
    },
    /// The robot lacks a capability the skill needs.
    #[error("{skill}: {robot} lacks {capability}")]
    LacksCapability {
        /// Skill.
        skill: SkillName,
        /// Robot.
        robot: String,
        /// What it lacks.
        capability: Capability,
    },
    /// The robot can reach the receptacle from nowhere: a fixed robot that does not have it in
    /// its reach, or a mobile one when no navigation point is near it and it is not in its
    /// reach. Such a call can never succeed, whatever the state.
    #[error("{skill}: {robot} can reach {receptacle} from nowhere; {}", can_reach(.reachable_by))]
    NeverReaches {
        /// Skill.
        skill: SkillName,
        /// Robot.
        robot: String,
        /// The receptacle.
        receptacle: String,
        /// Robots that can reach it.
        reachable_by: Vec<String>,
    },
    /// Text that is not a term (`name(arg, ...)`).
    #[error(transparent)]
    Syntax(#[from] TermError),
    /// A term with the wrong number of arguments.
    #[error("{skill} takes {expected} arguments, got {got}")]
    Arity {
        /// Skill.
        skill: SkillName,
        /// Parameters of the skill.
        expected: usize,
        /// Arguments given.
        got: usize,
    },
}

fn can_reach(robots: &[String]) -> String {
    match robots {
        [] => "no robot can".into(),
        [one] => format!("{one} can"),
        many => format!("{} can", many.join(", ")),
    }
}

/// Whether `robot` can ever reach `receptacle`: it is in the robot's reach, or the robot is
/// mobile and a navigation point is near it.
pub fn ever_reaches(
    robot: &clea_bus::msg::RobotInfo,
    receptacle: &clea_bus::msg::ReceptacleInfo,
) -> bool {
    robot.reach.contains(&receptacle.name) || (robot.mobile && receptacle.near.is_some())
}

/// Validate `call` against the skill pool and the world vocabulary.
///
/// # Errors
/// The first problem found, as a [`CallError`]: unknown skill, missing, unknown or mistyped
/// argument, a name unknown for its kind, a robot that lacks a required capability, or a
/// receptacle the robot can reach from nowhere.
pub fn validate(call: &SkillCall, vocab: &WorldVocabulary) -> Result<Action, CallError> {
    let skill: SkillName = call
        .skill
        .parse()
        .map_err(|_| CallError::UnknownSkill(call.skill.clone()))?;
    let spec = skill.spec();
    if let Some(arg) = call
        .args
        .keys()
        .find(|k| !spec.params.iter().any(|p| p.name == k.as_str()))
    {
        return Err(CallError::UnknownArgument {
            skill,
            arg: arg.clone(),
        });
    }
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for param in spec.params {
        let v = call
            .args
            .get(param.name)
            .ok_or(CallError::MissingArgument {
                skill,
                param: param.name,
            })?;
        let s = v.as_str().ok_or_else(|| CallError::MistypedArgument {
            skill,
            param: param.name,
            kind: param.kind,
            value: v.to_string(),
        })?;
        let known = match param.kind {
            ArgKind::Robot => vocab.robot(s).is_some(),
            ArgKind::NavigationPoint => vocab.is_navigation_point(s),
            ArgKind::Openable => vocab.receptacle(s).is_some_and(|r| r.openable),
            ArgKind::Object => vocab.is_object(s),
            ArgKind::Receptacle => vocab.receptacle(s).is_some(),
        };
        if !known {
            return Err(CallError::UnknownName {
                skill,
                param: param.name,
                kind: param.kind,
                value: s.to_string(),
            });
        }
        values.insert(param.name, s.to_string());
    }
    let robot_name = values["robot"].clone();
    let robot = vocab.robot(&robot_name).expect("checked above");
    for cap in spec.requires {
        if !cap.held_by(robot) {
            return Err(CallError::LacksCapability {
                skill,
                robot: robot_name,
                capability: *cap,
            });
        }
    }
    for param in spec.params {
        if !matches!(param.kind, ArgKind::Openable | ArgKind::Receptacle) {
            continue;
        }
        let receptacle = vocab
            .receptacle(&values[param.name])
            .expect("checked above");
        if !ever_reaches(robot, receptacle) {
            return Err(CallError::NeverReaches {
                skill,
                robot: robot_name,
                receptacle: receptacle.name.clone(),
                reachable_by: vocab
                    .robots
                    .iter()
                    .filter(|r| ever_reaches(r, receptacle))
                    .map(|r| r.name.clone())
                    .collect(),
            });
        }
    }
    let mut take = |k: &str| values.remove(k).expect("every parameter has a value");
    Ok(match skill {
        SkillName::GoTo => Action::GoTo {
            robot: take("robot"),
            navigation_point: take("navigation_point"),
        },
        SkillName::Open => Action::Open {
            robot: take("robot"),
            openable: take("openable"),
        },
        SkillName::Close => Action::Close {
            robot: take("robot"),
            openable: take("openable"),
        },
        SkillName::PickFrom => Action::PickFrom {
            robot: take("robot"),
            object: take("object"),
            receptacle: take("receptacle"),
        },
        SkillName::ReleaseTo => Action::ReleaseTo {
            robot: take("robot"),
            object: take("object"),
            receptacle: take("receptacle"),
        },
    })
}

/// Parse a call in the paper's notation, `pick_from(robot_1, apple, table)`, into a
/// [`SkillCall`] (arguments bound to parameters by position). It is not validated.
///
/// # Errors
/// [`CallError::Syntax`] for text that is not a term, [`CallError::UnknownSkill`],
/// [`CallError::Arity`] for the wrong number of arguments.
pub fn parse_call(text: &str) -> Result<SkillCall, CallError> {
    let (name, args) = parse_term(text)?;
    let skill: SkillName = name.parse().map_err(|_| CallError::UnknownSkill(name))?;
    let spec = skill.spec();
    if args.len() != spec.params.len() {
        return Err(CallError::Arity {
            skill,
            expected: spec.params.len(),
            got: args.len(),
        });
    }
    Ok(SkillCall {
        skill: skill.as_str().to_string(),
        args: spec
            .params
            .iter()
            .zip(args)
            .map(|(p, a)| (p.name.to_string(), serde_json::Value::from(a)))
            .collect(),
    })
}
