//! The cassette backend: serves model replies recorded in an episode log.
//!
//! A request is matched on its messages (which carry everything the module saw); identical
//! requests get their recorded replies in recording order. An episode re-run against the same
//! simulator seed with a cassette therefore makes the same decisions, without any endpoint. A
//! request the log did not record is an error ([`ModelError::NotRecorded`]), never a guess.

use super::client::{
    request_body, ChatBackend, ChatReply, ChatRequest, EndpointConfig, ModelError,
};
use async_trait::async_trait;
use clea_bus::msg::ModelCall;
use clea_bus::record::{read_log, RecordError};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

/// Replies recorded in an episode log.
pub struct CassetteBackend {
    config: EndpointConfig,
    replies: Mutex<HashMap<String, VecDeque<ModelCall>>>,
}

fn key(body: &Value) -> String {
    serde_json::to_string(&body["messages"]).expect("JSON serializes")
}

impl CassetteBackend {
    /// Load every answered model call of the log at `path`; `config` shapes request bodies as the
    /// recording endpoint did.
    ///
    /// # Errors
    /// [`RecordError`] when the log cannot be read.
    pub fn from_log(path: &Path, config: EndpointConfig) -> Result<Self, RecordError> {
        let log = read_log(path)?;
        let calls = log
            .messages
            .iter()
            .filter(|m| m.topic.ends_with("/model/call"))
            .filter_map(|m| serde_json::from_slice::<ModelCall>(&m.data).ok());
        Ok(Self::from_calls(calls, config))
    }

    /// A cassette of `calls` (those without a reply are skipped).
    pub fn from_calls(calls: impl IntoIterator<Item = ModelCall>, config: EndpointConfig) -> Self {
        let mut replies: HashMap<String, VecDeque<ModelCall>> = HashMap::new();
        for c in calls
            .into_iter()
            .filter(|c| !matches!(c.outcome, clea_bus::msg::ModelOutcome::Error(_)))
        {
            replies.entry(key(&c.request)).or_default().push_back(c);
        }
        Self {
            config,
            replies: Mutex::new(replies),
        }
    }

    /// Recorded replies not served yet.
    pub fn remaining(&self) -> usize {
        self.replies
            .lock()
            .map_or(0, |r| r.values().map(VecDeque::len).sum())
    }
}

#[async_trait]
impl ChatBackend for CassetteBackend {
    fn body(&self, req: &ChatRequest) -> Value {
        request_body(&self.config, req)
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatReply, ModelError> {
        let k = key(&self.body(req));
        let mut replies = self.replies.lock().map_err(|_| ModelError::NotRecorded)?;
        let call = replies
            .get_mut(&k)
            .and_then(VecDeque::pop_front)
            .ok_or(ModelError::NotRecorded)?;
        Ok(ChatReply {
            text: call.reply,
            usage: call.usage,
            finish_reason: call.finish_reason,
        })
    }
}
