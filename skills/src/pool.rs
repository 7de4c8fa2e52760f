//! The skill pool as data: names, typed parameters, required capabilities, preconditions and
//! effects (CLEA-KITCHEN.md "Skills"; CLEA Sec. III, "predefined skill pool").
//!
//! Planners search over these literals, critics check them, the simulator executes them and
//! model prompts show them: one table, four users, no second copy of the rules.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A skill of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillName {
    /// `go_to(robot, navigation_point)`.
    GoTo,
    /// `open(robot, openable)`.
    Open,
    /// `close(robot, openable)`.
    Close,
    /// `pick_from(robot, object, receptacle)`.
    PickFrom,
    /// `release_to(robot, object, receptacle)`.
    ReleaseTo,
}

impl SkillName {
    /// Every skill, in pool order.
    pub const ALL: [SkillName; 5] = [
        SkillName::GoTo,
        SkillName::Open,
        SkillName::Close,
        SkillName::PickFrom,
        SkillName::ReleaseTo,
    ];

    /// Wire name, e.g. `pick_from`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillName::GoTo => "go_to",
            SkillName::Open => "open",
            SkillName::Close => "close",
            SkillName::PickFrom => "pick_from",
            SkillName::ReleaseTo => "release_to",
        }
    }

    /// The specification of this skill.
    pub fn spec(self) -> &'static SkillSpec {
        &POOL[self as usize]
    }
}

impl fmt::Display for SkillName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SkillName {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        SkillName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or(())
    }
}

/// What kind of world name an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    /// A robot.
    Robot,
    /// A navigation point.
    NavigationPoint,
    /// An openable receptacle.
    Openable,
    /// A movable object.
    Object,
    /// Any receptacle.
    Receptacle,
}

impl fmt::Display for ArgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArgKind::Robot => "robot",
            ArgKind::NavigationPoint => "navigation point",
            ArgKind::Openable => "openable receptacle",
            ArgKind::Object => "object",
            ArgKind::Receptacle => "receptacle",
        })
    }
}

/// A robot capability a skill requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// A mobile base.
    Mobile,
    /// At least one arm.
    Manipulate,
}

impl Capability {
    /// Whether `robot` has this capability (an arm counts only if it can carry).
    pub fn held_by(self, robot: &clea_bus::msg::RobotInfo) -> bool {
        match self {
            Capability::Mobile => robot.mobile,
            Capability::Manipulate => robot.arms > 0 && robot.carry > 0,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::Mobile => "a mobile base",
            Capability::Manipulate => "an arm",
        })
    }
}

/// A state predicate of the skill model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    /// `at(robot, navigation_point)`: the robot stands there.
    At,
    /// `reaches(robot, receptacle)`: from where it is, the robot can reach the receptacle.
    Reaches,
    /// `accessible(receptacle)`: not a closed container.
    Accessible,
    /// `open(openable)`.
    IsOpen,
    /// `in(object, receptacle)`: on a surface or inside a container.
    In,
    /// `holding(robot, object)`.
    Holding,
    /// `hand_free(robot)`: the robot can take one more object.
    HandFree,
}

impl Predicate {
    /// Term name, e.g. `hand_free`.
    pub fn as_str(self) -> &'static str {
        match self {
            Predicate::At => "at",
            Predicate::Reaches => "reaches",
            Predicate::Accessible => "accessible",
            Predicate::IsOpen => "open",
            Predicate::In => "in",
            Predicate::Holding => "holding",
            Predicate::HandFree => "hand_free",
        }
    }
}

/// A (possibly negated) predicate over a skill's parameters, by parameter name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Literal {
    /// The predicate.
    pub predicate: Predicate,
    /// Parameter names, in predicate order.
    pub args: &'static [&'static str],
    /// `false` for a negated literal.
    pub positive: bool,
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.positive {
            f.write_str("not ")?;
        }
        write!(f, "{}({})", self.predicate.as_str(), self.args.join(", "))
    }
}

/// A parameter of a skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Param {
    /// Name in calls, e.g. `navigation_point`.
    pub name: &'static str,
    /// What it must name.
    pub kind: ArgKind,
}

