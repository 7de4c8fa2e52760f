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
    /// zenoh session mode: `peer` (default) or `client` (connects to a router and is routed by
    /// it; needs `connect`, cannot `listen`).
    #[serde(default)]
    pub mode: SessionMode,
}

/// The zenoh mode of a process's session.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    /// Talks to the peers it connects to or that connect to it; forwards nothing.
    #[default]
    Peer,
    /// Routed by the router it connects to (`clea router`): the mode of a fleet's processes.
    Client,
}

impl SessionMode {
    /// The name in launch files and zenoh's configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Peer => "peer",
            SessionMode::Client => "client",
        }
    }
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
            mode: SessionMode::Peer,
        }
    }
}

impl BusConfig {
    /// The zenoh configuration for these settings (the mode, multicast scouting as configured,
    /// explicit endpoints).
    ///
    /// # Errors
    /// [`BusError::Config`] when an endpoint is not a valid zenoh locator, or a client is given
    /// listen endpoints or no connect endpoint.
    pub fn to_zenoh(&self) -> Result<zenoh::Config, BusError> {
        if self.mode == SessionMode::Client {
            if !self.listen.is_empty() {
                return Err(BusError::Config(
                    "mode client: a client cannot listen (remove listen, or use mode peer)".into(),
                ));
            }
            if self.connect.is_empty() {
                return Err(BusError::Config(
                    "mode client: a client needs a router to connect to (connect: [tcp/HOST:7447])"
                        .into(),
                ));
            }
        }
        for ep in self.listen.iter().chain(&self.connect) {
            check_endpoint(ep).map_err(BusError::Config)?;
        }
        let mut c = zenoh::Config::default();
        let set = |c: &mut zenoh::Config, key: &str, value: String| {
            c.insert_json5(key, &value).map_err(|e| {
                BusError::Config(format!("{key} = {value}: {}", plain(&e.to_string())))
            })
        };
        set(&mut c, "mode", format!("\"{}\"", self.mode.as_str()))?;
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
        if self.mode != SessionMode::Client {
            return zenoh::open(config).await.map_err(BusError::zenoh);
        }
        // zenoh's open blocks its thread (it waits inside the future) until a router answers,
        // so a client opens on a thread of its own: the caller's runtime stays free to time out,
        // hear signals and run its other tasks meanwhile.
        let (tx, opened) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("zenoh-open".into())
            .spawn(move || {
                let _ = tx.send(zenoh::Wait::wait(zenoh::open(config)));
            })
            .map_err(|e| {
                BusError::Config(format!("cannot start the thread that opens zenoh: {e}"))
            })?;
        opened
            .await
            .map_err(|_| BusError::Config("the thread that opens zenoh ended".into()))?
            .map_err(BusError::zenoh)
    }
}

/// Check a zenoh endpoint `<protocol>/<address>[?metadata][#config]` beyond what zenoh's config
/// parser does (it accepts any protocol name and any port, then fails or waits at open): the
/// protocol is one zenoh knows, and an IP protocol's address ends in a port in 1..=65535.
///
/// # Errors
/// The reason, naming the endpoint.
pub fn check_endpoint(ep: &str) -> Result<(), String> {
    const IP: [&str; 5] = ["tcp", "udp", "tls", "quic", "ws"];
    const OTHER: [&str; 4] = ["unixsock-stream", "unixpipe", "serial", "vsock"];
    let (proto, rest) = ep
        .split_once('/')
        .ok_or_else(|| format!("{ep:?}: not <protocol>/<address>, e.g. tcp/127.0.0.1:7447"))?;
    let address = rest.split(['?', '#']).next().unwrap_or_default();
    if OTHER.contains(&proto) {
        return Ok(());
    }
    if !IP.contains(&proto) {
        return Err(format!(
            "{ep:?}: unknown protocol {proto:?} (one of {})",
            IP.iter()
                .chain(&OTHER)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let port = address
        .rsplit_once(':')
        .map(|(host, port)| (host, port.parse::<u16>()))
        .filter(|(host, _)| !host.is_empty());
    match port {
        Some((_, Ok(p))) if p > 0 => Ok(()),
        _ => Err(format!(
            "{ep:?}: the address must be HOST:PORT with a port in 1..=65535, e.g. tcp/127.0.0.1:7447"
        )),
    }
}

/// The zenoh configuration of a router: mode router, multicast scouting off, listening on
/// `listen` and connecting to the other routers in `connect`. Peers that connect to it hear each
/// other through it (zenoh's peer brokering), whatever their own endpoints.
///
/// # Errors
/// [`BusError::Config`] when an endpoint is not a valid zenoh locator, or `listen` is empty.
pub fn router_config(listen: &[String], connect: &[String]) -> Result<zenoh::Config, BusError> {
    if listen.is_empty() {
        return Err(BusError::Config(
            "a router needs at least one listen endpoint".into(),
        ));
    }
    let config = BusConfig {
        listen: listen.to_vec(),
        connect: connect.to_vec(),
        ..BusConfig::default()
    };
    let mut c = config.to_zenoh()?;
    c.insert_json5("mode", "\"router\"")
        .map_err(|e| BusError::Config(format!("mode = router: {}", plain(&e.to_string()))))?;
    // A router that cannot take its port must fail at once, not run deaf.
    c.insert_json5("listen/exit_on_failure", "true")
        .map_err(|e| BusError::Config(plain(&e.to_string())))?;
    Ok(c)
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

#[cfg(test)]
mod tests {
    use super::check_endpoint;

    #[test]
    fn endpoints_need_a_known_protocol_and_a_port() {
        for ok in [
            "tcp/127.0.0.1:7447",
            "tcp/[::1]:7447",
            "udp/robot.local:7447",
            "tcp/0.0.0.0:7447?iface=eth0",
            "unixsock-stream//tmp/zenoh.sock",
        ] {
            assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("tcpx/127.0.0.1:7447", "unknown protocol \"tcpx\""),
            ("tcp/127.0.0.1:99999", "port in 1..=65535"),
            ("tcp/127.0.0.1:0", "port in 1..=65535"),
            ("tcp/127.0.0.1", "HOST:PORT"),
            ("tcp/:7447", "HOST:PORT"),
            ("127.0.0.1:7447", "not <protocol>/<address>"),
        ] {
            let e = check_endpoint(bad).unwrap_err();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }
}
