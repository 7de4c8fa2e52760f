//! Scenario files (YAML): world, initial state, task, perturbations, seed, budgets and an
//! optional reference plan.
//!
//! ```yaml
//! name: task-08-find-roast-apple         # unique within a suite
//! group: search_operate_one              # search | operate | search_operate_one | search_operate_two
//! world_file: ../../worlds/clea-kitchen.yaml   # relative to this file (or `world:` inline)
//! seed: 0                                # default seed; `--seed` overrides
//! initial:
//!   robots: { robot_1: in_front_of_table }     # every mobile robot's navigation point
//!   objects: { apple: refrigerator, ... }      # every object of the world: its receptacle
//!   open: []                                   # openables that start open (the rest are closed)
//! task:
//!   instruction: Find the apple, roast it and put it on the table.
//!   goal: ["roasted(apple)", "on(apple, table)"]  # quote terms inside [..]; on/in, roasted, found
//!   known: { apple: refrigerator }             # optional: placements the instruction states
//! budgets: { max_steps: 60, max_wall_time_s: 30 }
//! noise: { grasp_failure_rate: 0.0 }           # seeded: pick_from fails with this probability
//! skill_duration_s: 0.0                        # simulated time per skill (cancel works during it)
//! perturbations:                               # each fires once
//!   - at_step: 3                               # after the 3rd skill (0: before the first)
//!     do: { move_object: { object: apple, to: sink } }
//!   - when: holding(robot_1, apple)            # at reset or after the first step at which it holds
//!     do: { fail_next_skill: { robot: robot_1, reason: the apple slipped } }
//! reference_plan:                              # an action list that solves the unperturbed task
//!   - go_to(robot_1, in_front_of_refrigerator)
//! ```
//! Perturbations are checked in file order after each step (and at reset); one enabled by an
//! earlier one in the same pass fires in that pass. Perturbation effects: `move_object {object, to}`, `remove_object {object}`,
//! `set_open {receptacle, open}`, `fail_next_skill {robot, reason}`. Conditions (`when`):
//! `at(robot, point)`, `holding(robot, object)`, `in|on(object, receptacle)`, `open(x)`,
//! `closed(x)`, `roasted(object)`.
//!
//! `clea schema scenario` prints this format's JSON Schema. Loading checks everything before a
//! scenario runs; an error names the file, the line or field,
//! and the reason.

use clea_bus::msg::{ReceptacleKind, WorldVocabulary};
use clea_skills::{parse_call, term::parse_term, validate, Action, Goal};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Longest time any scenario setting may give, s (about 11.5 days): bounds keep times
/// representable.
pub const MAX_SECONDS: f64 = 1e6;

/// A scenario that failed to load: file, where in it, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {location}: {reason}", file.display())]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// `line L column C` for syntax and type errors, or a field path such as `task.goal[1]`.
    pub location: String,
    /// Why.
    pub reason: String,
}

/// Task groups of the CLEA kitchen (CLEA-KITCHEN.md, "The 12 tasks").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskGroup {
    /// Search only.
    Search,
    /// Operate with known placements.
    Operate,
    /// Search and operate, one object.
    SearchOperateOne,
    /// Search and operate, two objects.
    SearchOperateTwo,
}

/// The scenario file as written (private: [`Scenario`] is the checked form).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    /// Scenario name (the episode's `scenario`, log file names).
    name: String,
    /// What the scenario tests, for people.
    #[serde(default)]
    description: String,
    /// Task group of the CLEA kitchen's twelve tasks.
    group: Option<TaskGroup>,
    /// World vocabulary file, relative to this file (or `world:` inline).
    world_file: Option<String>,
    /// World vocabulary, inline (or `world_file:`).
    world: Option<WorldVocabulary>,
    /// Seed of the simulated robots' randomness.
    #[serde(default)]
    seed: u64,
    /// Where robots and objects start, and which containers are open.
    initial: RawInitial,
    /// The instruction and the goal predicates.
    task: RawTask,
    /// Most steps and wall time of an episode.
    #[serde(default)]
    budgets: Budgets,
    /// Seeded skill failures.
    #[serde(default)]
    noise: Noise,
    /// How long each simulated skill takes, s (0: instantaneous).
    #[serde(default)]
    skill_duration_s: f64,
    /// Changes of the world during the episode (a person, a fault).
    #[serde(default)]
    perturbations: Vec<RawPerturbation>,
    /// A plan that solves the unperturbed task (calls such as `go_to(robot_1, in_front_of_table)`).
    reference_plan: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawInitial {
    /// Robot → navigation point.
    #[serde(default)]
    robots: BTreeMap<String, String>,
    /// Object → receptacle (or a robot, holding it).
    objects: BTreeMap<String, String>,
    /// Openable receptacles that start open.
    #[serde(default)]
    open: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTask {
    /// The instruction, in words (what the agent is told).
    instruction: String,
    /// Goal predicates, e.g. `on(apple, table)`.
    goal: Vec<String>,
    /// Object → receptacle the agent knows at the start (the rest is searched for).
    #[serde(default)]
    known: BTreeMap<String, String>,
}

/// Episode budgets.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// Most skills an episode may execute.
    #[serde(default = "default_steps")]
    pub max_steps: u32,
    /// Most wall time an episode may take, s.
    #[serde(default = "default_wall")]
    pub max_wall_time_s: f64,
}

