//! The model-backed observer (CLEA Sec. III-A: a VLM turns camera images into a structured
//! observation): for each robot with camera frames, the newest frame of each of its cameras goes
//! to a vision model as a base64 data URL; the reply, constrained by a JSON schema whose names
//! are the world's, becomes that robot's [`RobotObservation`].
//!
//! The reply is validated before it becomes an observation: receptacles and objects must be the
//! world's and receptacles within the robot's view from where it stands (anything else is sent
//! back for a repair), an openable receptacle's state must be said, contents count as visible
//! only when the reply says so, an object appears at most once, a robot holds at most what it
//! can carry. The robot's place and, when it reports them, what it holds come from the robot's
//! own report (navigation and the gripper know better than a picture). Robots without frames
//! keep their own structured observation.

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

/// Receptacles `robot` can see from `place` (a mobile robot: those near its navigation point,
/// plus its reach; a fixed one: its reach); `None` when a mobile robot's place is unknown.
pub fn in_sight(
    vocab: &WorldVocabulary,
    robot: &RobotInfo,
    place: Option<&str>,
) -> Option<BTreeSet<String>> {
    let mut s: BTreeSet<String> = robot.reach.iter().cloned().collect();
    if robot.mobile {
        let place = place?;
        s.extend(
            vocab
                .receptacles
                .iter()
                .filter(|r| r.near.as_deref() == Some(place))
                .map(|r| r.name.clone()),
        );
    }
    Some(s)
}

/// Parse and validate a reply against the world: `(in_view, holding)`. `sight`: the receptacles
/// the robot can see (see [`in_sight`]; `None`: any of the world's).
///
/// # Errors
/// The first problem, in words the model gets back for its repair.
pub fn parse_reply(
    v: &Value,
    vocab: &WorldVocabulary,
    robot: &RobotInfo,
    sight: Option<&BTreeSet<String>>,
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
        if let Some(sight) = sight.filter(|s| !s.contains(name)) {
            let list: Vec<&str> = sight.iter().map(String::as_str).collect();
            return Err(format!(
                "{} cannot see {name:?} from where it is; it sees only: {}",
                robot.name,
                list.join(", ")
            ));
        }
        if !receptacles.insert(name.to_string()) {
            return Err(format!("receptacle {name:?} is listed twice in in_view"));
        }
        // Only openables have an open state, and it must be said; a closed one hides its
        // contents, and contents count as seen only when the reply says they are visible.
        let open =
            if info.openable {
                Some(item.get("open").and_then(Value::as_bool).ok_or_else(|| {
                    format!("{name} opens: say whether it is open (true or false)")
                })?)
            } else {
                None
            };
        let contents_visible = item
            .get("contents_visible")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("{name}: missing boolean \"contents_visible\""))?
            && open != Some(false);
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
            let place = own.and_then(|o| o.place.clone());
            let sight = in_sight(vocab, robot, place.as_deref());
            let ((in_view, holding), u) = self
                .runtime
                .ask(
                    "observer",
                    step,
                    "observation",
                    observation_schema(vocab),
                    messages,
                    |v| parse_reply(v, vocab, robot, sight.as_ref()),
                )
                .await?;
            usage.add(&u);
            out.push(RobotObservation {
                robot: robot.name.clone(),
                step,
                place,
                // The gripper knows what it holds better than a picture.
                holding: own.map_or(holding, |o| o.holding.clone()),
                in_view,
            });
        }
        self.last_usage = Some(usage);
        Ok(build(step, &out))
    }
}
