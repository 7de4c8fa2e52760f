//! The model-backed observer (CLEA Sec. III-A: a VLM turns camera images into a structured
//! observation): for each robot with camera frames, the newest frame of each of its cameras goes
//! to a vision model as a base64 data URL; the reply, constrained by a JSON schema whose names
//! are the world's, becomes that robot's [`RobotObservation`].
//!
//! The reply is validated before it becomes an observation: receptacles and objects must be the
//! world's (anything else is sent back for a repair), an object appears at most once, a robot
//! holds at most what it can carry. The robot's place comes from the robot's own report
//! (navigation knows where the base is), not from the model. Robots without frames keep their
//! own structured observation.

use super::client::ChatMessage;
use super::prompt::{names_text, quote, render, OBSERVER};
use super::ModelRuntime;
use crate::modules::{CameraFrame, ModuleError, Observer};
use crate::symbolic::observer::{build, render as render_observations};
use async_trait::async_trait;
use clea_bus::msg::{
    ModelUsage, Observation, ObservedObject, ReceptacleView, RobotInfo, RobotObservation,
    WorldVocabulary,
};
use clea_skills::schema::names_of;
use clea_skills::ArgKind;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// An observer that asks a vision model about the robots' camera frames.
pub struct ModelObserver {
    runtime: ModelRuntime,
    template: String,
    /// Calls and tokens of the newest observation.
    last_usage: Option<ModelUsage>,
}

impl ModelObserver {
    /// An observer on `runtime` with the default template.
    pub fn new(runtime: ModelRuntime) -> Self {
        Self::with_template(runtime, OBSERVER.to_string())
    }

    /// An observer on `runtime` with `template` (placeholders `{{robot}}`, `{{names}}`,
    /// `{{report}}`, `{{cameras}}`).
    pub fn with_template(runtime: ModelRuntime, template: String) -> Self {
        Self {
            runtime,
            template,
            last_usage: None,
        }
    }

    /// Calls and tokens spent on the newest observation (`None` before the first, or when no
    /// robot had frames).
    pub fn last_usage(&self) -> Option<&ModelUsage> {
        self.last_usage.as_ref()
    }
}

/// The JSON schema of an observer reply, with the world's names as enums.
pub fn observation_schema(v: &WorldVocabulary) -> Value {
    let receptacles = names_of(ArgKind::Receptacle, v);
    let objects = names_of(ArgKind::Object, v);
    json!({
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "in_view": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "receptacle": {"type": "string", "enum": receptacles},
                        "open": {"type": ["boolean", "null"]},
                        "contents_visible": {"type": "boolean"},
                        "objects": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "object": {"type": "string", "enum": objects},
                                    "roasted": {"type": "boolean"},
                                },
                                "required": ["object", "roasted"],
                                "additionalProperties": false,
                            },
                        },
                    },
                    "required": ["receptacle", "open", "contents_visible", "objects"],
                    "additionalProperties": false,
                },
            },
            "holding": {"type": "array", "items": {"type": "string", "enum": objects}},
        },
        "required": ["reasoning", "in_view", "holding"],
        "additionalProperties": false,
    })
}

