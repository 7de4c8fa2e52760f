//! The model-backed summarizer (CLEA Sec. III-B): the history buffer → belief.
//!
//! Economy: the model runs only when something new was observed (a fact learnt or overturned, as
//! the symbolic merge that runs alongside reports); otherwise the previous belief stands, with the
//! robots' own state (place, gripper) taken from their observations.

use super::prompt::{names_text, quote, render, SUMMARIZER};
use super::ModelRuntime;
use crate::belief::BeliefView;
use crate::memory::render_belief;
use crate::modules::{ModuleError, Summarizer};
use crate::symbolic::SymbolicSummarizer;
use async_trait::async_trait;
use clea_bus::msg::{Belief, MemoryRequest, ModelUsage, TaskSpec, WorldVocabulary};
use clea_skills::schema::names_of;
use clea_skills::{ArgKind, Goal};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A summarizer that asks a chat model when something new was observed.
pub struct ModelSummarizer {
    runtime: ModelRuntime,
    symbolic: SymbolicSummarizer,
    task: Option<TaskSpec>,
    previous_symbolic: Option<Belief>,
    belief: Option<Belief>,
    template: String,
}

impl ModelSummarizer {
    /// A summarizer with a history buffer of `capacity` entries and the default template.
    pub fn new(runtime: ModelRuntime, capacity: usize) -> Self {
        Self::with_template(runtime, capacity, SUMMARIZER.to_string())
    }

    /// A summarizer with a custom template (same placeholders as
    /// `agent/prompts/summarizer.md`: `{{names}}`, `{{previous}}`, `{{history}}`).
    pub fn with_template(runtime: ModelRuntime, capacity: usize, template: String) -> Self {
        Self {
            template,
            runtime,
            symbolic: SymbolicSummarizer::new(capacity),
            task: None,
            previous_symbolic: None,
            belief: None,
        }
    }
}

/// The JSON schema of a summarizer reply over the world's names.
pub fn belief_schema(v: &WorldVocabulary) -> Value {
    let mut places = names_of(ArgKind::Receptacle, v);
    places.extend(names_of(ArgKind::Robot, v));
    places.push("unknown".into());
    json!({
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "objects": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "object": {"type": "string", "enum": names_of(ArgKind::Object, v)},
                    "location": {"type": "string", "enum": places},
                },
                "required": ["object", "location"],
                "additionalProperties": false,
            }},
            "containers": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "receptacle": {"type": "string", "enum": names_of(ArgKind::Openable, v)},
                    "state": {"type": "string", "enum": ["open", "closed", "unknown"]},
                },
                "required": ["receptacle", "state"],
                "additionalProperties": false,
            }},
        },
        "required": ["reasoning", "objects", "containers"],
        "additionalProperties": false,
    })
}

/// Parse and validate a summarizer reply onto `base` (which supplies robots and search facts).
///
/// # Errors
/// A sentence naming an unknown object, place or container, or a duplicate.
pub fn check_belief(v: &Value, vocab: &WorldVocabulary, base: &Belief) -> Result<Belief, String> {
    let mut b = base.clone();
    let mut seen = BTreeMap::new();
    for (i, o) in v
        .get("objects")
        .and_then(Value::as_array)
        .ok_or("missing array \"objects\"")?
        .iter()
        .enumerate()
    {
        let name = o
            .get("object")
            .and_then(Value::as_str)
            .ok_or(format!("objects[{i}].object missing"))?;
        let loc = o
            .get("location")
            .and_then(Value::as_str)
            .ok_or(format!("objects[{i}].location missing"))?;
        if !vocab.is_object(name) {
            return Err(format!(
                "objects[{i}]: {name:?} is not an object of this world"
            ));
        }
        if loc != "unknown" && vocab.receptacle(loc).is_none() && vocab.robot(loc).is_none() {
            return Err(format!(
                "objects[{i}]: {loc:?} is not a receptacle or robot of this world"
            ));
        }
        if seen.insert(name.to_string(), ()).is_some() {
            return Err(format!("objects[{i}]: {name} listed twice"));
        }
        if let Some(bo) = b.objects.iter_mut().find(|x| x.object == name) {
            bo.location = (loc != "unknown").then(|| loc.to_string());
        }
    }
    for (i, c) in v
        .get("containers")
        .and_then(Value::as_array)
        .ok_or("missing array \"containers\"")?
        .iter()
        .enumerate()
    {
        let name = c
            .get("receptacle")
            .and_then(Value::as_str)
            .ok_or(format!("containers[{i}].receptacle missing"))?;
        let state = c
            .get("state")
            .and_then(Value::as_str)
            .ok_or(format!("containers[{i}].state missing"))?;
        let Some(bc) = b.containers.iter_mut().find(|x| x.receptacle == name) else {
            return Err(format!(
                "containers[{i}]: {name:?} is not an openable receptacle of this world"
            ));
        };
        bc.open = match state {
            "open" => Some(true),
            "closed" => Some(false),
            "unknown" => None,
            other => {
                return Err(format!(
                    "containers[{i}]: state {other:?} is not open, closed or unknown"
                ))
            }
        };
    }
    Ok(b)
}

