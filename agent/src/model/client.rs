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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// `Retry-After`); at most 100.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First backoff, s (doubles per retry, at most 30 s).
    #[serde(default = "default_backoff")]
    pub backoff_s: f64,
    /// Longest `Retry-After` (429 or 503) worth waiting for, s. A server that asks for longer
    /// fails the call at once with both numbers in the reason; a shorter one is honoured exactly
    /// (never retried earlier than asked).
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after_s: f64,
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
fn default_max_retry_after() -> f64 {
    60.0
}

impl EndpointConfig {
    /// The longest one call can take with every attempt timing out: `timeout_s × (max_retries
    /// + 1)` plus, between attempts, the longer of the backoff and the longest `Retry-After`
    /// honoured (`max_retry_after_s`), s. A module's timeout should be above it.
    pub fn worst_case_s(&self) -> f64 {
        let mut backoff = self.backoff_s;
        let mut waits = 0.0;
        // The backoff doubles up to 30 s, so after a few retries every wait is the same.
        for i in 0..self.max_retries {
            if i >= 64 {
                waits += f64::from(self.max_retries - i) * backoff.max(self.max_retry_after_s);
                break;
            }
            waits += backoff.max(self.max_retry_after_s);
            backoff = (backoff * 2.0).min(30.0);
        }
        self.timeout_s * (f64::from(self.max_retries) + 1.0) + waits
    }
}

/// Why a chat call failed (after retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The endpoint could not be reached or kept failing (refused or closed connections,
    /// timeouts, 429, 5xx, a `200` that is not a chat completion) after the retries, or asked to
    /// be retried later than `max_retry_after_s`.
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
    /// The reply is not a chat completion (no choices, no content); retried like a `5xx` by
    /// [`HttpBackend`], so it reaches callers only from other backends.
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
    /// The choice's `finish_reason` when the endpoint gave one: `stop`, `tool_calls`, or
    /// `length` when the reply was cut at `max_tokens`.
    pub finish_reason: Option<String>,
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

/// A chat completion body read: the reply text, its finish reason and token counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Message content, or the forced tool call's arguments.
    pub text: String,
    /// `choices[0].finish_reason`, when present.
    pub finish_reason: Option<String>,
    /// `usage.prompt_tokens` (0 when absent).
    pub prompt_tokens: u64,
    /// `usage.completion_tokens` (0 when absent).
    pub completion_tokens: u64,
    /// Prompt tokens served from the server's prefix cache: `usage.prompt_tokens_details.
    /// cached_tokens` (OpenAI, vLLM, SGLang), else llama.cpp's `timings.cache_n`; 0 when absent.
    pub cached_prompt_tokens: u64,
}

/// Read a chat completion body (OpenAI's `chat.completion` object).
///
/// # Errors
/// [`ModelError::Malformed`] when it has no choice with content or tool-call arguments.
pub fn parse_completion(v: &Value) -> Result<Completion, ModelError> {
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
    Ok(Completion {
        text,
        finish_reason: v
            .pointer("/choices/0/finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        prompt_tokens: tokens("prompt_tokens"),
        completion_tokens: tokens("completion_tokens"),
        cached_prompt_tokens: v
            .pointer("/usage/prompt_tokens_details/cached_tokens")
            .or_else(|| v.pointer("/timings/cache_n"))
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

/// `Retry-After` as a wait in seconds: delay-seconds, or an HTTP date (RFC 9110 §10.2.3);
/// `None` when absent or unreadable. Whatever number a server sends stays a finite `f64` here
/// (never a panic): the caller compares it with its cap before it becomes a `Duration`.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<f64> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(s) = text.parse::<f64>() {
        return (s.is_finite() && s >= 0.0).then_some(s);
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .as_secs_f64(),
    )
}

/// Most bytes of a reply body read; a server that sends more is cut off (a failed attempt).
const MAX_BODY_BYTES: usize = 16 << 20;

/// The body of `resp`, at most [`MAX_BODY_BYTES`].
async fn read_body(mut resp: reqwest::Response, timeout_s: f64) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_BODY_BYTES {
                    return Err(format!(
                        "the body is longer than {} MiB: cut off",
                        MAX_BODY_BYTES >> 20
                    ));
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(format!(
                    "the body was not received: {}",
                    send_failure(&e, timeout_s)
                ))
            }
        }
    }
}

