//! JSON schemas of the skills, for model tool calls (OpenAI `tools` / `response_format`).
//!
//! With a world vocabulary, every argument is an `enum` of the names of its kind, so a
//! grammar-constrained model cannot even spell an object the world does not have.

use crate::pool::{ArgKind, SkillSpec, POOL};
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
pub fn call_schema(vocab: Option<&WorldVocabulary>) -> Value {
    let variants: Vec<Value> = POOL
        .iter()
        .map(|spec| {
            json!({
                "type": "object",
                "properties": {
                    "skill": {"const": spec.name.as_str()},
                    "args": parameters_schema(spec, vocab),
                },
                "required": ["skill", "args"],
                "additionalProperties": false,
            })
        })
        .collect();
    json!({ "oneOf": variants })
}