fn default_steps() -> u32 {
    60
}
fn default_wall() -> f64 {
    60.0
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            max_steps: default_steps(),
            max_wall_time_s: default_wall(),
        }
    }
}

/// Seeded randomness of the simulated robots.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Noise {
    /// Probability in `[0, 1]` that a `pick_from` whose preconditions hold fails anyway.
    #[serde(default)]
    pub grasp_failure_rate: f64,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawPerturbation {
    /// Fire after this many skills (0: before the first).
    at_step: Option<i64>,
    /// Fire at reset or after the first step at which this condition holds, e.g.
    /// `holding(robot_1, apple)` (instead of `at_step`).
    when: Option<String>,
    /// What happens.
    #[serde(rename = "do", with = "serde_yaml::with::singleton_map")]
    #[schemars(with = "PerturbationEffect")]
    effect: PerturbationEffect,
}

/// What a perturbation does to the world.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PerturbationEffect {
    /// A person moves an object (also out of a robot's hand) to a receptacle.
    MoveObject {
        /// Object.
        object: String,
        /// Receptacle.
        to: String,
    },
    /// A person takes an object away.
    RemoveObject {
        /// Object.
        object: String,
    },
    /// A person opens or closes a container.
    SetOpen {
        /// Openable receptacle.
        receptacle: String,
        /// New state.
        open: bool,
    },
    /// The robot's next skill fails with `reason` and changes nothing.
    FailNextSkill {
        /// Robot.
        robot: String,
        /// Reason reported.
        reason: String,
    },
}

impl fmt::Display for PerturbationEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PerturbationEffect::MoveObject { object, to } => write!(f, "{object} moved to {to}"),
            PerturbationEffect::RemoveObject { object } => write!(f, "{object} removed"),
            PerturbationEffect::SetOpen { receptacle, open } => {
                write!(
                    f,
                    "{receptacle} {}",
                    if *open { "opened" } else { "closed" }
                )
            }
            PerturbationEffect::FailNextSkill { robot, reason } => {
                write!(f, "next skill of {robot} will fail ({reason})")
            }
        }
    }
}

/// A condition over world facts that triggers a perturbation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `at(robot, navigation_point)`.
    At(String, String),
    /// `holding(robot, object)`.
    Holding(String, String),
    /// `in(object, receptacle)` or `on(...)`.
    In(String, String),
    /// `open(openable)`.
    Open(String),
    /// `closed(openable)`.
    Closed(String),
    /// `roasted(object)`.
    Roasted(String),
}

/// When a perturbation fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// After this many skills (0: at reset).
    AtStep(u32),
    /// After the first step at which the condition holds.
    When(Condition),
}

/// A checked perturbation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perturbation {
    /// When.
    pub trigger: Trigger,
    /// What.
    pub effect: PerturbationEffect,
}

