//! Scenarios and the simulated world for any domain written as data (a PDDL domain with its
//! skill binding, `clea_domain`): the world is a set of facts; a skill call that validated is
//! executed when its precondition holds and fails naming the unmet literal otherwise; the
//! binding's world dynamics run to a fixpoint after every step; perturbations set or clear any
//! fact; robots perceive what the binding's observation model says.
//!
//! A domain scenario file (YAML):
//! ```yaml
//! name: wipe-table                        # defaults to the file name
//! description: The cloth is on the shelf.
//! binding: ../../domains/home/binding.yaml
//! problem: problems/wipe-table.pddl       # objects, initial state and goal (PDDL)
//! instruction: Wipe the table.
//! budgets: { max_steps: 30 }
//! perturbations:                          # `at_step: k` fires after the k-th step (0: at once)
//!   - { at_step: 2, set: ["(not (clean table))"] }
//! reference_plan: [ "wipe(robot_1, table)" ]
//! observability: full                    # or partial: the agent knows only what robots see
//! ```

use crate::scenario::ScenarioError;
use clea_bus::msg::EpisodeScore;
use clea_domain::binding::{perceived, read_bound_domain, Observability};
use clea_domain::call::{unmet_precondition, validate_positional, Call};
use clea_domain::{AtomId, BoundDomain, Cond, State, Task};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: String,
    binding: PathBuf,
    problem: PathBuf,
    #[serde(default)]
    instruction: String,
    #[serde(default)]
    budgets: Option<FileBudgets>,
    #[serde(default)]
    perturbations: Vec<FilePerturbation>,
    #[serde(default)]
    reference_plan: Option<Vec<String>>,
    #[serde(default)]
    observability: Observability,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileBudgets {
    max_steps: u32,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FilePerturbation {
    at_step: u32,
    set: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

/// A perturbation: at a step, facts are set or cleared by the world (a person, a fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPerturbation {
    /// Fires after this many steps (0: before the first).
    pub at_step: u32,
    /// Facts and the value they get.
    pub set: Vec<(AtomId, bool)>,
    /// What happens, in words (defaults to the literals).
    pub description: String,
}

/// A checked domain scenario.
#[derive(Debug, Clone)]
pub struct DomainScenario {
    /// Name.
    pub name: String,
    /// What the scenario is about.
    pub description: String,
    /// The file.
    pub file: PathBuf,
    /// The domain and its binding.
    pub bound: Arc<BoundDomain>,
    /// The grounded problem (initial state and goal).
    pub task: Arc<Task>,
    /// Instruction for models.
    pub instruction: String,
    /// Most steps (skill calls executed or failed).
    pub max_steps: u32,
    /// Perturbations.
    pub perturbations: Vec<DomainPerturbation>,
    /// The scenario's own action list, validated.
    pub reference_plan: Option<Vec<Call>>,
    /// What the agent knows at the start.
    pub observability: Observability,
}

/// Whether the YAML file is a domain scenario (it names a `binding:`).
pub fn is_domain_scenario(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l.starts_with("binding:")))
}

/// Parse a literal `(p a b)` or `(not (p a b))` into a fact of `task` and its value.
fn literal(task: &Task, text: &str) -> Result<(AtomId, bool), String> {
    let t = text.trim();
    let (inner, value) = match t.strip_prefix("(not ").and_then(|r| r.strip_suffix(')')) {
        Some(i) => (i.trim(), false),
        None => (t, true),
    };
    let body = inner
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("{text:?} is not a literal (p a ...) or (not (p a ...))"))?;
    let words: Vec<String> = body
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let (pred, args) = words
        .split_first()
        .ok_or_else(|| format!("{text:?} is empty"))?;
    let decl = task
        .domain
        .predicate(pred)
        .map(|p| &task.domain.predicates[p])
        .ok_or_else(|| format!("unknown predicate {pred} in {text:?}"))?;
    if decl.params.len() != args.len() {
        return Err(format!(
            "{pred} takes {} arguments, got {} in {text:?}",
            decl.params.len(),
            args.len()
        ));
    }
    if decl.derived {
        return Err(format!("{pred} is derived: the world computes it"));
    }
    if let Some(a) = args.iter().find(|a| task.object(a).is_none()) {
        return Err(format!("unknown object {a} in {text:?}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = task.atom_id(pred, &refs).ok_or_else(|| {
        format!("{text:?} is a fact no action, goal or initial state of this world mentions")
    })?;
    Ok((id, value))
}

/// Parse a call in the paper's notation, `pick_from(robot_1, apple, table)`.
fn call(task: &Task, bound: &BoundDomain, text: &str) -> Result<Call, String> {
    let (name, args) = clea_skills::term::parse_term(text).map_err(|e| e.to_string())?;
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    validate_positional(task, &bound.binding, &name, &refs).map_err(|e| e.to_string())
}

/// The JSON Schema of a domain scenario file (a `binding:` and a PDDL `problem:`; `clea schema
/// domain-scenario`), from the type that reads it.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(File)
}