/// Why a request got no response, in words a user can act on: the connection was refused,
/// timed out after the endpoint's `timeout_s`, or was closed by the server.
fn send_failure(e: &reqwest::Error, timeout_s: f64) -> String {
    use std::error::Error as _;
    if e.is_timeout() {
        return format!("no reply: timed out after {timeout_s} s (timeout_s)");
    }
    let mut source = e.source();
    let mut innermost = e.to_string();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "connection refused (is the server running?)".into()
                }
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof => {
                    return format!("connection closed by the server ({io})")
                }
                std::io::ErrorKind::TimedOut => {
                    return format!("connection timed out ({io})");
                }
                _ => {}
            }
        }
        innermost = s.to_string();
        source = s.source();
    }
    // hyper says this when the server closes the connection without a response.
    if innermost.contains("closed before message completed")
        || innermost.contains("connection closed")
    {
        return format!("connection closed by the server before it replied ({innermost})");
    }
    if e.is_connect() {
        return format!("could not connect: {innermost}");
    }
    format!("request failed: {innermost}")
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
        let cap = self.config.max_retry_after_s;
        loop {
            attempts += 1;
            let mut rb = self.http.post(&url).json(&body);
            if let Some(k) = &self.api_key {
                rb = rb.bearer_auth(k);
            }
            // Every failure below is worth a retry but a client error (4xx other than 429) and
            // a Retry-After above the cap; `wait` is the least time before the next attempt.
            let (wait, why) = match rb.send().await {
                Err(e) => (backoff, send_failure(&e, self.config.timeout_s)),
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        let read = match read_body(resp, self.config.timeout_s).await {
                            Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                                .map_err(|e| {
                                    let start = String::from_utf8_lossy(&bytes)
                                        .chars()
                                        .take(120)
                                        .collect::<String>();
                                    format!(
                                        "HTTP {status} but the body is not JSON ({e}): {start:?}"
                                    )
                                })
                                .and_then(|v| {
                                    parse_completion(&v).map_err(|e| {
                                        format!("HTTP {status} but not a chat completion: {e}")
                                    })
                                }),
                            Err(why) => Err(format!("HTTP {status} but {why}")),
                        };
                        match read {
                            Ok(c) => {
                                return Ok(ChatReply {
                                    text: c.text,
                                    usage: ModelUsage {
                                        calls: attempts,
                                        prompt_tokens: c.prompt_tokens,
                                        completion_tokens: c.completion_tokens,
                                        cached_prompt_tokens: c.cached_prompt_tokens,
                                        latency_s: t0.elapsed().as_secs_f64(),
                                    },
                                    finish_reason: c.finish_reason,
                                })
                            }
                            Err(why) => (backoff, why),
                        }
                    } else {
                        let asked = retry_after(resp.headers());
                        let text = resp.text().await.unwrap_or_default();
                        let snippet: String = text.chars().take(300).collect();
                        if !(status.as_u16() == 429 || status.is_server_error()) {
                            return Err(ModelError::Rejected {
                                status: status.as_u16(),
                                body: snippet,
                            });
                        }
                        let why = format!("HTTP {status}: {snippet}");
                        match asked {
                            Some(a) if a > cap => {
                                return Err(ModelError::Unavailable {
                                    attempts,
                                    last: format!(
                                        "{why} (the server asks to retry after {a:.0} s, more than max_retry_after_s = {cap} s: not waiting)"
                                    ),
                                })
                            }
                            // At most the cap (at most 1e6 s, checked at load): a valid Duration.
                            Some(a) => (
                                Duration::from_secs_f64(a),
                                format!("{why} (Retry-After: {a:.0} s)"),
                            ),
                            None => (backoff, why),
                        }
                    }
                }
            };
            if attempts > self.config.max_retries {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_prompt_tokens_are_read_from_openai_usage_or_llama_cpp_timings() {
        let reply = |extra: Value| {
            let mut v = json!({
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "{}"}}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 20},
            });
            for (k, x) in extra.as_object().unwrap() {
                if k == "usage" {
                    v["usage"]["prompt_tokens_details"] = x["prompt_tokens_details"].clone();
                } else {
                    v[k] = x.clone();
                }
            }
            parse_completion(&v).unwrap().cached_prompt_tokens
        };
        assert_eq!(reply(json!({})), 0);
        let openai = json!({"usage": {"prompt_tokens_details": {"cached_tokens": 768}}});
        assert_eq!(reply(openai), 768);
        let llama = json!({"timings": {"cache_n": 900, "prompt_n": 100}});
        assert_eq!(reply(llama), 900);
    }
}
