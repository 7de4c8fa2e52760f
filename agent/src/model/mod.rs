//! Model-backed modules: observer (vision), planner, critic and summarizer on any
//! OpenAI-compatible endpoint.
//!
//! - [`client`]: the chat completions client ([`client::HttpBackend`]) with structured output,
//!   retries and accounting, behind the [`client::ChatBackend`] trait.
//! - [`cassette`]: a backend that serves replies recorded in an episode log, so an episode
//!   re-runs with the same decisions and no endpoint.
//! - [`prompt`]: the prompt templates (`agent/prompts/*.md`) and how world text is quoted.
//! - [`observer`], [`planner`], [`critic`], [`summarizer`]: the modules.
//!
//! Safety: every reply is parsed as JSON against the module's schema and validated against the
//! skill pool and the world vocabulary; an invalid reply is sent back with the error for a
//! bounded number of repairs, then the module fails cleanly. Nothing a model writes is evaluated:
//! the only way its text reaches a robot is as a skill call that `clea_skills::validate` accepted
//! (and that the controller checks again, with the task's scope).

pub mod cassette;
pub mod client;
pub mod critic;
pub mod observer;
pub mod planner;
pub mod prompt;
pub mod summarizer;

use crate::modules::ModuleError;
use clea_bus::msg::{ModelCall, ModelOutcome, ModelUsage};
use client::{ChatBackend, ChatMessage, ChatRequest};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// HTTP requests a failed call made: every attempt when the endpoint stayed unavailable, one
/// when it answered with an error or a malformed completion, none when nothing was sent.
fn error_attempts(e: &client::ModelError) -> u32 {
    use client::ModelError;
    match e {
        ModelError::Unavailable { attempts, .. } => *attempts,
        ModelError::Rejected { .. } | ModelError::Malformed(_) => 1,
        _ => 0,
    }
}

/// A reply's text as the JSON object every module's schema asks for; the error says what is
/// wrong in words a model can act on (not JSON; a JSON string, perhaps an object encoded twice;
/// an array or a number).
fn read_reply(text: &str) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("the reply is not JSON ({e})"))?;
    match &v {
        Value::Object(_) => Ok(v),
        Value::String(inner) => Err(
            if serde_json::from_str::<Value>(inner).is_ok_and(|i| i.is_object()) {
                "the reply is a JSON string that holds an object (encoded twice), not an object: send the object itself".into()
            } else {
                "the reply is a JSON string, not an object".into()
            },
        ),
        other => Err(format!(
            "the reply is a JSON {}, not an object",
            match other {
                Value::Array(_) => "array",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                _ => "null",
            }
        )),
    }
}

/// What model-backed modules share: the backend and where model calls are logged.
#[derive(Clone)]
pub struct ModelRuntime {
    /// The endpoint or cassette.
    pub backend: Arc<dyn ChatBackend>,
    /// Every call goes here (the actor publishes it on `clea/<ns>/model/call`).
    pub log: Option<UnboundedSender<ModelCall>>,
    /// Repairs allowed after an invalid reply.
    pub repairs: u32,
}

impl ModelRuntime {
    fn record(&self, call: ModelCall) {
        tracing::debug!(module = %call.module, outcome = %call.outcome, "model call");
        if let Some(log) = &self.log {
            let _ = log.send(call);
        }
    }

    /// Ask for a reply following `schema`; `check` parses and validates it. An invalid reply is
    /// sent back with the error, up to `repairs` times. Every call is logged with its outcome.
    ///
    /// # Errors
    /// [`ModuleError::Backend`] when the endpoint fails (after its retries);
    /// [`ModuleError::NoAnswer`] when no reply passed `check` after the repairs.
    pub async fn ask<T>(
        &self,
        module: &str,
        step: u32,
        schema_name: &str,
        schema: Value,
        mut messages: Vec<ChatMessage>,
        check: impl Fn(&Value) -> Result<T, String>,
    ) -> Result<(T, ModelUsage), ModuleError> {
        let mut usage = ModelUsage::default();
        let mut last = String::new();
        for _ in 0..=self.repairs {
            let req = ChatRequest {
                schema_name: schema_name.into(),
                schema: schema.clone(),
                messages: messages.clone(),
            };
            let body = self.backend.body(&req);
            let t0 = std::time::Instant::now();
            let reply = match self.backend.complete(&req).await {
                Ok(r) => r,
                Err(e) => {
                    // A failed call still cost HTTP attempts and time: it counts against the
                    // episode's model-call budget like any other.
                    let failed = ModelUsage {
                        calls: error_attempts(&e),
                        latency_s: t0.elapsed().as_secs_f64(),
                        ..ModelUsage::default()
                    };
                    self.record(ModelCall {
                        module: module.into(),
                        step,
                        request: body,
                        reply: String::new(),
                        usage: failed,
                        finish_reason: None,
                        outcome: ModelOutcome::Error(e.to_string()),
                    });
                    return Err(ModuleError::Backend(e.to_string()));
                }
            };
            usage.add(&reply.usage);
            let verdict = read_reply(&reply.text).and_then(|v| check(&v));
            // A reply cut at max_tokens is rejected with that reason, whatever else is wrong.
            let verdict = match (verdict, reply.finish_reason.as_deref()) {
                (Err(why), Some("length")) => Err(format!(
                    "the reply was cut at the token limit (finish_reason: length) before it was complete; answer shorter ({why})"
                )),
                (v, _) => v,
            };
            self.record(ModelCall {
                module: module.into(),
                step,
                request: body,
                reply: reply.text.clone(),
                usage: reply.usage,
                finish_reason: reply.finish_reason.clone(),
                outcome: match &verdict {
                    Ok(_) => ModelOutcome::Accepted,
                    Err(why) => ModelOutcome::Rejected(why.clone()),
                },
            });
            match verdict {
                Ok(t) => return Ok((t, usage)),
                Err(why) => {
                    tracing::warn!(module, %why, "model reply rejected");
                    messages.push(ChatMessage::text("assistant", reply.text));
                    messages.push(ChatMessage::text(
                        "user",
                        format!(
                            "Your reply was rejected: {why}. Reply again with one JSON object that follows the schema, using only the listed skills and names."
                        ),
                    ));
                    last = why;
                }
            }
        }
        Err(ModuleError::NoAnswer(format!(
            "no valid reply after {} repairs; last: {last}",
            self.repairs
        )))
    }
}
