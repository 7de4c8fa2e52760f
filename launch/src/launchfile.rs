//! Launch files (YAML): which actors run in this process, on which bus, with which settings.
//!
//! ```yaml
//! kind: launch                                              # optional: what the file is
//! bus: { namespace: clea, connect: [tcp/127.0.0.1:7447] }   # clea_bus::BusConfig
//! teams: [kitchen-a, kitchen-b]   # optional: one agent per robot team, on clea/<team>/
//! actors: [observer, memory, planner, critic, executor]     # module actors to run here
//! controller:                                               # optional: run episodes from here
//!   critic: on            # on | off (ablation)
//!   open_loop: false      # ablation: plan once, execute without feedback
//!   episodes: 1           # episodes to run against the simulator's episode service
//!   seed: 0               # optional; default: the scenario's
//!   log_dir: logs         # optional: one MCAP episode log per episode
//! agent: { history: 16, skill_timeout_s: 30, module_timeout_s: 30, wait_for_robots_s: 10,
//!          max_model_calls: 500, max_model_tokens: 2000000,
//!          limits: { max_consecutive_rejections: 5, max_invalid_plans: 3, max_plans: 200,
//!                    max_unreachable: 2, max_repeated_failures: 3 } }
//! models:                                                   # optional: model-backed modules
//!   endpoints:
//!     local: { base_url: "http://127.0.0.1:8080/v1", model: qwen05, structured: json_object,
//!              timeout_s: 120, max_retries: 3, backoff_s: 0.5, max_retry_after_s: 60 }
//!     # every endpoint a module uses must give up within agent.module_timeout_s:
//!     # timeout_s × (max_retries + 1) + backoff ≤ module_timeout_s (checked)
//!   modules:                                                # symbolic | model | rules_then_model
//!     observer: { backend: model, endpoint: vlm }           # a vision model on camera frames
//!     planner: { backend: model, endpoint: local }
//!     critic: { backend: rules_then_model, endpoint: local } # images: true for a VLM critic
//!   cassette: logs/episode.mcap                             # optional: replay recorded replies
//! perception:                                               # optional: a detector on cameras
//!   detector: { model: models/yolo.onnx, family: yolo }     # clea_perception::DetectorConfig
//!   cameras: [{ robot: robot_1, camera: head, depth: true }]
//! ```
//! The whole file is checked before any actor starts; an error names the file, the line or
//! field, and the reason.

use clea_agent::actors::ActorKind;
use clea_bus::BusConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A checked launch file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchFile {
    /// What the file is: `launch` (optional; without it, a file without a `robot:` key is one).
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "read only to be checked: deserializing refuses another kind"
    )]
    pub kind: Option<LaunchKind>,
    /// Bus settings.
    #[serde(default)]
    pub bus: BusConfig,
    /// Robot teams this process drives, one agent each (its own actors and, with a
    /// controller, its own episodes, all teams at once) on `clea/<team>/`; each team's robots
    /// serve that namespace (`clea sim --serve --team <team>`, a robot file's
    /// `bus.namespace`). Absent: one agent on `bus.namespace`.
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    /// Module actors to run in this process.
    #[serde(default)]
    pub actors: Vec<ActorKind>,
    /// Episode controller, if this process runs episodes.
    #[serde(default)]
    pub controller: Option<ControllerSection>,
    /// Agent settings.
    #[serde(default)]
    pub agent: AgentSection,
    /// Model endpoints and which modules use them.
    #[serde(default)]
    pub models: clea_agent::backends::ModelsConfig,
    /// Perception (a detector on cameras of the bus) in this process: started before the actors.
    #[serde(default)]
    pub perception: Option<crate::perception::PerceptionSection>,
}

/// The `kind:` of an actor launch file: only `launch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LaunchKind {
    /// An actor launch file.
    Launch,
}

/// `controller:` section.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControllerSection {
    /// Use the critic.
    #[serde(default = "on")]
    pub critic: OnOffWord,
    /// Open-loop ablation.
    #[serde(default)]
    pub open_loop: bool,
    /// Episodes to run.
    #[serde(default = "one")]
    pub episodes: u32,
    /// Seed (default: the scenario's).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Folder for MCAP episode logs.
    #[serde(default)]
    pub log_dir: Option<PathBuf>,
}

