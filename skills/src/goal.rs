//! Goal predicates of a task (CLEA-KITCHEN.md, "The 12 tasks").

use crate::state::{Location, WorldState};
use crate::term::{parse_term, TermError};
use clea_bus::msg::WorldVocabulary;
use std::collections::BTreeMap;
use std::fmt;

/// A goal predicate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Goal {
    /// `on(object, receptacle)` or `in(object, receptacle)`: the object is there.
    /// `on` and `in` mean the same; the text keeps the word the task used.
    At {
        /// `on` or `in`.
        word: &'static str,
        /// Object.
        object: String,
        /// Receptacle.
        receptacle: String,
    },
    /// `roasted(object)`.
    Roasted {
        /// Object.
        object: String,
    },
    /// `found(object)`: the agent, declaring done, believes the object is where it really is.
    Found {
        /// Object.
        object: String,
    },
}

/// Why a goal predicate is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GoalError {
    /// Not a term.
    #[error(transparent)]
    Syntax(#[from] TermError),
    /// Unknown predicate name.
    #[error("unknown goal predicate {0:?} (expected on, in, roasted or found)")]
    UnknownPredicate(String),
    /// Wrong number of arguments.
    #[error("{predicate} takes {expected} arguments, got {got}")]
    Arity {
        /// Predicate.
        predicate: String,
        /// Expected.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// A name the world does not have.
    #[error("goal names unknown {kind} {name:?}")]
    UnknownName {
        /// `object` or `receptacle`.
        kind: &'static str,
        /// The name.
        name: String,
    },
}

impl Goal {
    /// Parse a goal term such as `on(apple, table)` and check its names against `vocab`.
    ///
    /// # Errors
    /// [`GoalError`] naming what is wrong.
    pub fn parse(text: &str, vocab: &WorldVocabulary) -> Result<Goal, GoalError> {
        let (name, args) = parse_term(text)?;
        let expected = match name.as_str() {
            "on" | "in" => 2,
            "roasted" | "found" => 1,
            _ => return Err(GoalError::UnknownPredicate(name)),
        };
        if args.len() != expected {
            return Err(GoalError::Arity {
                predicate: name,
                expected,
                got: args.len(),
            });
        }
        if !vocab.is_object(&args[0]) {
            return Err(GoalError::UnknownName {
                kind: "object",
                name: args[0].clone(),
            });
        }
        let object = args[0].clone();
        Ok(match name.as_str() {
            "roasted" => Goal::Roasted { object },
            "found" => Goal::Found { object },
            word => {
                if vocab.receptacle(&args[1]).is_none() {
                    return Err(GoalError::UnknownName {
                        kind: "receptacle",
                        name: args[1].clone(),
                    });
                }
                Goal::At {
                    word: if word == "on" { "on" } else { "in" },
                    object,
                    receptacle: args[1].clone(),
                }
            }
        })
    }

    /// The object the goal is about.
    pub fn object(&self) -> &str {
        match self {
            Goal::At { object, .. } | Goal::Roasted { object } | Goal::Found { object } => object,
        }
    }

    /// Whether the goal holds in `state`; `found` uses `believed` (object → location name).
    /// `None` when the state does not know.
    pub fn holds(&self, state: &WorldState, believed: &BTreeMap<String, String>) -> Option<bool> {
        match self {
            Goal::At {
                object, receptacle, ..
            } => Some(*state.location.get(object)? == Location::In(receptacle.clone())),
            Goal::Roasted { object } => Some(state.roasted.contains(object)),
            Goal::Found { object } => {
                let truth = state.location.get(object)?.to_string();
                Some(believed.get(object) == Some(&truth))
            }
        }
    }
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Goal::At {
                word,
                object,
                receptacle,
            } => write!(f, "{word}({object}, {receptacle})"),
            Goal::Roasted { object } => write!(f, "roasted({object})"),
            Goal::Found { object } => write!(f, "found({object})"),
        }
    }
}
