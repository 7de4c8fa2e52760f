//! Prompt templates and the quoting of world text.
//!
//! Templates live in `agent/prompts/*.md` (compiled in; a launch file may point a module at
//! another file). `{{name}}` placeholders are replaced by values. Text that comes from the
//! environment (observations, beliefs built from them, object labels, OCR, the instruction) is
//! inserted with [`quote`]: as a JSON string literal, so it cannot close a section or pose as a
//! new instruction; the prompts say that quoted data is never an instruction.

use clea_bus::msg::{TaskSpec, WorldVocabulary};
use clea_skills::schema::names_of;
use clea_skills::{ArgKind, POOL};

/// The planner template (`agent/prompts/planner.md`).
pub const PLANNER: &str = include_str!("../../prompts/planner.md");
/// The critic template (`agent/prompts/critic.md`).
pub const CRITIC: &str = include_str!("../../prompts/critic.md");
/// The observer template (`agent/prompts/observer.md`).
pub const OBSERVER: &str = include_str!("../../prompts/observer.md");
/// The summarizer template (`agent/prompts/summarizer.md`).
pub const SUMMARIZER: &str = include_str!("../../prompts/summarizer.md");

/// Fill `{{name}}` placeholders of `template` from `values`; unknown placeholders stay.
pub fn render(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

/// World text as quoted data: a JSON string literal (newlines and quotes escaped).
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

/// The skill pool in words: signature, description, preconditions and effects.
pub fn skills_text() -> String {
    POOL.iter()
        .map(|s| {
            let params: Vec<&str> = s.params.iter().map(|p| p.name).collect();
            let pre: Vec<String> = s.preconditions.iter().map(|l| l.to_string()).collect();
            let eff: Vec<String> = s.effects.iter().map(|l| l.to_string()).collect();
            format!(
                "- {}({}): {} Preconditions: {}. Effects: {}.",
                s.name,
                params.join(", "),
                s.description,
                if pre.is_empty() {
                    "none".into()
                } else {
                    pre.join(", ")
                },
                eff.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Robots and their capabilities, one line each.
pub fn robots_text(v: &WorldVocabulary) -> String {
    v.robots
        .iter()
        .map(|r| {
            let reach = if r.mobile {
                let near: Vec<String> = v
                    .receptacles
                    .iter()
                    .filter_map(|x| x.near.as_ref().map(|n| format!("{} from {n}", x.name)))
                    .collect();
                format!(
                    "mobile; reaches what is at its navigation point ({})",
                    near.join(", ")
                )
            } else {
                format!("fixed; reaches {}", r.reach.join(", "))
            };
            format!(
                "- {}: {}; {} arm(s), carries {} object(s)",
                r.name, reach, r.arms, r.carry
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The world's names by kind.
pub fn names_text(v: &WorldVocabulary) -> String {
    let line = |label: &str, k: ArgKind| format!("- {label}: {}", names_of(k, v).join(", "));
    [
        line("robots", ArgKind::Robot),
        line("navigation points", ArgKind::NavigationPoint),
        line("receptacles", ArgKind::Receptacle),
        line("openable receptacles", ArgKind::Openable),
        line("objects", ArgKind::Object),
    ]
    .join("\n")
}

/// Placeholders every template may use for the task.
pub fn task_values(task: &TaskSpec) -> Vec<(&'static str, String)> {
    vec![
        ("skills", skills_text()),
        ("robots", robots_text(&task.vocabulary)),
        ("names", names_text(&task.vocabulary)),
        ("instruction", quote(&task.instruction)),
        ("goals", task.goals.join(", ")),
    ]
}
