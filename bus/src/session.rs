//! zenoh session setup.
//!
//! The embedded default is an in-process peer with scouting off and no listeners: every actor of
//! one process shares that session and nothing touches the network. To split actors across
//! processes or machines, give `listen` and/or `connect` endpoints (e.g. `tcp/127.0.0.1:7447`).

use crate::BusError;
use serde::{Deserialize, Serialize};

/// Bus settings, as they appear in launch files (`bus:` section).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// Namespace: all keys live under `clea/<namespace>/`.
    #[serde(default = "default_ns")]
    pub namespace: String,
    /// zenoh endpoints to listen on, e.g. `tcp/127.0.0.1:7447`.
    #[serde(default)]
    pub listen: Vec<String>,
    /// zenoh endpoints to connect to.
    #[serde(default)]
    pub connect: Vec<String>,
    /// Multicast scouting (off by default: deterministic tests, no stray peers).
    #[serde(default)]
    pub multicast_scouting: bool,
}

/// Default namespace of the runtime.
pub const DEFAULT_NAMESPACE: &str = "clea";

fn default_ns() -> String {
    DEFAULT_NAMESPACE.to_string()
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            namespace: default_ns(),
            listen: Vec::new(),
            connect: Vec::new(),
            multicast_scouting: false,
        }
    }
}

impl BusConfig {
    /// The zenoh configuration for these settings (mode peer, gossip and multicast scouting as
    /// configured, explicit endpoints).
    ///
    /// # Errors
    /// [`BusError::Config`] when an endpoint is not a valid zenoh locator.
    pub fn to_zenoh(&self) -> Result<zenoh::Config, BusError> {
        let mut c = zenoh::Config::default();
        let set = |c: &mut zenoh::Config, key: &str, value: String| {
            c.insert_json5(key, &value).map_err(|e| {
                BusError::Config(format!("{key} = {value}: {}", plain(&e.to_string())))
            })
        };
        set(&mut c, "mode", "\"peer\"".into())?;
        set(
            &mut c,
            "scouting/multicast/enabled",
            self.multicast_scouting.to_string(),
        )?;
        set(
            &mut c,
            "listen/endpoints",
            serde_json::to_string(&self.listen).expect("strings serialize"),
        )?;
        set(
            &mut c,
            "connect/endpoints",
            serde_json::to_string(&self.connect).expect("strings serialize"),
        )?;
        // A peer that connects to a process which is not up yet keeps retrying instead of
        // failing at once: `clea run` and `clea sim --serve` may start in any order.
        if !self.connect.is_empty() {
            set(&mut c, "connect/timeout_ms", "-1".into())?;
            set(&mut c, "connect/exit_on_failure", "false".into())?;
        }
        Ok(c)
    }

    /// Open a zenoh session with these settings.
    ///
    /// # Errors
    /// [`BusError::Config`] for bad endpoints, [`BusError::Zenoh`] when zenoh cannot open
    /// (e.g. the listen port is taken).
    pub async fn open(&self) -> Result<zenoh::Session, BusError> {
        crate::keys::check_chunk(&self.namespace)?;
        let config = self.to_zenoh()?;
        zenoh::open(config).await.map_err(BusError::zenoh)
    }
}

/// A zenoh configuration error without zenoh's internals (source paths, debug wrappers): the
/// first sentence a user can act on.
fn plain(msg: &str) -> String {
    let msg = msg.split(" at /").next().unwrap_or(msg);
    let msg = match msg.find("msg: \"") {
        Some(i) => &msg[i + 6..],
        None => msg,
    };
    msg.trim_end_matches(['"', ' ', '}', ')'])
        .trim()
        .to_string()
}