/// `on` or `off`; `true` and `false` too, since YAML 1.1 readers (PyYAML, many editors'
/// tools) read an unquoted `on` as a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[serde(from = "OnOffText")]
pub enum OnOffWord {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

impl<'de> Deserialize<'de> for OnOffWord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = OnOffWord;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("on or off (or true / false)")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<OnOffWord, E> {
                Ok(if v { OnOffWord::On } else { OnOffWord::Off })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OnOffWord, E> {
                match v {
                    "on" => Ok(OnOffWord::On),
                    "off" => Ok(OnOffWord::Off),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// How `on`/`off` may be written: the schema of [`OnOffWord`].
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
enum OnOffText {
    Word(Word),
    Bool(bool),
}

/// The words.
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // only its schema is used
enum Word {
    On,
    Off,
}

fn on() -> OnOffWord {
    OnOffWord::On
}
fn one() -> u32 {
    1
}

/// `agent:` section.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// History buffer length (entries).
    #[serde(default = "history")]
    pub history: usize,
    /// Deadline of each skill after acceptance, s.
    #[serde(default = "thirty")]
    pub skill_timeout_s: f64,
    /// Deadline of each module request, s.
    #[serde(default = "thirty")]
    pub module_timeout_s: f64,
    /// How long to wait for robots' skill servers to appear, s.
    #[serde(default = "ten")]
    pub wait_for_robots_s: f64,
    /// Most model calls per episode.
    #[serde(default = "calls")]
    pub max_model_calls: u32,
    /// Most model tokens per episode.
    #[serde(default = "tokens")]
    pub max_model_tokens: u64,
    /// Wall-time budget per episode, s, replacing the scenario's (a model on a CPU is slow).
    #[serde(default)]
    pub max_wall_time_s: Option<f64>,
    /// How much failure an episode tolerates (critic rejections, invalid plans, plans,
    /// unreachable robots, repeats of a failing call in a row); each field optional.
    #[serde(default)]
    pub limits: clea_agent::controller::ControllerLimits,
}

fn calls() -> u32 {
    500
}
fn tokens() -> u64 {
    2_000_000
}

fn history() -> usize {
    16
}
fn thirty() -> f64 {
    30.0
}
fn ten() -> f64 {
    10.0
}

impl Default for AgentSection {
    fn default() -> Self {
        Self {
            history: history(),
            skill_timeout_s: thirty(),
            module_timeout_s: thirty(),
            wait_for_robots_s: ten(),
            max_model_calls: calls(),
            max_model_tokens: tokens(),
            max_wall_time_s: None,
            limits: Default::default(),
        }
    }
}

/// Load and check a launch file; the error is one line `file: where: why`.
pub fn load(path: &Path) -> Result<LaunchFile, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: file: {e}"))?;
    let mut lf: LaunchFile = serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &e))?;
    let fail = |field: &str, why: String| format!("{file}: {field}: {why}");
    check_bus(&lf.bus).map_err(|(field, why)| fail(&field, why))?;
    let teams = lf.teams.as_deref().unwrap_or_default();
    if lf.teams.as_ref().is_some_and(Vec::is_empty) {
        return Err(fail(
            "teams",
            "empty: name at least one team, or leave teams out (one agent on bus.namespace)".into(),
        ));
    }
    for (i, t) in teams.iter().enumerate() {
        clea_bus::keys::check_chunk(t).map_err(|e| fail(&format!("teams[{i}]"), e.to_string()))?;
        if teams[..i].contains(t) {
            return Err(fail(&format!("teams[{i}]"), format!("{t} listed twice")));
        }
    }
    if lf.teams.is_some() && lf.perception.is_some() {
        return Err(fail(
            "perception",
            "a file with teams drives several robot teams; perception runs beside one robot \
             (its own launch or robot file, on its team's namespace)"
                .into(),
        ));
    }
    let mut seen = Vec::new();
    for (i, a) in lf.actors.iter().enumerate() {
        if seen.contains(a) {
            return Err(fail(
                &format!("actors[{i}]"),
                format!("{} listed twice", a.as_str()),
            ));
        }
        seen.push(*a);
    }
    if lf.actors.is_empty() && lf.controller.is_none() && lf.perception.is_none() {
        return Err(fail(
            "actors",
            "nothing to run: no actors, no controller and no perception".into(),
        ));
    }
    if let Some(p) = lf.perception.as_mut() {
        crate::perception::check(path, p, None)?;
    }
    if let Some(c) = &lf.controller {
        if c.episodes == 0 {
            return Err(fail("controller.episodes", "must be at least 1".into()));
        }
    }
    let a = &lf.agent;
    for (field, v) in [
        ("agent.skill_timeout_s", a.skill_timeout_s),
        ("agent.module_timeout_s", a.module_timeout_s),
        ("agent.wait_for_robots_s", a.wait_for_robots_s),
        ("agent.max_wall_time_s", a.max_wall_time_s.unwrap_or(1.0)),
    ] {
        if !(v > 0.0 && v <= clea_sim::scenario::MAX_SECONDS) {
            return Err(fail(
                field,
                format!(
                    "{v} is not a time in (0, {}] s",
                    clea_sim::scenario::MAX_SECONDS
                ),
            ));
        }
    }
    if a.history == 0 {
        return Err(fail("agent.history", "must hold at least 1 entry".into()));
    }
    let l = &a.limits;
    for (field, v) in [
        (
            "agent.limits.max_consecutive_rejections",
            l.max_consecutive_rejections,
        ),
        ("agent.limits.max_invalid_plans", l.max_invalid_plans),
        ("agent.limits.max_plans", l.max_plans),
        ("agent.limits.max_unreachable", l.max_unreachable),
        (
            "agent.limits.max_repeated_failures",
            l.max_repeated_failures,
        ),
    ] {
        if v == 0 {
            return Err(fail(
                field,
                "must be at least 1 (0 ends every episode at once)".into(),
            ));
        }
    }
    // Relative template and cassette paths are relative to the launch file.
    let base = path.parent().unwrap_or(Path::new("."));
    let rel = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    for m in [
        &mut lf.models.modules.observer,
        &mut lf.models.modules.memory,
        &mut lf.models.modules.planner,
        &mut lf.models.modules.critic,
    ] {
        if let Some(t) = m.template.as_mut() {
            rel(t);
        }
    }
    if let Some(c) = lf.models.cassette.as_mut() {
        rel(c);
    }
    lf.models
        .check()
        .and_then(|()| lf.models.check_fits(lf.agent.module_timeout_s))
        .map_err(|(field, why)| fail(&field, why))?;
    Ok(lf)
}

