//! World state and the semantics of the pool's preconditions and effects over it.
//!
//! The same [`WorldState`] holds the simulator's ground truth (every entry known) and an agent's
//! belief (missing entries are unknown). Evaluation is therefore three-valued: a precondition
//! holds, fails (with the reason a robot would give), or is unknown (the belief lacks the fact).

use crate::action::Action;
use crate::pool::{Literal, Predicate};
use clea_bus::msg::WorldVocabulary;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where an object is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// In or on a receptacle.
    In(String),
    /// In a robot's gripper.
    HeldBy(String),
    /// Taken out of the world (by a perturbation).
    Removed,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::In(r) => f.write_str(r),
            Location::HeldBy(r) => f.write_str(r),
            Location::Removed => f.write_str("removed"),
        }
    }
}

/// Facts of the world; a missing entry is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorldState {
    /// Navigation point of each mobile robot.
    pub robot_place: BTreeMap<String, String>,
    /// Location of each object.
    pub location: BTreeMap<String, Location>,
    /// Open state of each openable receptacle.
    pub open: BTreeMap<String, bool>,
    /// Objects that are roasted.
    pub roasted: BTreeSet<String>,
}

/// A precondition that does not hold, with the reason a robot gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The literal, grounded, e.g. `accessible(refrigerator)`.
    pub literal: String,
    /// The reason in words, e.g. `refrigerator is closed`.
    pub reason: String,
}

/// Outcome of checking an action's preconditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Every precondition holds.
    Holds,
    /// A precondition is unknown in this (belief) state; the grounded literal.
    Unknown(String),
    /// A precondition fails.
    Fails(Unmet),
}

impl WorldState {
    /// Objects `robot` holds, in name order.
    pub fn held_by(&self, robot: &str) -> Vec<String> {
        self.location
            .iter()
            .filter(|(_, l)| matches!(l, Location::HeldBy(r) if r == robot))
            .map(|(o, _)| o.clone())
            .collect()
    }

    /// Objects in or on `receptacle`, in name order.
    pub fn contents(&self, receptacle: &str) -> Vec<String> {
        self.location
            .iter()
            .filter(|(_, l)| matches!(l, Location::In(r) if r == receptacle))
            .map(|(o, _)| o.clone())
            .collect()
    }

    /// Whether `robot` can reach `receptacle` from where it is (unknown if its place is unknown).
    pub fn reaches(&self, vocab: &WorldVocabulary, robot: &str, receptacle: &str) -> Option<bool> {
        let r = vocab.robot(robot)?;
        if r.reach.iter().any(|x| x == receptacle) {
            return Some(true);
        }
        if !r.mobile {
            return Some(false);
        }
        let near = vocab.receptacle(receptacle).and_then(|x| x.near.as_deref());
        let place = self.robot_place.get(robot)?;
        Some(near == Some(place.as_str()))
    }

    /// Whether the contents of `receptacle` can be reached and seen: true unless it is an
    /// openable that is closed (unknown if its open state is unknown).
    pub fn accessible(&self, vocab: &WorldVocabulary, receptacle: &str) -> Option<bool> {
        match vocab.receptacle(receptacle) {
            Some(r) if r.openable => self.open.get(receptacle).copied(),
            _ => Some(true),
        }
    }

    fn holds(&self, vocab: &WorldVocabulary, pred: Predicate, args: &[&str]) -> Option<bool> {
        match pred {
            Predicate::At => Some(self.robot_place.get(args[0])?.as_str() == args[1]),
            Predicate::Reaches => self.reaches(vocab, args[0], args[1]),
            Predicate::Accessible => self.accessible(vocab, args[0]),
            Predicate::IsOpen => self.open.get(args[0]).copied(),
            Predicate::In => Some(*self.location.get(args[0])? == Location::In(args[1].into())),
            Predicate::Holding => {
                Some(*self.location.get(args[1])? == Location::HeldBy(args[0].into()))
            }
            Predicate::HandFree => {
                let carry = vocab.robot(args[0]).map_or(0, |r| r.carry) as usize;
                Some(self.held_by(args[0]).len() < carry)
            }
        }
    }

    /// Check the preconditions of `action` in order; the first failing one is the reason.
    pub fn check(&self, vocab: &WorldVocabulary, action: &Action) -> Check {
        let spec = action.skill().spec();
        let mut unknown = None;
        for l in spec.preconditions {
            let args = ground(action, l);
            match self.holds(vocab, l.predicate, &args) {
                Some(v) if v == l.positive => {}
                Some(_) => {
                    return Check::Fails(Unmet {
                        literal: grounded(l, &args),
                        reason: self.reason(vocab, l, &args),
                    })
                }
                None => {
                    unknown.get_or_insert_with(|| grounded(l, &args));
                }
            }
        }
        match unknown {
            Some(l) => Check::Unknown(l),
            None => Check::Holds,
        }
    }

