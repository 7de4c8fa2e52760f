//! Model-backed agent tests: a real local OpenAI-compatible server (llama.cpp's Python server
//! with the Qwen2.5-0.5B GGUF that `scripts/setup-llm.sh` provisions), launch files derived from
//! `launch/files/llm-kitchen.yaml`, episode logs read back as model calls and actions, and the
//! check that environment text reaches a model only as quoted data.
//!
//! [`LlmServer`] starts the server on a free port of 127.0.0.1 and waits (bounded) for
//! `GET /v1/models`; it is killed and reaped when dropped (and, on Linux, dies with the test
//! thread that started it). Without the interpreter or the model the tests fail with a message
//! that says how to get them: they never skip.

use crate::e2e::Proc;
use crate::{free_port, workspace_root};
use clea_bus::msg::{ActionRecord, ModelCall, Transition};
use clea_bus::record::EpisodeLog;
use serde::de::DeserializeOwned;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Model name the server serves (`--model_alias`), as the launch file names it.
pub const MODEL_ALIAS: &str = "qwen05";

/// The Python interpreter with `llama_cpp.server`: `$CLEA_PYTHON` if set, else
/// `<workspace>/.venv/bin/python`.
///
/// # Panics
/// When it does not exist or cannot import `llama_cpp.server` (with how to provision it).
pub fn llm_python() -> PathBuf {
    let py = match std::env::var_os("CLEA_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join(".venv/bin/python"),
    };
    assert!(
        py.is_file(),
        "no Python for the model server: {} does not exist (CLEA_PYTHON unset or wrong); run \
         scripts/setup.sh then scripts/setup-llm.sh",
        py.display()
    );
    let out = Command::new(&py)
        .args(["-c", "import llama_cpp.server"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.display()));
    assert!(
        out.status.success(),
        "{} cannot import llama_cpp.server; run scripts/setup-llm.sh (installs \
         llama-cpp-python[server] into .venv):\n{}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    py
}

/// The GGUF model: `$CLEA_LLM_MODEL` if set, else
/// `<workspace>/.cache/models/qwen2.5-0.5b.gguf`.
///
/// # Panics
/// When the file does not exist (with how to provision it).
pub fn llm_model() -> PathBuf {
    let model = match std::env::var_os("CLEA_LLM_MODEL") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join(".cache/models/qwen2.5-0.5b.gguf"),
    };
    assert!(
        model.is_file(),
        "the model file {} does not exist (CLEA_LLM_MODEL unset or wrong); run \
         scripts/setup-llm.sh (fetches Qwen2.5-0.5B GGUF, pinned by sha256)",
        model.display()
    );
    model
}

/// `GET path` on 127.0.0.1:`port` with short timeouts; the status code, or `None` when nothing
/// answers.
pub fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// A running llama.cpp server; killed and reaped when dropped.
pub struct LlmServer {
    proc: Option<Proc>,
    /// The port it listens on.
    pub port: u16,
    /// How long it took to become ready.
    pub startup: Duration,
}

