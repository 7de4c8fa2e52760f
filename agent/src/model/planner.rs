//! The model-backed planner (CLEA Sec. III-C): belief, observation, task and feedback → subgoal
//! and 1–5 skill calls, or done. The reply schema enumerates the skill pool with the world's
//! names; each call is validated with `clea_skills::validate` before the plan leaves the module.

use super::prompt::{quote, render, task_values, PLANNER};
use super::ModelRuntime;
use crate::modules::{ModuleError, Planner};
use async_trait::async_trait;
use clea_bus::msg::{Plan, PlanRequest, SkillCall, WorldVocabulary};
use clea_skills::schema::call_schema;
use clea_skills::{validate, TaskScope};
use serde_json::{json, Value};

/// A planner that asks a chat model.
pub struct ModelPlanner {
    runtime: ModelRuntime,
    template: String,
}

impl ModelPlanner {
    /// A planner on `runtime` with the default template.
    pub fn new(runtime: ModelRuntime) -> Self {
        Self::with_template(runtime, PLANNER.to_string())
    }

    /// A planner with a custom template (same placeholders as `agent/prompts/planner.md`).
    pub fn with_template(runtime: ModelRuntime, template: String) -> Self {
        Self { runtime, template }
    }
}

/// The JSON schema of a planner reply: reasoning first (chain of thought), then subgoal; then
/// either `done: false` with 1 to `max_actions` calls over the pool and the world's names, or
/// `done: true` with none (so a grammar-constrained model cannot even write "done" with actions).
///
/// While the belief shows goals that do not hold (`may_finish` false), only the `done: false`
/// branch is offered: the controller would refuse a done claim against the belief anyway, and a
/// small model wastes calls on it. Calls name only objects in `scope` (the task's objects and
/// what a robot holds), so a constrained decoder cannot produce an off-task call.
pub fn plan_schema(
    vocab: &WorldVocabulary,
    scope: &TaskScope,
    max_actions: u32,
    may_finish: bool,
) -> Value {
    let calls = call_schema(Some(vocab), Some(scope));
    let branch = |done: bool| {
        let actions = if done {
            json!({"type": "array", "maxItems": 0, "items": calls})
        } else {
            json!({"type": "array", "minItems": 1, "maxItems": max_actions, "items": calls})
        };
        json!({
            "type": "object",
            "properties": {
                "reasoning": {"type": "string"},
                "subgoal": {"type": "string"},
                "done": {"const": done},
                "actions": actions,
            },
            "required": ["reasoning", "subgoal", "done", "actions"],
            "additionalProperties": false,
        })
    };
    if may_finish {
        json!({"anyOf": [branch(false), branch(true)]})
    } else {
        branch(false)
    }
}

/// Parse and validate a planner reply.
///
/// # Errors
/// A sentence saying what is wrong (missing field, an invalid call with its validation error,
/// done with actions, no actions while not done, too many actions). A call outside the task's
/// scope is not this check's to refuse: the controller refuses it with the reason
/// (`clea_agent::episode::out_of_scope`), for every planner alike.
pub fn check_plan(
    v: &Value,
    vocab: &WorldVocabulary,
    max_actions: u32,
    step: u32,
) -> Result<Plan, String> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let subgoal = text("subgoal").ok_or("missing string field \"subgoal\"")?;
    let done = v
        .get("done")
        .and_then(Value::as_bool)
        .ok_or("missing boolean field \"done\"")?;
    let raw = v
        .get("actions")
        .and_then(Value::as_array)
        .ok_or("missing array field \"actions\"")?;
    let mut actions = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let call: SkillCall = serde_json::from_value(a.clone())
            .map_err(|e| format!("actions[{i}] is not a skill call ({e})"))?;
        validate(&call, vocab).map_err(|e| format!("actions[{i}]: {e}"))?;
        actions.push(call);
    }
    if done && !actions.is_empty() {
        return Err("\"done\" is true but actions are given; give no actions when done".into());
    }
    if !done && actions.is_empty() {
        return Err("no actions although the task is not done".into());
    }
    if actions.len() > max_actions as usize {
        return Err(format!("{} actions; at most {max_actions}", actions.len()));
    }
    Ok(Plan {
        step,
        subgoal,
        actions,
        done,
        reasoning: text("reasoning").unwrap_or_default(),
        usage: None,
    })
}

#[async_trait]
impl Planner for ModelPlanner {
    async fn plan(&mut self, req: &PlanRequest) -> Result<Plan, ModuleError> {
        let vocab = &req.task.vocabulary;
        let max = req.max_actions.clamp(1, 5);
        let feedback = if req.feedback.is_empty() {
            "none".to_string()
        } else {
            req.feedback
                .iter()
                .map(|f| format!("- {}", quote(f)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut values = task_values(&req.task);
        values.push(("belief", quote(&req.belief.text)));
        values.push(("observation", quote(&req.observation.text)));
        values.push(("feedback", feedback));
        let open: Vec<&String> = req
            .task
            .goals
            .iter()
            .filter(|g| !req.belief.goals_holding.contains(g))
            .collect();
        let list = |v: Vec<&String>| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        values.push((
            "goals_holding",
            list(req.belief.goals_holding.iter().collect()),
        ));
        let may_finish = open.is_empty();
        values.push(("goals_open", list(open)));
        let prompt = render(&self.template, &values);
        let messages = vec![super::client::ChatMessage::text("user", prompt)];
        let step = req.belief.step;
        let scope = TaskScope::of(&req.task, Some(&req.belief));
        let (mut plan, usage) = self
            .runtime
            .ask(
                "planner",
                step,
                "plan",
                plan_schema(vocab, &scope, max, may_finish),
                messages,
                |v| check_plan(v, vocab, max, step),
            )
            .await?;
        plan.usage = Some(usage);
        Ok(plan)
    }
}
