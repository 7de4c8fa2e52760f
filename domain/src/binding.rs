//! The skill binding: what a PDDL domain cannot say about a robot's skills, in YAML beside it.
//!
//! ```yaml
//! domain: domain.pddl            # relative to this file
//! actions:                       # every action of the domain that a robot executes
//!   pick_from:
//!     robot: r                   # the parameter naming the acting robot (without '?')
//!     description: Pick an item from a receptacle the robot can reach; the hand must be free.
//!     timeout_s: 30              # default skill timeout
//! dynamics: [roast]              # actions the world applies by itself after every step
//! observation:
//!   sees: sees                   # derived predicate (sees ?robot ?thing): what a robot perceives
//! ```
//!
//! Every action of the domain is either a skill (under `actions`) or world dynamics, never both
//! and never neither, so nothing a model proposes can name an action nobody executes.

use crate::error::{DomainError, ErrorKind};
use crate::ground::{AtomId, Task};
use crate::lifted::Domain;
use crate::state::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default skill timeout when the binding gives none (s).
pub const DEFAULT_TIMEOUT_S: f64 = 60.0;

/// The binding of one skill (a domain action a robot executes).
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillBinding {
    /// The parameter (name without `?`) that names the acting robot.
    pub robot: String,
    /// One sentence for model prompts and `--help`.
    pub description: String,
    /// Default timeout (s, > 0); [`DEFAULT_TIMEOUT_S`] when absent.
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

/// The observation model: which facts a robot perceives after a skill.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationModel {
    /// A two-place predicate `(P ?robot ?thing)`, usually derived: after each skill the robot
    /// perceives every fluent fact whose arguments are itself or things it `P`s.
    pub sees: String,
}

/// A skill binding file.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// The PDDL domain file, relative to the binding file.
    pub domain: PathBuf,
    /// Skills by action name.
    pub actions: BTreeMap<String, SkillBinding>,
    /// Actions the world applies by itself, to a fixpoint, after every step.
    #[serde(default)]
    pub dynamics: Vec<String>,
    /// What robots perceive.
    #[serde(default)]
    pub observation: Option<ObservationModel>,
}

/// A domain with its binding, both checked.
#[derive(Debug, Clone)]
pub struct BoundDomain {
    /// The domain.
    pub domain: Domain,
    /// Its binding.
    pub binding: Binding,
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> DomainError {
    DomainError::new(ErrorKind::Binding, field, reason)
}

impl Binding {
    /// Check the binding against `domain`.
    ///
    /// # Errors
    /// [`ErrorKind::Binding`] naming the field: an action the domain lacks, a robot parameter the
    /// action does not have, a timeout that is not a positive number of seconds, a domain action
    /// that is neither a skill nor dynamics (or both), dynamics with a robot parameter bound, an
    /// observation predicate that is not declared with two parameters.
    pub fn check(&self, domain: &Domain) -> Result<(), DomainError> {
        for (name, skill) in &self.actions {
            let field = format!("actions.{name}");
            let action = domain
                .action(name)
                .ok_or_else(|| bad(&field, format!("the domain has no action {name}")))?;
            if !action.params.iter().any(|p| p.name == skill.robot) {
                let params: Vec<String> = action
                    .params
                    .iter()
                    .map(|p| format!("?{}", p.name))
                    .collect();
                return Err(bad(
                    format!("{field}.robot"),
                    format!(
                        "{name} has no parameter ?{} (its parameters: {})",
                        skill.robot,
                        params.join(" ")
                    ),
                ));
            }
            if let Some(t) = skill.timeout_s {
                if !(t.is_finite() && t > 0.0) {
                    return Err(bad(
                        format!("{field}.timeout_s"),
                        format!("{t} is not a positive number of seconds"),
                    ));
                }
            }
            if skill.description.trim().is_empty() {
                return Err(bad(format!("{field}.description"), "empty"));
            }
        }
        for (i, name) in self.dynamics.iter().enumerate() {
            if domain.action(name).is_none() {
                return Err(bad(
                    format!("dynamics[{i}]"),
                    format!("the domain has no action {name}"),
                ));
            }
            if self.actions.contains_key(name) {
                return Err(bad(
                    format!("dynamics[{i}]"),
                    format!("{name} is a skill too (under actions)"),
                ));
            }
        }
        for a in &domain.actions {
            if !self.actions.contains_key(&a.name) && !self.dynamics.contains(&a.name) {
                return Err(bad(
                    "actions",
                    format!("domain action {} is neither a skill (actions) nor world dynamics (dynamics)", a.name),
                ));
            }
        }
        if let Some(o) = &self.observation {
            let p = domain.predicate(&o.sees).ok_or_else(|| {
                bad(
                    "observation.sees",
                    format!("the domain has no predicate {}", o.sees),
                )
            })?;
            if domain.predicates[p].params.len() != 2 {
                return Err(bad(
                    "observation.sees",
                    format!("{} must take two parameters (?robot ?thing)", o.sees),
                ));
            }
        }
        Ok(())
    }

