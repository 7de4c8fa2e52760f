//! OpenAI-compatible chat completions (`POST {base_url}/chat/completions`), with structured
//! output, retries and accounting.
//!
//! Works with vLLM, SGLang, Ollama, llama.cpp's servers and cloud endpoints: the reply is
//! constrained either by `response_format` (`json_schema`, the OpenAI form; or `json_object` with
//! a `schema`, the llama-cpp-python form) or by a forced tool call. The API key is read from a
//! named environment variable, sent only in the `Authorization` header, and never logged.

use async_trait::async_trait;
use clea_bus::msg::ModelUsage;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How replies are constrained to a JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Structured {
    /// `response_format: {type: json_schema, json_schema: {name, schema, strict}}` (OpenAI,
    /// vLLM, SGLang, Ollama).
    #[default]
    JsonSchema,
    /// `response_format: {type: json_object, schema}` (llama-cpp-python's server).
    JsonObject,
    /// A forced tool call whose parameters are the schema.
    Tool,
}

/// One endpoint, as configured in a launch file (`endpoints:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Base URL up to and including `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Model name the endpoint serves.
    pub model: String,
    /// Name of the environment variable that holds the API key (none: no key is sent).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: f32,
    /// Most completion tokens per call.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Deadline of one HTTP request, s.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Retries after a timeout, a 429 or a 5xx (with exponential backoff, honouring
    /// `Retry-After`).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First backoff, s (doubles per retry, at most 30 s).
    #[serde(default = "default_backoff")]
    pub backoff_s: f64,
    /// How replies are constrained.
    #[serde(default)]
    pub structured: Structured,
}

fn default_max_tokens() -> u32 {
    512
}
fn default_timeout() -> f64 {
    120.0
}
fn default_retries() -> u32 {
    3
}
fn default_backoff() -> f64 {
    0.5
}

/// Why a chat call failed (after retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The endpoint could not be reached or kept failing (timeouts, 429, 5xx) after the retries.
    #[error("endpoint unavailable after {attempts} attempts: {last}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The endpoint answered with a client error (4xx other than 429).
    #[error("endpoint rejected the request: HTTP {status}: {body}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The reply is not a chat completion (no choices, no content).
    #[error("malformed completion: {0}")]
    Malformed(String),
    /// The API key variable is named but not set.
    #[error("environment variable {0} (api_key_env) is not set")]
    MissingKey(String),
    /// The cassette has no recorded reply for this request.
    #[error(
        "cassette has no reply for this request (the agent asked something the log did not record)"
    )]
    NotRecorded,
}

/// A chat message. `content` is text, or OpenAI content parts (text and `image_url` parts with
/// base64 data URLs) for vision models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text or content parts.
    pub content: Value,
}

impl ChatMessage {
    /// A text message.
    pub fn text(role: &str, text: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: Value::String(text.into()),
        }
    }

    /// A user message with text and images (`(media type, bytes)`, e.g. `image/jpeg`), sent as
    /// base64 data URLs.
    pub fn with_images(text: impl Into<String>, images: &[(String, Vec<u8>)]) -> Self {
        let mut parts = vec![json!({"type": "text", "text": text.into()})];
        for (media, bytes) in images {
            let url = format!("data:{media};base64,{}", base64(bytes));
            parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
        }
        Self {
            role: "user".into(),
            content: Value::Array(parts),
        }
    }
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A structured chat request: messages plus the schema the reply must follow.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Name of the reply schema (also the forced tool's name), e.g. `plan`.
    pub schema_name: String,
    /// JSON schema of the reply.
    pub schema: Value,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
}

/// A reply: its text (JSON when the endpoint honoured the schema) and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    /// Message content, or the forced tool call's arguments.
    pub text: String,
    /// Tokens and latency (`calls` counts HTTP attempts).
    pub usage: ModelUsage,
}

/// Something that answers chat requests: an HTTP endpoint, or a cassette of recorded replies.
#[async_trait]
pub trait ChatBackend: Send + Sync {
    /// The request body this backend sends for `req` (what is logged and what a cassette
    /// matches on). Contains no credentials.
    fn body(&self, req: &ChatRequest) -> Value;
    /// Complete `req`.
    async fn complete(&self, req: &ChatRequest) -> Result<ChatReply, ModelError>;
}

