//! JSON schemas of the skills, for model tool calls (OpenAI `tools` / `response_format`).
//!
//! With a world vocabulary, every argument is an `enum` of the names of its kind, so a
//! grammar-constrained model cannot even spell an object the world does not have; with a
//! [`TaskScope`], object arguments list only the task's objects.

use crate::pool::{ArgKind, SkillSpec, POOL};
use crate::scope::TaskScope;
use clea_bus::msg::WorldVocabulary;
use serde_json::{json, Value};

/// Names of `kind` in `vocab`, sorted.
pub fn names_of(kind: ArgKind, vocab: &WorldVocabulary) -> Vec<String> {
    let mut v: Vec<String> = match kind {
        ArgKind::Robot => vocab.robots.iter().map(|r| r.name.clone()).collect(),
        ArgKind::NavigationPoint => vocab.navigation_points.clone(),
        ArgKind::Openable => vocab
            .receptacles
            .iter()
            .filter(|r| r.openable)
            .map(|r| r.name.clone())
            .collect(),
        ArgKind::Object => vocab.objects.clone(),
        ArgKind::Receptacle => vocab.receptacles.iter().map(|r| r.name.clone()).collect(),
    };
    v.sort();
    v
}

/// The JSON schema of one skill's arguments (an object with one string property per parameter,
/// all required, no others; with `vocab`, each an `enum` of valid names).
pub fn parameters_schema(spec: &SkillSpec, vocab: Option<&WorldVocabulary>) -> Value {
    let mut props = serde_json::Map::new();
    for p in spec.params {
        let mut s = json!({"type": "string", "description": format!("a {}", p.kind)});
        if let Some(v) = vocab {
            s["enum"] = json!(names_of(p.kind, v));
        }
        props.insert(p.name.to_string(), s);
    }
    json!({
        "type": "object",
        "properties": props,
        "required": spec.params.iter().map(|p| p.name).collect::<Vec<_>>(),
        "additionalProperties": false,
    })
}

/// One OpenAI-style tool definition per skill: `{"type": "function", "function": {name,
/// description, parameters}}`, with preconditions and effects in the description.
pub fn tool_definitions(vocab: Option<&WorldVocabulary>) -> Vec<Value> {
    POOL.iter()
        .map(|spec| {
            let pre: Vec<String> = spec.preconditions.iter().map(|l| l.to_string()).collect();
            let eff: Vec<String> = spec.effects.iter().map(|l| l.to_string()).collect();
            json!({
                "type": "function",
                "function": {
                    "name": spec.name.as_str(),
                    "description": format!(
                        "{} Preconditions: {}. Effects: {}.",
                        spec.description,
                        if pre.is_empty() { "none".to_string() } else { pre.join(", ") },
                        eff.join(", ")
                    ),
                    "parameters": parameters_schema(spec, vocab),
                }
            })
        })
        .collect()
}

/// The schema of one skill call as a JSON value `{"skill": ..., "args": {...}}`: a `oneOf` over
/// the pool, for a planner's `response_format`.
///
/// With a vocabulary there is one variant per skill and robot able to run it: the robot is a
/// constant, robots without the skill's capabilities get no variant, and receptacle arguments
/// list only what that robot can ever reach ([`crate::action::ever_reaches`]). So a
/// grammar-constrained decoder cannot produce a statically impossible call (a fixed arm asked
/// to drive, a mobile robot sent to a receptacle only a fixed arm reaches). With `scope`,
/// object arguments list only the objects in it, and a skill with an object argument gets no
/// variant when none is: an off-task call cannot be produced either.
pub fn call_schema(vocab: Option<&WorldVocabulary>, scope: Option<&TaskScope>) -> Value {
    let Some(vocab) = vocab else {
        let variants: Vec<Value> = POOL
            .iter()
            .map(|spec| variant(spec, parameters_schema(spec, None)))
            .collect();
        return json!({ "oneOf": variants });
    };
    let mut variants = Vec::new();
    for spec in POOL.iter() {
        for robot in &vocab.robots {
            if !spec.requires.iter().all(|c| c.held_by(robot)) {
                continue;
            }
            let mut args = parameters_schema(spec, Some(vocab));
            let mut possible = true;
            for p in spec.params {
                let prop = &mut args["properties"][p.name];
                match p.kind {
                    ArgKind::Robot => {
                        prop.as_object_mut().map(|o| o.remove("enum"));
                        prop["const"] = json!(robot.name);
                    }
                    ArgKind::Openable | ArgKind::Receptacle => {
                        let reachable: Vec<String> = names_of(p.kind, vocab)
                            .into_iter()
                            .filter(|n| {
                                vocab
                                    .receptacle(n)
                                    .is_some_and(|r| crate::action::ever_reaches(robot, r))
                            })
                            .collect();
                        possible &= !reachable.is_empty();
                        prop["enum"] = json!(reachable);
                    }
                    ArgKind::Object => {
                        if let Some(scope) = scope {
                            let on_task: Vec<String> = names_of(p.kind, vocab)
                                .into_iter()
                                .filter(|n| scope.contains(n))
                                .collect();
                            possible &= !on_task.is_empty();
                            prop["enum"] = json!(on_task);
                        }
                    }
                    _ => {}
                }
            }
            if possible {
                variants.push(variant(spec, args));
            }
        }
    }
    json!({ "oneOf": variants })
}

fn variant(spec: &SkillSpec, args: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "skill": {"const": spec.name.as_str()},
            "args": args,
        },
        "required": ["skill", "args"],
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clea_bus::msg::{ReceptacleInfo, ReceptacleKind, RobotInfo};

    fn vocab() -> WorldVocabulary {
        let receptacle = |name: &str, near: Option<&str>| ReceptacleInfo {
            name: name.into(),
            kind: ReceptacleKind::Surface,
            openable: false,
            near: near.map(str::to_string),
            heats: false,
        };
        WorldVocabulary {
            navigation_points: vec!["in_front_of_sink".into()],
            receptacles: vec![
                receptacle("sink", Some("in_front_of_sink")),
                receptacle("trash_can", None),
            ],
            objects: vec!["apple".into()],
            robots: vec![
                RobotInfo {
                    name: "robot_1".into(),
                    mobile: true,
                    arms: 1,
                    carry: 1,
                    reach: vec![],
                },
                RobotInfo {
                    name: "robot_2".into(),
                    mobile: false,
                    arms: 1,
                    carry: 1,
                    reach: vec!["trash_can".into()],
                },
            ],
        }
    }

    /// The variants of `skill` as (robot, receptacle enum).
    fn variants(schema: &Value, skill: &str) -> Vec<(String, Vec<String>)> {
        schema["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["properties"]["skill"]["const"] == skill)
            .map(|v| {
                let args = &v["properties"]["args"]["properties"];
                (
                    args["robot"]["const"].as_str().unwrap().to_string(),
                    serde_json::from_value(args["receptacle"]["enum"].clone()).unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn statically_impossible_calls_cannot_be_said() {
        let s = call_schema(Some(&vocab()), None);
        // Only the mobile robot drives.
        let go: Vec<String> = variants(&s, "go_to").into_iter().map(|v| v.0).collect();
        assert_eq!(go, ["robot_1"]);
        // Each robot picks only from what it can ever reach.
        assert_eq!(
            variants(&s, "pick_from"),
            [
                ("robot_1".to_string(), vec!["sink".to_string()]),
                ("robot_2".to_string(), vec!["trash_can".to_string()]),
            ]
        );
        // No openable receptacle: no variant of open at all.
        assert!(variants(&s, "open").is_empty());
    }
}