impl LlmServer {
    /// Start the server on a free port and wait up to `limit` for `GET /v1/models` to answer 200.
    /// Retries on another port when the process exits first (the port was taken meanwhile).
    ///
    /// # Panics
    /// Without the interpreter or model (see [`llm_python`], [`llm_model`]), or when it never
    /// becomes ready (with what it printed).
    pub fn start(limit: Duration) -> LlmServer {
        let py = llm_python();
        let model = llm_model();
        let threads = std::env::var("CLEA_LLM_THREADS").unwrap_or_else(|_| "2".into());
        let t0 = Instant::now();
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let mut cmd = Command::new(&py);
            cmd.args(["-m", "llama_cpp.server", "--model"])
                .arg(&model)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--n_ctx", "4096", "--n_threads", &threads])
                .args(["--model_alias", MODEL_ALIAS])
                .current_dir(workspace_root());
            let mut proc = Proc::spawn(&format!("llama_cpp.server on port {port}"), cmd);
            loop {
                if http_get_status(port, "/v1/models") == Some(200) {
                    return LlmServer {
                        proc: Some(proc),
                        port,
                        startup: t0.elapsed(),
                    };
                }
                if let Some(status) = proc.try_status() {
                    last = format!(
                        "port {port}: exited with {status} before it was ready\n{}",
                        proc.stderr_so_far()
                    );
                    break;
                }
                if t0.elapsed() > limit {
                    let err = proc.stderr_so_far();
                    proc.kill();
                    panic!("the model server was not ready after {limit:?}:\n{err}");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        panic!("the model server never became ready: {last}");
    }

    /// Its base URL, up to and including `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Kill it now and wait until its port refuses connections (at most `limit`).
    ///
    /// # Panics
    /// When the port still accepts connections after `limit`.
    pub fn stop(&mut self, limit: Duration) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
        let end = Instant::now() + limit;
        while port_open(self.port) {
            assert!(
                Instant::now() < end,
                "port {} still open after the server was killed",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }
}

/// Write a copy of `launch/files/llm-kitchen.yaml` into `dir` with its `local` endpoint at
/// `base_url` and each `(section.key, YAML value)` of `overrides` set (e.g.
/// `("agent.max_model_calls", "12")`, `("models.endpoints.local.max_tokens", "192")`).
///
/// # Panics
/// On I/O or YAML errors, or an override path that does not exist in the file.
pub fn llm_launch_file(dir: &Path, base_url: &str, overrides: &[(&str, &str)]) -> PathBuf {
    let src = workspace_root().join("launch/files/llm-kitchen.yaml");
    let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let url = format!("\"{base_url}\"");
    for (path, value) in
        std::iter::once(&("models.endpoints.local.base_url", url.as_str())).chain(overrides)
    {
        let mut node = &mut doc;
        let keys: Vec<&str> = path.split('.').collect();
        for k in &keys[..keys.len() - 1] {
            node = node
                .get_mut(*k)
                .unwrap_or_else(|| panic!("{}: no {path}", src.display()));
        }
        let map = node
            .as_mapping_mut()
            .unwrap_or_else(|| panic!("{}: {path} is not in a mapping", src.display()));
        let last = keys[keys.len() - 1];
        assert!(
            map.contains_key(last),
            "{}: no {path} to override",
            src.display()
        );
        let v: serde_yaml::Value =
            serde_yaml::from_str(value).unwrap_or_else(|e| panic!("override {path}: {e}"));
        map.insert(last.into(), v);
    }
    let path = dir.join("llm-kitchen.yaml");
    std::fs::write(&path, serde_yaml::to_string(&doc).expect("YAML serializes"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// Every message of `log` on a topic ending in `/suffix`, decoded.
///
/// # Panics
/// When one does not decode as `T`.
pub fn messages_on<T: DeserializeOwned>(log: &EpisodeLog, suffix: &str) -> Vec<T> {
    let suffix = format!("/{suffix}");
    log.messages
        .iter()
        .filter(|m| m.topic.ends_with(&suffix))
        .map(|m| {
            serde_json::from_slice(&m.data).unwrap_or_else(|e| {
                panic!("{}: not a {}: {e}", m.topic, std::any::type_name::<T>())
            })
        })
        .collect()
}

/// The model calls of an episode log (`clea/<ns>/model/call`).
pub fn model_calls(log: &EpisodeLog) -> Vec<ModelCall> {
    messages_on(log, "model/call")
}

/// The executed actions of an episode log (`clea/<ns>/action`).
pub fn actions(log: &EpisodeLog) -> Vec<ActionRecord> {
    messages_on(log, "action")
}

/// The controller's transitions of an episode log.
pub fn transitions(log: &EpisodeLog) -> Vec<Transition> {
    messages_on(log, "episode/transition")
}

/// `text` with every JSON string literal replaced by `<literal>` (a literal: a `"` that starts
/// a valid JSON string, escaped quotes and newlines inside it).
pub fn outside_literals(text: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with('"') {
            let mut it = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            if let Some(Ok(_)) = it.next() {
                i += it.byte_offset();
                out.push_str("<literal>");
                continue;
            }
        }
        let c = rest.chars().next().expect("not at the end");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The text of every message of a chat request body, in order.
pub fn prompt_texts(body: &serde_json::Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m["content"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The endpoints of a `ModelsConfig` for a local test server at `server_uri` (wiremock's
/// `MockServer::uri()`): one endpoint named `mock` serving `model`, JSON-schema replies, 5 s per
/// attempt, `max_retries` retries 50 ms apart.
pub fn mock_endpoints(
    server_uri: &str,
    model: &str,
    max_retries: u32,
) -> std::collections::BTreeMap<String, clea_agent::model::client::EndpointConfig> {
    let endpoint = clea_agent::model::client::EndpointConfig {
        base_url: format!("{server_uri}/v1"),
        model: model.into(),
        api_key_env: None,
        temperature: 0.0,
        max_tokens: 256,
        timeout_s: 5.0,
        max_retries,
        backoff_s: 0.05,
        max_retry_after_s: 60.0,
        structured: clea_agent::model::client::Structured::JsonSchema,
    };
    [("mock".to_string(), endpoint)].into_iter().collect()
}