    /// Timeout of skill `action` (s).
    pub fn timeout_s(&self, action: &str) -> f64 {
        self.actions
            .get(action)
            .and_then(|s| s.timeout_s)
            .unwrap_or(DEFAULT_TIMEOUT_S)
    }
}

/// Parse binding YAML (not checked against a domain: [`Binding::check`]).
///
/// # Errors
/// [`ErrorKind::Binding`] for YAML that does not fit (unknown field, wrong type), with the line.
pub fn parse_binding(text: &str) -> Result<Binding, DomainError> {
    serde_yaml::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line() as u32);
        let msg = e.to_string();
        // serde_yaml appends " at line L column C"; the line is reported in front already.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        bad("", msg).at_line(line)
    })
}

/// Read a binding file, the domain it names, and check both.
///
/// # Errors
/// [`DomainError`] naming the file: unreadable, YAML that does not fit (unknown field, wrong
/// type; with the line), a domain that does not load, a binding that does not check.
pub fn read_bound_domain(path: &Path) -> Result<BoundDomain, DomainError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        DomainError::new(ErrorKind::Io, "", format!("cannot read: {e}")).in_file(path)
    })?;
    let binding = parse_binding(&text).map_err(|e| e.in_file(path))?;
    let domain_path = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&binding.domain);
    let domain = crate::read_domain(&domain_path)?;
    binding.check(&domain).map_err(|e| e.in_file(path))?;
    Ok(BoundDomain { domain, binding })
}

/// What an agent knows of the world at the start of an episode (a domain scenario's
/// `observability:`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Observability {
    /// The problem's initial state (the information a planning benchmark gives a planner).
    #[default]
    Full,
    /// Only what the robots perceive, as they perceive it ([`perceived`]); the rest is
    /// searched for.
    Partial,
}

/// What `robot` perceives in `state` under the observation model: every fluent fact whose
/// arguments are all the robot itself or things it sees, with its truth value (a seen fact that
/// does not hold is perceived as false); and every false fact about something it sees that it
/// would see were it true (an empty drawer in view: the apple is not in it), judged by the
/// observation model's axioms for the unseen arguments with the fact set. Empty without an
/// observation model.
pub fn perceived(
    task: &Task,
    binding: &Binding,
    state: &State,
    robot: &str,
) -> Vec<(AtomId, bool)> {
    let (Some(model), Some(me)) = (&binding.observation, task.object(robot)) else {
        return Vec::new();
    };
    let Some(sees) = task.domain.predicate(&model.sees) else {
        return Vec::new();
    };
    let mut seen = vec![false; task.objects.len()];
    seen[me as usize] = true;
    for ga in state.atoms().map(|a| &task.atoms[a as usize]) {
        if ga.pred == sees && ga.args[0] == me {
            seen[ga.args[1] as usize] = true;
        }
    }
    // The observation model's axioms for this robot, by the object they are about.
    let mut sees_axioms: Vec<Vec<usize>> = vec![Vec::new(); task.objects.len()];
    for (i, ax) in task.axioms.iter().enumerate() {
        let head = &task.atoms[ax.head as usize];
        if head.pred == sees && head.args[0] == me {
            sees_axioms[head.args[1] as usize].push(i);
        }
    }
    let mut what_if = state.clone();
    let mut out = Vec::new();
    for a in 0..task.atoms.len() as AtomId {
        let ga = &task.atoms[a as usize];
        if task.derived[a as usize] {
            continue;
        }
        let value = state.get(a);
        if ga.args.iter().all(|o| seen[*o as usize]) {
            out.push((a, value));
        } else if !value && ga.args.iter().any(|o| seen[*o as usize]) {
            what_if.set(a, true);
            let would_see = ga.args.iter().all(|o| {
                seen[*o as usize]
                    || sees_axioms[*o as usize]
                        .iter()
                        .any(|ax| task.axioms[*ax].body.holds(&what_if))
            });
            what_if.set(a, false);
            if would_see {
                out.push((a, false));
            }
        }
    }
    out
}