/// Load and check a domain scenario.
///
/// # Errors
/// [`ScenarioError`] with the file, the field (or line) and the reason: YAML that does not fit,
/// a binding, domain or problem that does not load (their own file and line in the reason), a
/// perturbation on an unknown predicate, object or fact, a reference plan call that does not
/// validate.
pub fn load_domain_scenario(path: &Path) -> Result<DomainScenario, ScenarioError> {
    let fail = |location: &str, reason: String| ScenarioError {
        file: path.to_path_buf(),
        location: location.to_string(),
        reason,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| fail("file", format!("cannot read: {e}")))?;
    let f: File = serde_yaml::from_str(&text).map_err(|e| {
        let loc = e
            .location()
            .map(|l| format!("line {} column {}", l.line(), l.column()))
            .unwrap_or_else(|| "file".into());
        let msg = e.to_string();
        fail(
            &loc,
            msg.split(" at line ").next().unwrap_or(&msg).to_string(),
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let bound =
        read_bound_domain(&dir.join(&f.binding)).map_err(|e| fail("binding", e.to_string()))?;
    let problem = clea_domain::read_problem(&bound.domain, &dir.join(&f.problem))
        .map_err(|e| fail("problem", e.to_string()))?;
    let task = Task::ground(&bound.domain, &problem).map_err(|e| fail("problem", e.to_string()))?;
    let mut perturbations = Vec::new();
    for (i, p) in f.perturbations.iter().enumerate() {
        let mut set = Vec::new();
        for (j, l) in p.set.iter().enumerate() {
            set.push(
                literal(&task, l).map_err(|r| fail(&format!("perturbations[{i}].set[{j}]"), r))?,
            );
        }
        perturbations.push(DomainPerturbation {
            at_step: p.at_step,
            set,
            description: p.description.clone().unwrap_or_else(|| p.set.join(" ")),
        });
    }
    let reference_plan = match &f.reference_plan {
        None => None,
        Some(calls) => Some(
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    call(&task, &bound, c).map_err(|r| fail(&format!("reference_plan[{i}]"), r))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let max_steps = f.budgets.map_or(50, |b| b.max_steps);
    if max_steps == 0 {
        return Err(fail("budgets.max_steps", "must be at least 1".into()));
    }
    Ok(DomainScenario {
        name: f.name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        description: f.description,
        file: path.to_path_buf(),
        bound: Arc::new(bound),
        task: Arc::new(task),
        instruction: f.instruction,
        max_steps,
        perturbations,
        reference_plan,
        observability: f.observability,
    })
}

/// The simulated world of a domain scenario: ground truth as a fact set.
#[derive(Debug, Clone)]
pub struct DomainWorld {
    scenario: DomainScenario,
    state: State,
    step: u32,
    fired: Vec<bool>,
    skill_failures: u32,
    invalid_calls: u32,
}

impl DomainWorld {
    /// The scenario's initial state; perturbations at step 0 fire now.
    pub fn new(scenario: &DomainScenario) -> DomainWorld {
        let mut w = DomainWorld {
            state: scenario.task.init.clone(),
            fired: vec![false; scenario.perturbations.len()],
            scenario: scenario.clone(),
            step: 0,
            skill_failures: 0,
            invalid_calls: 0,
        };
        w.settle();
        w
    }

    /// The true state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Steps taken.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// Whether the step budget is used up.
    pub fn out_of_steps(&self) -> bool {
        self.step >= self.scenario.max_steps
    }

    /// Count a call that did not validate (it takes no step: no robot moved).
    pub fn reject(&mut self) {
        self.invalid_calls += 1;
    }

    /// Execute a validated call: a step is taken; `Err` names the unmet precondition and nothing
    /// changes but the world's own dynamics and perturbations.
    ///
    /// # Errors
    /// The unmet literal, as PDDL text, when the precondition does not hold.
    pub fn execute(&mut self, call: &Call) -> Result<(), String> {
        let task = self.scenario.task.clone();
        let refs: Vec<&str> = call.args.iter().map(String::as_str).collect();
        let result = match task.find_action(&call.skill, &refs) {
            Some(a) if task.applicable(a, &self.state) => {
                self.state = task.apply(a, &self.state);
                Ok(())
            }
            _ => Err(unmet_precondition(&task, &self.state, call)
                .unwrap_or_else(|| "its precondition cannot hold in this world".into())),
        };
        if result.is_err() {
            self.skill_failures += 1;
        }
        self.step += 1;
        self.settle();
        result
    }

    /// World dynamics to a fixpoint, then the perturbations due.
    fn settle(&mut self) {
        let task = self.scenario.task.clone();
        self.state = task.settle(
            &self.scenario.bound.binding.dynamics,
            std::mem::take(&mut self.state),
        );
        for (i, p) in self.scenario.perturbations.iter().enumerate() {
            if !self.fired[i] && p.at_step <= self.step {
                self.fired[i] = true;
                for (a, v) in &p.set {
                    self.state.set(*a, *v);
                }
                task.close(&mut self.state);
            }
        }
    }

    /// What `robot` perceives now (the binding's observation model).
    pub fn perceive(&self, robot: &str) -> Vec<(AtomId, bool)> {
        perceived(
            &self.scenario.task,
            &self.scenario.bound.binding,
            &self.state,
            robot,
        )
    }

    /// The episode's score: the share of the goal's conjuncts that hold (the paper's average
    /// score) and success when the whole goal holds.
    pub fn score(&self) -> EpisodeScore {
        let task = &self.scenario.task;
        let parts: Vec<&Cond> = match &task.goal {
            Cond::And(v) => v.iter().collect(),
            g => vec![g],
        };
        let text = |c: &Cond| task.cond_text(c);
        let (met, unmet): (Vec<&Cond>, Vec<&Cond>) =
            parts.iter().partition(|c| c.holds(&self.state));
        let success = task.goal.holds(&self.state);
        EpisodeScore {
            success,
            score: if parts.is_empty() {
                1.0
            } else {
                met.len() as f64 / parts.len() as f64
            },
            goals_met: met.into_iter().map(text).collect(),
            goals_unmet: unmet.into_iter().map(text).collect(),
            steps: self.step,
            skill_failures: self.skill_failures,
            invalid_calls: self.invalid_calls,
            // Facts changed before the first step are the scenario's setting, not a perturbation.
            perturbations: self
                .fired
                .iter()
                .zip(&self.scenario.perturbations)
                .filter(|(f, p)| **f && p.at_step > 0)
                .count() as u32,
        }
    }
}