fn same_facts(a: &Belief, b: &Belief) -> bool {
    a.objects == b.objects && a.containers == b.containers
}

#[async_trait]
impl Summarizer for ModelSummarizer {
    async fn summarize(&mut self, req: &MemoryRequest) -> Result<Belief, ModuleError> {
        if let Some(t) = &req.reset {
            self.task = Some(t.clone());
            self.previous_symbolic = None;
            self.belief = None;
        }
        let sym = self.symbolic.summarize(req).await?;
        let task = self
            .task
            .clone()
            .ok_or_else(|| ModuleError::BadRequest("memory used before a reset".into()))?;
        let new_info = match &self.previous_symbolic {
            None => true,
            Some(prev) => !same_facts(prev, &sym) || !sym.contradictions.is_empty(),
        };
        self.previous_symbolic = Some(sym.clone());
        let mut belief = match (&self.belief, new_info) {
            (Some(prev), false) => {
                // Nothing new: keep the model's belief, refresh the robots' own state.
                let mut b = prev.clone();
                b.robots = sym.robots.clone();
                b.step = sym.step;
                b.usage = Some(ModelUsage::default());
                b
            }
            _ => {
                let history: Vec<String> = self
                    .symbolic
                    .memory()
                    .map(|m| {
                        m.history()
                            .map(|h| {
                                let mut line =
                                    format!("step {}: observed {}", h.step, quote(&h.observation));
                                if let (Some(a), Some(f)) = (&h.action, &h.feedback) {
                                    // The outcome carries the robot's own words (a failure
                                    // reason): data, quoted like the observation.
                                    line.push_str(&format!(
                                        "; then {a}: {}",
                                        quote(&f.to_string())
                                    ));
                                }
                                line
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let previous = self
                    .belief
                    .as_ref()
                    .map_or("none".to_string(), |b| quote(&b.text));
                let values = [
                    ("names", names_text(&task.vocabulary)),
                    ("previous", previous),
                    ("history", history.join("\n")),
                ];
                let prompt = render(&self.template, &values);
                let messages = vec![super::client::ChatMessage::text("user", prompt)];
                let vocab = task.vocabulary.clone();
                let (mut b, usage) = self
                    .runtime
                    .ask(
                        "summarizer",
                        sym.step,
                        "belief",
                        belief_schema(&vocab),
                        messages,
                        |v| check_belief(v, &vocab, &sym),
                    )
                    .await?;
                b.usage = Some(usage);
                b
            }
        };
        // Goals and text follow the model's facts.
        let view = BeliefView::new(&belief, &task.vocabulary);
        let believed = view.believed_locations();
        belief.goals_holding = task
            .goals
            .iter()
            .filter_map(|g| Goal::parse(g, &task.vocabulary).ok())
            .filter(|g| g.holds(&view.state, &believed) == Some(true))
            .map(|g| g.to_string())
            .collect();
        belief.contradictions = sym.contradictions;
        belief.text = render_belief(&belief);
        self.belief = Some(belief.clone());
        Ok(belief)
    }
}