/// Parse and validate a reply against the world: `(in_view, holding)`.
///
/// # Errors
/// The first problem, in words the model gets back for its repair.
pub fn parse_reply(
    v: &Value,
    vocab: &WorldVocabulary,
    robot: &RobotInfo,
) -> Result<(Vec<ReceptacleView>, Vec<String>), String> {
    let mut seen_objects: BTreeSet<String> = BTreeSet::new();
    let mut object = |o: &str, where_: &str| -> Result<String, String> {
        if !vocab.is_object(o) {
            return Err(format!(
                "{o:?} ({where_}) is not an object of this world; use only the listed objects"
            ));
        }
        if !seen_objects.insert(o.to_string()) {
            return Err(format!(
                "{o:?} appears more than once; an object is in one place"
            ));
        }
        Ok(o.to_string())
    };
    let mut in_view = Vec::new();
    let mut receptacles = BTreeSet::new();
    for item in v
        .get("in_view")
        .and_then(Value::as_array)
        .ok_or("missing array field \"in_view\"")?
    {
        let name = item
            .get("receptacle")
            .and_then(Value::as_str)
            .ok_or("an in_view entry lacks the string \"receptacle\"")?;
        let Some(info) = vocab.receptacle(name) else {
            return Err(format!(
                "{name:?} is not a receptacle of this world; use only the listed receptacles"
            ));
        };
        if !receptacles.insert(name.to_string()) {
            return Err(format!("receptacle {name:?} is listed twice in in_view"));
        }
        // Only openables have an open state; a closed one hides its contents.
        let open = if info.openable {
            item.get("open").and_then(Value::as_bool)
        } else {
            None
        };
        let contents_visible = open != Some(false)
            && item
                .get("contents_visible")
                .and_then(Value::as_bool)
                .unwrap_or(true);
        let mut objects = Vec::new();
        for o in item
            .get("objects")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            let n = o
                .get("object")
                .and_then(Value::as_str)
                .ok_or("an object entry lacks the string \"object\"")?;
            objects.push(ObservedObject {
                object: object(n, name)?,
                roasted: o.get("roasted").and_then(Value::as_bool).unwrap_or(false),
            });
        }
        if !contents_visible && !objects.is_empty() {
            return Err(format!(
                "{name} is closed, yet objects are listed in it; list only what is visible"
            ));
        }
        in_view.push(ReceptacleView {
            receptacle: name.to_string(),
            open,
            contents_visible,
            objects,
        });
    }
    let mut holding = Vec::new();
    for o in v
        .get("holding")
        .and_then(Value::as_array)
        .ok_or("missing array field \"holding\"")?
    {
        let n = o.as_str().ok_or("holding lists object names (strings)")?;
        holding.push(object(n, "held")?);
    }
    if holding.len() > usize::from(robot.carry) {
        return Err(format!(
            "{} carries at most {} object(s), not {}",
            robot.name,
            robot.carry,
            holding.len()
        ));
    }
    Ok((in_view, holding))
}

#[async_trait]
impl Observer for ModelObserver {
    async fn observe(
        &mut self,
        step: u32,
        robots: &[RobotObservation],
    ) -> Result<Observation, ModuleError> {
        // Without frames there is nothing to look at: the robots' own observations stand.
        self.last_usage = None;
        Ok(build(step, robots))
    }

    fn wants_frames(&self) -> bool {
        true
    }

    async fn observe_frames(
        &mut self,
        step: u32,
        robots: &[RobotObservation],
        frames: &[CameraFrame],
        vocabulary: Option<&WorldVocabulary>,
    ) -> Result<Observation, ModuleError> {
        if frames.is_empty() {
            return self.observe(step, robots).await;
        }
        let vocab = vocabulary.ok_or_else(|| {
            ModuleError::BadRequest(
                "a model observer needs the world's names (ObserveRequest.vocabulary)".into(),
            )
        })?;
        let mut usage = ModelUsage::default();
        let mut out = Vec::new();
        for robot in &vocab.robots {
            let own = robots.iter().find(|r| r.robot == robot.name);
            let mine: Vec<&CameraFrame> = frames.iter().filter(|f| f.robot == robot.name).collect();
            if mine.is_empty() {
                out.extend(own.cloned());
                continue;
            }
            let report = own.map_or_else(String::new, |o| {
                render_observations(std::slice::from_ref(o))
            });
            let cameras = mine
                .iter()
                .map(|f| {
                    format!(
                        "- camera {} (stamp {:.3} s)",
                        f.camera,
                        f.stamp.as_secs_f64()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let prompt = render(
                &self.template,
                &[
                    ("robot", robot.name.clone()),
                    ("names", names_text(vocab)),
                    ("report", quote(&report)),
                    ("cameras", cameras),
                ],
            );
            let images: Vec<(String, Vec<u8>)> = mine
                .iter()
                .map(|f| (f.media_type.clone(), f.bytes.clone()))
                .collect();
            let messages = vec![ChatMessage::with_images(prompt, &images)];
            let ((in_view, holding), u) = self
                .runtime
                .ask(
                    "observer",
                    step,
                    "observation",
                    observation_schema(vocab),
                    messages,
                    |v| parse_reply(v, vocab, robot),
                )
                .await?;
            usage.add(&u);
            out.push(RobotObservation {
                robot: robot.name.clone(),
                step,
                place: own.and_then(|o| o.place.clone()),
                holding,
                in_view,
            });
        }
        self.last_usage = Some(usage);
        Ok(build(step, &out))
    }
}