impl LaunchFile {
    /// The namespaces of the agents this file starts: its teams, or the bus namespace.
    pub fn agent_namespaces(&self) -> Vec<String> {
        match &self.teams {
            Some(teams) => teams.clone(),
            None => vec![self.bus.namespace.clone()],
        }
    }
}

/// Check a `bus:` section: the namespace and every endpoint. Returns (field, why).
pub fn check_bus(bus: &BusConfig) -> Result<(), (String, String)> {
    clea_bus::keys::check_chunk(&bus.namespace)
        .map_err(|e| ("bus.namespace".to_string(), e.to_string()))?;
    for (field, list) in [("bus.listen", &bus.listen), ("bus.connect", &bus.connect)] {
        for (i, ep) in list.iter().enumerate() {
            let one = BusConfig {
                listen: vec![ep.clone()],
                ..Default::default()
            };
            one.to_zenoh().map_err(|e| {
                (
                    format!("{field}[{i}]"),
                    format!("{ep:?} is not a zenoh endpoint ({e})"),
                )
            })?;
        }
    }
    Ok(())
}

/// A YAML error as one line: `file: line L column C: why`.
pub fn yaml_error(path: &Path, e: &serde_yaml::Error) -> String {
    let loc = e.location().map_or("document".to_string(), |l| {
        format!("line {} column {}", l.line(), l.column())
    });
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    format!("{}: {loc}: {msg}", path.display())
}