/// A checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Task group, if one of the kitchen's.
    pub group: Option<TaskGroup>,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// World names and capabilities.
    pub world: WorldVocabulary,
    /// Default seed.
    pub seed: u64,
    /// Navigation point of each mobile robot.
    pub robot_places: BTreeMap<String, String>,
    /// Receptacle of each object.
    pub object_places: BTreeMap<String, String>,
    /// Openables that start open.
    pub open: BTreeSet<String>,
    /// Instruction text.
    pub instruction: String,
    /// Goal predicates.
    pub goals: Vec<Goal>,
    /// Object locations the instruction states (object → receptacle).
    pub known: BTreeMap<String, String>,
    /// Budgets.
    pub budgets: Budgets,
    /// Noise.
    pub noise: Noise,
    /// Simulated duration of each skill, s.
    pub skill_duration_s: f64,
    /// Perturbations, in file order.
    pub perturbations: Vec<Perturbation>,
    /// Reference plan, validated.
    pub reference_plan: Option<Vec<Action>>,
}

impl Scenario {
    /// Whether the scenario perturbs the world (including noise).
    pub fn is_perturbed(&self) -> bool {
        !self.perturbations.is_empty() || self.noise.grasp_failure_rate > 0.0
    }
}

/// Load and check one scenario file.
///
/// # Errors
/// [`ScenarioError`] naming the file, the line or field, and the reason.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        location: "file".into(),
        reason: e.to_string(),
    })?;
    parse(&text, path)
}

/// Load every `*.yaml`/`*.yml` scenario of a folder, sorted by file name; or one file.
///
/// # Errors
/// The first [`ScenarioError`]; duplicate scenario names in a folder are an error too.
pub fn load_path(path: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    if !path.is_dir() {
        return Ok(vec![load(path)?]);
    }
    let err = |reason: String| ScenarioError {
        file: path.to_path_buf(),
        location: "folder".into(),
        reason,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| err(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(err("no *.yaml scenario files".into()));
    }
    let mut out: Vec<Scenario> = Vec::new();
    for f in files {
        let s = load(&f)?;
        if let Some(prev) = out.iter().find(|p| p.name == s.name) {
            return Err(ScenarioError {
                file: f.clone(),
                location: "name".into(),
                reason: format!(
                    "duplicate scenario name {:?} (also in {})",
                    s.name,
                    prev.file.display()
                ),
            });
        }
        out.push(s);
    }
    Ok(out)
}

fn yaml_error(file: &Path, e: &serde_yaml::Error) -> ScenarioError {
    let location = match e.location() {
        Some(l) => format!("line {} column {}", l.line(), l.column()),
        None => "document".into(),
    };
    // serde_yaml appends " at line L column C" to its message; the location says it already.
    let msg = e.to_string();
    let reason = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    ScenarioError {
        file: file.to_path_buf(),
        location,
        reason,
    }
}

/// The JSON Schema of a scenario file (this module's format; `clea schema scenario`), from the
/// type that reads it.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(RawScenario)
}

/// Load a world vocabulary file (the `world_file:` of scenarios).
///
/// # Errors
/// [`ScenarioError`] for unreadable, malformed or inconsistent worlds.
pub fn load_world(path: &Path) -> Result<WorldVocabulary, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        location: "file".into(),
        reason: e.to_string(),
    })?;
    let world: WorldVocabulary = serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &e))?;
    check_world(&world).map_err(|(location, reason)| ScenarioError {
        file: path.to_path_buf(),
        location,
        reason,
    })?;
    Ok(world)
}

type Problem = (String, String);