/// The specification of one skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SkillSpec {
    /// Skill.
    pub name: SkillName,
    /// One sentence for prompts and `--help`.
    pub description: &'static str,
    /// Parameters, in call order.
    pub params: &'static [Param],
    /// Robot capabilities needed.
    pub requires: &'static [Capability],
    /// Must hold before; the first that fails is the failure reason.
    pub preconditions: &'static [Literal],
    /// Hold after success.
    pub effects: &'static [Literal],
}

const fn lit(predicate: Predicate, args: &'static [&'static str]) -> Literal {
    Literal {
        predicate,
        args,
        positive: true,
    }
}

const fn not(predicate: Predicate, args: &'static [&'static str]) -> Literal {
    Literal {
        predicate,
        args,
        positive: false,
    }
}

const fn p(name: &'static str, kind: ArgKind) -> Param {
    Param { name, kind }
}

use ArgKind as K;
use Predicate as P;

/// The pool, indexed by `SkillName as usize`.
pub static POOL: [SkillSpec; 5] = [
    SkillSpec {
        name: SkillName::GoTo,
        description: "Drive a mobile robot to a navigation point.",
        params: &[
            p("robot", K::Robot),
            p("navigation_point", K::NavigationPoint),
        ],
        requires: &[Capability::Mobile],
        preconditions: &[],
        effects: &[lit(P::At, &["robot", "navigation_point"])],
    },
    SkillSpec {
        name: SkillName::Open,
        description: "Open a closed openable receptacle the robot can reach.",
        params: &[p("robot", K::Robot), p("openable", K::Openable)],
        requires: &[Capability::Manipulate],
        preconditions: &[
            lit(P::Reaches, &["robot", "openable"]),
            not(P::IsOpen, &["openable"]),
        ],
        effects: &[lit(P::IsOpen, &["openable"])],
    },
    SkillSpec {
        name: SkillName::Close,
        description: "Close an open openable receptacle the robot can reach.",
        params: &[p("robot", K::Robot), p("openable", K::Openable)],
        requires: &[Capability::Manipulate],
        preconditions: &[
            lit(P::Reaches, &["robot", "openable"]),
            lit(P::IsOpen, &["openable"]),
        ],
        effects: &[not(P::IsOpen, &["openable"])],
    },
    SkillSpec {
        name: SkillName::PickFrom,
        description: "Pick an object from a receptacle the robot can reach; the hand must be free.",
        params: &[
            p("robot", K::Robot),
            p("object", K::Object),
            p("receptacle", K::Receptacle),
        ],
        requires: &[Capability::Manipulate],
        preconditions: &[
            lit(P::Reaches, &["robot", "receptacle"]),
            lit(P::Accessible, &["receptacle"]),
            lit(P::In, &["object", "receptacle"]),
            lit(P::HandFree, &["robot"]),
        ],
        effects: &[
            lit(P::Holding, &["robot", "object"]),
            not(P::In, &["object", "receptacle"]),
        ],
    },
    SkillSpec {
        name: SkillName::ReleaseTo,
        description: "Put the held object into or onto a receptacle the robot can reach.",
        params: &[
            p("robot", K::Robot),
            p("object", K::Object),
            p("receptacle", K::Receptacle),
        ],
        requires: &[Capability::Manipulate],
        preconditions: &[
            lit(P::Holding, &["robot", "object"]),
            lit(P::Reaches, &["robot", "receptacle"]),
            lit(P::Accessible, &["receptacle"]),
        ],
        effects: &[
            lit(P::In, &["object", "receptacle"]),
            not(P::Holding, &["robot", "object"]),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_is_indexed_by_name() {
        for n in SkillName::ALL {
            assert_eq!(n.spec().name, n);
            assert_eq!(n.as_str().parse::<SkillName>(), Ok(n));
        }
    }

    #[test]
    fn literals_name_declared_parameters() {
        for spec in &POOL {
            for l in spec.preconditions.iter().chain(spec.effects) {
                for a in l.args {
                    assert!(
                        spec.params.iter().any(|p| p.name == *a),
                        "{} in {}",
                        a,
                        spec.name
                    );
                }
            }
        }
    }
}