/// An OpenAI-compatible HTTP endpoint.
pub struct HttpBackend {
    config: EndpointConfig,
    http: reqwest::Client,
    api_key: Option<String>,
}

impl HttpBackend {
    /// A backend for `config`; reads the API key variable now.
    ///
    /// # Errors
    /// [`ModelError::MissingKey`] when `api_key_env` names an unset variable.
    pub fn new(config: EndpointConfig) -> Result<Self, ModelError> {
        let api_key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| ModelError::MissingKey(var.clone()))?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(config.timeout_s))
            .build()
            .map_err(|e| ModelError::Malformed(format!("http client: {e}")))?;
        Ok(Self {
            config,
            http,
            api_key,
        })
    }

    /// The endpoint's settings.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }
}

impl std::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("HttpBackend")
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Build the request body for `config` (see [`Structured`]).
pub fn request_body(config: &EndpointConfig, req: &ChatRequest) -> Value {
    let mut body = json!({
        "model": config.model,
        "messages": req.messages,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
    });
    match config.structured {
        Structured::JsonSchema => {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": req.schema_name, "schema": req.schema, "strict": true},
            });
        }
        Structured::JsonObject => {
            body["response_format"] = json!({"type": "json_object", "schema": req.schema});
        }
        Structured::Tool => {
            body["tools"] = json!([{
                "type": "function",
                "function": {"name": req.schema_name, "parameters": req.schema},
            }]);
            body["tool_choice"] =
                json!({"type": "function", "function": {"name": req.schema_name}});
        }
    }
    body
}

/// The reply text and usage of a chat completion body.
///
/// # Errors
/// [`ModelError::Malformed`] when it has no choice with content or tool-call arguments.
pub fn parse_completion(v: &Value) -> Result<(String, u64, u64), ModelError> {
    let msg = v
        .pointer("/choices/0/message")
        .ok_or_else(|| ModelError::Malformed("no choices[0].message".into()))?;
    let text = match msg.pointer("/tool_calls/0/function/arguments") {
        Some(Value::String(a)) => a.clone(),
        Some(other) => other.to_string(),
        None => match msg.get("content") {
            Some(Value::String(c)) => c.clone(),
            _ => {
                return Err(ModelError::Malformed(
                    "message has neither content nor tool call".into(),
                ))
            }
        },
    };
    let tokens = |k: &str| {
        v.pointer(&format!("/usage/{k}"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Ok((text, tokens("prompt_tokens"), tokens("completion_tokens")))
}

#[async_trait]
impl ChatBackend for HttpBackend {
    fn body(&self, req: &ChatRequest) -> Value {
        request_body(&self.config, req)
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatReply, ModelError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let body = self.body(req);
        let t0 = Instant::now();
        let mut attempts = 0;
        let mut backoff = Duration::from_secs_f64(self.config.backoff_s);
        loop {
            attempts += 1;
            let mut rb = self.http.post(&url).json(&body);
            if let Some(k) = &self.api_key {
                rb = rb.bearer_auth(k);
            }
            let (retryable, wait, why) = match rb.send().await {
                Err(e) => (true, backoff, format!("request failed: {e}")),
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        let v: Value = resp
                            .json()
                            .await
                            .map_err(|e| ModelError::Malformed(format!("body is not JSON: {e}")))?;
                        let (text, p, c) = parse_completion(&v)?;
                        return Ok(ChatReply {
                            text,
                            usage: ModelUsage {
                                calls: attempts,
                                prompt_tokens: p,
                                completion_tokens: c,
                                latency_s: t0.elapsed().as_secs_f64(),
                            },
                        });
                    }
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|h| h.to_str().ok())
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .map(|s| Duration::from_secs_f64(s.clamp(0.0, 60.0)));
                    let text = resp.text().await.unwrap_or_default();
                    let snippet: String = text.chars().take(300).collect();
                    if status.as_u16() == 429 || status.is_server_error() {
                        (
                            true,
                            retry_after.unwrap_or(backoff),
                            format!("HTTP {status}: {snippet}"),
                        )
                    } else {
                        return Err(ModelError::Rejected {
                            status: status.as_u16(),
                            body: snippet,
                        });
                    }
                }
            };
            if !retryable || attempts > self.config.max_retries {
                return Err(ModelError::Unavailable {
                    attempts,
                    last: why,
                });
            }
            tracing::warn!(attempt = attempts, wait_s = wait.as_secs_f64(), %why, "model call failed; retrying");
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}