fn check_world(w: &WorldVocabulary) -> Result<(), Problem> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut name = |n: &str, field: String| -> Result<(), Problem> {
        if clea_bus::keys::check_chunk(n).is_err() || n.contains('-') {
            return Err((
                field,
                format!("{n:?} is not a name (letters, digits and '_')"),
            ));
        }
        if let Some(prev) = seen.insert(n.to_string(), field.clone()) {
            return Err((field, format!("duplicate name {n:?} (also {prev})")));
        }
        Ok(())
    };
    for (i, n) in w.navigation_points.iter().enumerate() {
        name(n, format!("world.navigation_points[{i}]"))?;
    }
    for (i, r) in w.receptacles.iter().enumerate() {
        name(&r.name, format!("world.receptacles[{i}].name"))?;
    }
    for (i, o) in w.objects.iter().enumerate() {
        name(o, format!("world.objects[{i}]"))?;
    }
    for (i, r) in w.robots.iter().enumerate() {
        name(&r.name, format!("world.robots[{i}].name"))?;
    }
    for (i, r) in w.receptacles.iter().enumerate() {
        if let Some(n) = &r.near {
            if !w.is_navigation_point(n) {
                return Err((
                    format!("world.receptacles[{i}].near"),
                    format!("{n:?} is not a navigation point"),
                ));
            }
        }
        if r.heats && r.kind != ReceptacleKind::Container {
            return Err((
                format!("world.receptacles[{i}].heats"),
                format!("{} heats but is not a container", r.name),
            ));
        }
        if r.openable && r.kind != ReceptacleKind::Container {
            return Err((
                format!("world.receptacles[{i}].openable"),
                format!("{} is openable but not a container", r.name),
            ));
        }
    }
    for (i, r) in w.robots.iter().enumerate() {
        for (j, x) in r.reach.iter().enumerate() {
            if w.receptacle(x).is_none() {
                return Err((
                    format!("world.robots[{i}].reach[{j}]"),
                    format!("{x:?} is not a receptacle"),
                ));
            }
        }
        if r.carry > r.arms {
            return Err((
                format!("world.robots[{i}].carry"),
                format!(
                    "{} carries {} objects with {} arms",
                    r.name, r.carry, r.arms
                ),
            ));
        }
    }
    if w.robots.is_empty() {
        return Err((
            "world.robots".into(),
            "a world needs at least one robot".into(),
        ));
    }
    Ok(())
}

fn parse_condition(text: &str, w: &WorldVocabulary) -> Result<Condition, String> {
    let (name, args) = parse_term(text).map_err(|e| e.to_string())?;
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("{name} takes {n} arguments, got {}", args.len()))
        }
    };
    let robot = |s: &str| w.robot(s).map(|_| ()).ok_or(format!("unknown robot {s:?}"));
    let object = |s: &str| {
        if w.is_object(s) {
            Ok(())
        } else {
            Err(format!("unknown object {s:?}"))
        }
    };
    let receptacle = |s: &str| {
        w.receptacle(s)
            .map(|_| ())
            .ok_or(format!("unknown receptacle {s:?}"))
    };
    let openable = |s: &str| match w.receptacle(s) {
        Some(r) if r.openable => Ok(()),
        Some(_) => Err(format!("{s:?} is not openable")),
        None => Err(format!("unknown receptacle {s:?}")),
    };
    Ok(match name.as_str() {
        "at" => {
            arity(2)?;
            robot(&args[0])?;
            if !w.is_navigation_point(&args[1]) {
                return Err(format!("unknown navigation point {:?}", args[1]));
            }
            Condition::At(args[0].clone(), args[1].clone())
        }
        "holding" => {
            arity(2)?;
            robot(&args[0])?;
            object(&args[1])?;
            Condition::Holding(args[0].clone(), args[1].clone())
        }
        "in" | "on" => {
            arity(2)?;
            object(&args[0])?;
            receptacle(&args[1])?;
            Condition::In(args[0].clone(), args[1].clone())
        }
        "open" | "closed" => {
            arity(1)?;
            openable(&args[0])?;
            if name == "open" {
                Condition::Open(args[0].clone())
            } else {
                Condition::Closed(args[0].clone())
            }
        }
        "roasted" => {
            arity(1)?;
            object(&args[0])?;
            Condition::Roasted(args[0].clone())
        }
        other => {
            return Err(format!(
                "unknown condition {other:?} (expected at, holding, in, on, open, closed, roasted)"
            ))
        }
    })
}