    fn reason(&self, vocab: &WorldVocabulary, l: &Literal, a: &[&str]) -> String {
        match (l.predicate, l.positive) {
            (Predicate::Reaches, _) => match self.robot_place.get(a[0]) {
                Some(p) => format!("{} cannot reach {} from {p}", a[0], a[1]),
                None => format!("{} cannot reach {}", a[0], a[1]),
            },
            (Predicate::Accessible, _) => format!("{} is closed", a[0]),
            (Predicate::IsOpen, true) => format!("{} is already closed", a[0]),
            (Predicate::IsOpen, false) => format!("{} is already open", a[0]),
            (Predicate::In, _) => format!("{} is not in {}", a[0], a[1]),
            (Predicate::Holding, _) => format!("{} is not holding {}", a[0], a[1]),
            (Predicate::HandFree, _) => {
                let held = self.held_by(a[0]).join(", ");
                let carry = vocab.robot(a[0]).map_or(0, |r| r.carry);
                format!("{}'s hand is full (holding {held}; carries {carry})", a[0])
            }
            (Predicate::At, _) => format!("{} is not at {}", a[0], a[1]),
        }
    }

    /// What would make `action`'s first failing precondition hold, in this state, as a call to
    /// make first or a fact to use: `go_to(robot_1, in_front_of_oven) first`, `open(robot_2,
    /// drawer_top) first`, `the belief has apple in refrigerator`. `None` when every
    /// precondition holds or is unknown, or nothing in the pool helps.
    ///
    /// Meant for a belief state (the critic's repair for a planner, CLEA Sec. III-D): on the
    /// simulator's true state it would tell where things really are, so the simulator's failure
    /// reasons never carry it.
    pub fn repair(&self, vocab: &WorldVocabulary, action: &Action) -> Option<String> {
        let spec = action.skill().spec();
        let (l, a) = spec.preconditions.iter().find_map(|l| {
            let args = ground(action, l);
            match self.holds(vocab, l.predicate, &args) {
                Some(v) if v != l.positive => Some((l, args)),
                _ => None,
            }
        })?;
        let robot = action.robot();
        let whereabouts = |object: &str| match self.location.get(object) {
            Some(Location::In(r)) => format!("the belief has {object} in {r}"),
            Some(Location::HeldBy(r)) => format!("the belief has {object} held by {r}"),
            Some(Location::Removed) => format!("{object} is gone from the world"),
            // Unknown locations make the literal unknown, not failing: never reached.
            None => format!("where {object} is is unknown"),
        };
        match (l.predicate, l.positive) {
            (Predicate::Reaches, _) => {
                let r = vocab.robot(a[0])?;
                let near = vocab.receptacle(a[1])?.near.as_deref();
                match near {
                    Some(p) if r.mobile => Some(format!("go_to({}, {p}) first", a[0])),
                    _ => None,
                }
            }
            (Predicate::Accessible, _) => Some(format!("open({robot}, {}) first", a[0])),
            (Predicate::IsOpen, _) => Some(format!("no {} is needed", spec.name)),
            (Predicate::In, _) => Some(whereabouts(a[0])),
            (Predicate::Holding, _) => Some(whereabouts(a[1])),
            (Predicate::HandFree, _) => {
                let held = self.held_by(a[0]);
                Some(format!("release {} first (release_to)", held.first()?))
            }
            (Predicate::At, _) => None,
        }
    }

    /// Apply the effects of `action` (assumed to have passed [`WorldState::check`]).
    pub fn apply(&mut self, action: &Action) {
        for l in action.skill().spec().effects {
            let a = ground(action, l);
            match (l.predicate, l.positive) {
                (Predicate::At, true) => {
                    self.robot_place.insert(a[0].into(), a[1].into());
                }
                (Predicate::IsOpen, v) => {
                    self.open.insert(a[0].into(), v);
                }
                (Predicate::Holding, true) => {
                    self.location
                        .insert(a[1].into(), Location::HeldBy(a[0].into()));
                }
                (Predicate::In, true) => {
                    self.location.insert(a[0].into(), Location::In(a[1].into()));
                }
                // Negated location literals are implied by the positive one of the same skill.
                _ => {}
            }
        }
    }

    /// End-of-step dynamics: an object inside a closed heating receptacle (the oven) becomes
    /// roasted (CLEA-KITCHEN.md: "spends a step inside the closed oven"). Returns the objects
    /// newly roasted, in name order.
    pub fn settle(&mut self, vocab: &WorldVocabulary) -> Vec<String> {
        let mut newly = Vec::new();
        for (object, loc) in &self.location {
            if let Location::In(r) = loc {
                let heats = vocab.receptacle(r).is_some_and(|x| x.heats);
                if heats && self.open.get(r) == Some(&false) && !self.roasted.contains(object) {
                    newly.push(object.clone());
                }
            }
        }
        self.roasted.extend(newly.iter().cloned());
        newly
    }
}

fn ground<'a>(action: &'a Action, l: &Literal) -> Vec<&'a str> {
    l.args
        .iter()
        .map(|p| action.arg(p).expect("literal names a parameter"))
        .collect()
}

fn grounded(l: &Literal, args: &[&str]) -> String {
    let neg = if l.positive { "" } else { "not " };
    format!("{neg}{}({})", l.predicate.as_str(), args.join(", "))
}
