//! The decisions of an episode, read from its log: plans, verdicts, executed actions (with their
//! outcomes) and the episode's end. Two runs are the same when these sequences are equal;
//! timestamps and ids are not decisions and are left out.

use clea_bus::msg::{ActionRecord, EpisodeEvent, Plan, SkillCall, Verdict};
use clea_bus::record::EpisodeLog;
use clea_skills::parse_call;
use std::fmt;

/// One decision or outcome, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The planner's output.
    Plan {
        /// Episode step.
        step: u32,
        /// Subgoal.
        subgoal: String,
        /// Calls, in paper notation.
        actions: Vec<String>,
        /// Declared done.
        done: bool,
    },
    /// The critic's verdict.
    Verdict {
        /// Episode step.
        step: u32,
        /// The action judged (`done` for a done claim).
        action: String,
        /// Feasible.
        feasible: bool,
        /// Why.
        feedback: String,
    },
    /// An executed action and how it ended.
    Action {
        /// Step (1-based).
        step: u32,
        /// The call.
        action: String,
        /// Outcome.
        outcome: String,
    },
    /// The episode's end as the simulator scored it.
    Ended {
        /// Steps.
        step: u32,
        /// Success.
        success: bool,
    },
}

impl Decision {
    /// Episode step of the decision.
    pub fn step(&self) -> u32 {
        match self {
            Decision::Plan { step, .. }
            | Decision::Verdict { step, .. }
            | Decision::Action { step, .. }
            | Decision::Ended { step, .. } => *step,
        }
    }

    /// Short kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Plan { .. } => "plan",
            Decision::Verdict { .. } => "verdict",
            Decision::Action { .. } => "action",
            Decision::Ended { .. } => "end",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Plan {
                subgoal,
                actions,
                done,
                ..
            } => {
                if *done {
                    write!(f, "done ({subgoal})")
                } else {
                    write!(f, "{subgoal}: {}", actions.join("; "))
                }
            }
            Decision::Verdict {
                action,
                feasible,
                feedback,
                ..
            } => write!(
                f,
                "{action}: {} ({feedback})",
                if *feasible { "yes" } else { "NO" }
            ),
            Decision::Action {
                action, outcome, ..
            } => write!(f, "{action} -> {outcome}"),
            Decision::Ended { success, .. } => {
                write!(f, "{}", if *success { "success" } else { "failure" })
            }
        }
    }
}

/// A call in paper notation (positional, as `clea_skills` prints actions), or its raw form.
fn notation(call: &SkillCall) -> String {
    let order: &[&str] = match call.skill.as_str() {
        "go_to" => &["robot", "navigation_point"],
        "open" | "close" => &["robot", "openable"],
        _ => &["robot", "object", "receptacle"],
    };
    let args: Option<Vec<&str>> = order
        .iter()
        .map(|k| call.args.get(*k).and_then(|v| v.as_str()))
        .collect();
    match args {
        Some(a) if a.len() == call.args.len() => {
            let text = format!("{}({})", call.skill, a.join(", "));
            // Round-trip through the parser keeps only well-formed notation.
            parse_call(&text).map_or_else(|_| call.to_string(), |_| text)
        }
        _ => call.to_string(),
    }
}

/// The decisions of `log`, in log order. Messages that do not decode are skipped.
pub fn decisions(log: &EpisodeLog) -> Vec<Decision> {
    let mut out = Vec::new();
    for m in &log.messages {
        let suffix = |s: &str| m.topic.ends_with(s);
        if suffix("/plan") {
            if let Ok(p) = serde_json::from_slice::<Plan>(&m.data) {
                out.push(Decision::Plan {
                    step: p.step,
                    subgoal: p.subgoal,
                    actions: p.actions.iter().map(notation).collect(),
                    done: p.done,
                });
            }
        } else if suffix("/verdict") {
            if let Ok(v) = serde_json::from_slice::<Verdict>(&m.data) {
                out.push(Decision::Verdict {
                    step: v.step,
                    action: notation(&v.action),
                    feasible: v.feasible,
                    feedback: v.feedback,
                });
            }
        } else if suffix("/action") {
            if let Ok(a) = serde_json::from_slice::<ActionRecord>(&m.data) {
                out.push(Decision::Action {
                    step: a.step,
                    action: notation(&a.call),
                    outcome: a.outcome.to_string(),
                });
            }
        } else if suffix("/episode/event") {
            if let Ok(EpisodeEvent::Ended { step, success }) = serde_json::from_slice(&m.data) {
                out.push(Decision::Ended { step, success });
            }
        }
    }
    out
}

/// When exactly one run has verdicts (the other ran without critic), leave verdicts out of the
/// comparison, which would otherwise only say so; every other kind is always compared. Returns
/// the kinds left out.
pub fn common_kinds(a: &mut Vec<Decision>, b: &mut Vec<Decision>) -> Vec<&'static str> {
    let has = |v: &[Decision]| v.iter().any(|d| d.kind() == "verdict");
    if has(a) == has(b) {
        return Vec::new();
    }
    a.retain(|d| d.kind() != "verdict");
    b.retain(|d| d.kind() != "verdict");
    vec!["verdict"]
}

/// Where two decision sequences part: the index of the first difference, if any.
pub fn first_divergence(a: &[Decision], b: &[Decision]) -> Option<usize> {
    let n = a.len().min(b.len());
    (0..n)
        .find(|i| a[*i] != b[*i])
        .or((a.len() != b.len()).then_some(n))
}

/// A side-by-side table of `a` and `b` from a few rows before `from`, the first divergence
/// marked with `>>`.
pub fn side_by_side(
    a: &[Decision],
    b: &[Decision],
    divergence: Option<usize>,
    context: usize,
) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(["", "#", "step", "kind", "a", "b"]);
    let start = divergence.map_or(0, |d| d.saturating_sub(context));
    let end = divergence.map_or(a.len().max(b.len()), |d| {
        (d + context + 1).min(a.len().max(b.len()))
    });
    for i in start..end {
        let cell = |x: Option<&Decision>| {
            let text = x.map_or("(none)".to_string(), |d| d.to_string());
            if text.chars().count() > 90 {
                format!("{}…", text.chars().take(89).collect::<String>())
            } else {
                text
            }
        };
        let (da, db) = (a.get(i), b.get(i));
        let step = da.or(db).map_or(String::new(), |d| d.step().to_string());
        let kind = da.or(db).map_or("", |d| d.kind());
        let mark = if Some(i) == divergence {
            ">>"
        } else if da != db {
            "!="
        } else {
            ""
        };
        t.add_row([
            mark.to_string(),
            i.to_string(),
            step,
            kind.to_string(),
            cell(da),
            cell(db),
        ]);
    }
    t.to_string()
}