/// Parse and check scenario text; `path` names the file in errors and anchors `world_file`.
///
/// # Errors
/// [`ScenarioError`] naming the file, the line or field, and the reason.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario = serde_yaml::from_str(text).map_err(|e| yaml_error(path, &e))?;
    let fail = |location: String, reason: String| ScenarioError {
        file: path.to_path_buf(),
        location,
        reason,
    };
    let world = match (raw.world, raw.world_file) {
        (Some(w), None) => {
            check_world(&w).map_err(|(l, r)| fail(l, r))?;
            w
        }
        (None, Some(f)) => {
            let base = path.parent().unwrap_or(Path::new("."));
            load_world(&base.join(&f)).map_err(|e| {
                fail(
                    "world_file".into(),
                    format!("{f}: {}: {}", e.location, e.reason),
                )
            })?
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                "world".into(),
                "give either world or world_file, not both".into(),
            ))
        }
        (None, None) => return Err(fail("world".into(), "missing world or world_file".into())),
    };
    if raw.name.trim().is_empty() {
        return Err(fail("name".into(), "empty scenario name".into()));
    }
    // Initial state.
    for (robot, place) in &raw.initial.robots {
        let field = format!("initial.robots.{robot}");
        let Some(info) = world.robot(robot) else {
            return Err(fail(field, format!("unknown robot {robot:?}")));
        };
        if !info.mobile {
            return Err(fail(
                field,
                format!("{robot} is fixed and has no navigation point"),
            ));
        }
        if !world.is_navigation_point(place) {
            return Err(fail(field, format!("{place:?} is not a navigation point")));
        }
    }
    for r in world.robots.iter().filter(|r| r.mobile) {
        if !raw.initial.robots.contains_key(&r.name) {
            return Err(fail(
                "initial.robots".into(),
                format!("mobile robot {} has no starting navigation point", r.name),
            ));
        }
    }
    for (object, place) in &raw.initial.objects {
        let field = format!("initial.objects.{object}");
        if !world.is_object(object) {
            return Err(fail(field, format!("unknown object {object:?}")));
        }
        if world.receptacle(place).is_none() {
            return Err(fail(field, format!("{place:?} is not a receptacle")));
        }
    }
    for o in &world.objects {
        if !raw.initial.objects.contains_key(o) {
            return Err(fail(
                "initial.objects".into(),
                format!("object {o} has no place"),
            ));
        }
    }
    let mut open = BTreeSet::new();
    for (i, r) in raw.initial.open.iter().enumerate() {
        let field = format!("initial.open[{i}]");
        match world.receptacle(r) {
            Some(x) if x.openable => {}
            Some(_) => return Err(fail(field, format!("{r} is not openable"))),
            None => return Err(fail(field, format!("unknown receptacle {r:?}"))),
        }
        if !open.insert(r.clone()) {
            return Err(fail(field, format!("{r} listed twice")));
        }
    }
    // Task.
    if raw.task.goal.is_empty() {
        return Err(fail(
            "task.goal".into(),
            "a task needs at least one goal predicate".into(),
        ));
    }
    let mut goals = Vec::new();
    for (i, g) in raw.task.goal.iter().enumerate() {
        let goal =
            Goal::parse(g, &world).map_err(|e| fail(format!("task.goal[{i}]"), e.to_string()))?;
        if goals.contains(&goal) {
            return Err(fail(
                format!("task.goal[{i}]"),
                format!("duplicate goal {goal}"),
            ));
        }
        goals.push(goal);
    }
    for (object, place) in &raw.task.known {
        let field = format!("task.known.{object}");
        match raw.initial.objects.get(object) {
            None => return Err(fail(field, format!("unknown object {object:?}"))),
            Some(p) if p != place => {
                return Err(fail(
                    field,
                    format!("the task states {place} but initial.objects places it in {p}"),
                ))
            }
            Some(_) => {}
        }
    }
    // Budgets, noise, timing.
    if raw.budgets.max_steps == 0 {
        return Err(fail(
            "budgets.max_steps".into(),
            "must be at least 1".into(),
        ));
    }
    if !(raw.budgets.max_wall_time_s > 0.0 && raw.budgets.max_wall_time_s <= MAX_SECONDS) {
        return Err(fail(
            "budgets.max_wall_time_s".into(),
            format!("must be > 0 s and at most {MAX_SECONDS} s"),
        ));
    }
    if !(0.0..=1.0).contains(&raw.noise.grasp_failure_rate) {
        return Err(fail(
            "noise.grasp_failure_rate".into(),
            format!(
                "{} is not a probability in [0, 1]",
                raw.noise.grasp_failure_rate
            ),
        ));
    }
    if !(raw.skill_duration_s >= 0.0 && raw.skill_duration_s <= MAX_SECONDS) {
        return Err(fail(
            "skill_duration_s".into(),
            format!("must be a time from 0 to {MAX_SECONDS} s"),
        ));
    }
    // Perturbations.
    let mut perturbations = Vec::new();
    for (i, p) in raw.perturbations.iter().enumerate() {
        let field = |f: &str| format!("perturbations[{i}].{f}");
        let trigger = match (&p.at_step, &p.when) {
            (Some(s), None) if *s < 0 => {
                return Err(fail(field("at_step"), format!("step {s} is negative")))
            }
            (Some(s), None) => Trigger::AtStep(
                u32::try_from(*s)
                    .map_err(|_| fail(field("at_step"), format!("step {s} is too large")))?,
            ),
            (None, Some(c)) => {
                Trigger::When(parse_condition(c, &world).map_err(|e| fail(field("when"), e))?)
            }
            (Some(_), Some(_)) => {
                return Err(fail(
                    format!("perturbations[{i}]"),
                    "give at_step or when, not both".into(),
                ))
            }
            (None, None) => {
                return Err(fail(
                    format!("perturbations[{i}]"),
                    "needs at_step or when".into(),
                ))
            }
        };
        let eff = |f: &str| format!("perturbations[{i}].do.{f}");
        match &p.effect {
            PerturbationEffect::MoveObject { object, to } => {
                if !world.is_object(object) {
                    return Err(fail(
                        eff("move_object.object"),
                        format!("unknown object {object:?}"),
                    ));
                }
                if world.receptacle(to).is_none() {
                    return Err(fail(
                        eff("move_object.to"),
                        format!("{to:?} is not a receptacle"),
                    ));
                }
            }
            PerturbationEffect::RemoveObject { object } => {
                if !world.is_object(object) {
                    return Err(fail(
                        eff("remove_object.object"),
                        format!("unknown object {object:?}"),
                    ));
                }
            }
            PerturbationEffect::SetOpen { receptacle, .. } => match world.receptacle(receptacle) {
                Some(r) if r.openable => {}
                Some(_) => {
                    return Err(fail(
                        eff("set_open.receptacle"),
                        format!("{receptacle} is not openable"),
                    ))
                }
                None => {
                    return Err(fail(
                        eff("set_open.receptacle"),
                        format!("unknown receptacle {receptacle:?}"),
                    ))
                }
            },
            PerturbationEffect::FailNextSkill { robot, .. } => {
                if world.robot(robot).is_none() {
                    return Err(fail(
                        eff("fail_next_skill.robot"),
                        format!("unknown robot {robot:?}"),
                    ));
                }
            }
        }
        perturbations.push(Perturbation {
            trigger,
            effect: p.effect.clone(),
        });
    }
    // Reference plan.
    let reference_plan = match &raw.reference_plan {
        None => None,
        Some(steps) => {
            let mut plan = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let call = parse_call(s)
                    .map_err(|e| fail(format!("reference_plan[{i}]"), e.to_string()))?;
                plan.push(
                    validate(&call, &world)
                        .map_err(|e| fail(format!("reference_plan[{i}]"), e.to_string()))?,
                );
            }
            if plan.is_empty() {
                return Err(fail(
                    "reference_plan".into(),
                    "an empty reference plan solves nothing".into(),
                ));
            }
            Some(plan)
        }
    };
    Ok(Scenario {
        name: raw.name,
        description: raw.description,
        group: raw.group,
        file: path.to_path_buf(),
        world,
        seed: raw.seed,
        robot_places: raw.initial.robots,
        object_places: raw.initial.objects,
        open,
        instruction: raw.task.instruction,
        goals,
        known: raw.task.known,
        budgets: raw.budgets,
        noise: raw.noise,
        skill_duration_s: raw.skill_duration_s,
        perturbations,
        reference_plan,
    })
}

/// Load an action-list file (`--plan`): a YAML list of calls in the paper's notation, e.g.
/// `- go_to(robot_1, in_front_of_table)`, validated against `world`.
///
/// # Errors
/// [`ScenarioError`] naming the file, the entry (`[i]`) and why.
pub fn load_plan(path: &Path, world: &WorldVocabulary) -> Result<Vec<Action>, ScenarioError> {
    let fail = |location: String, reason: String| ScenarioError {
        file: path.to_path_buf(),
        location,
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail("file".into(), e.to_string()))?;
    let steps: Vec<String> = serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &e))?;
    let mut plan = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let call = parse_call(s).map_err(|e| fail(format!("[{i}]"), e.to_string()))?;
        plan.push(validate(&call, world).map_err(|e| fail(format!("[{i}]"), e.to_string()))?);
    }
    if plan.is_empty() {
        return Err(fail("document".into(), "the plan has no actions".into()));
    }
    Ok(plan)
}
