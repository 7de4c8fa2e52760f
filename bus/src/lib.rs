//! # clea-bus: the messages and transport every CLEA actor shares
//!
//! - [`msg`]: plain-data message types (serde + JSON Schema): observation, belief, plan, verdict,
//!   skill goal/feedback/result/cancel, episode events, e-stop.
//! - [`keys`]: the one place that builds key expressions under `clea/<ns>/`.
//! - [`session`]: zenoh session setup; the default is an in-process peer with no network.
//! - [`action`]: the skill action protocol, modeled on ROS 2 actions (goal accepted or rejected,
//!   feedback, result, cancel) with liveliness tokens so a vanished server is a failure, not a hang.
//! - [`record`]: the episode recorder (MCAP) and log reader/replayer; [`ros2msg`]: the ROS 2
//!   CDR form of the sensor messages it logs for rosbag2 tools.
//! - [`task`]: the task service and fact perception of a simulator of a domain written as data.
//! - [`Bus`]: a session plus its keys, with typed JSON publish/subscribe.
//!
//! Design choice: messages are JSON on the wire. They are small (a plan is < 1 KiB), JSON keeps
//! the episode log readable by any tool, and the JSON Schema of each type is the contract for
//! model-backed modules as well.
#![deny(missing_docs)]

pub mod action;
pub mod episode;
pub mod keys;
pub mod msg;
pub mod record;
pub mod ros2msg;
pub mod session;
pub mod task;

pub use keys::{Keys, SkillPart};
pub use session::BusConfig;

use serde::{de::DeserializeOwned, Serialize};

/// Errors of the bus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// A name used in a key expression has characters outside `[A-Za-z0-9_-]`.
    #[error("invalid name {0:?} for a key expression (allowed: letters, digits, '_' and '-')")]
    InvalidName(String),
    /// The bus configuration is invalid.
    #[error("invalid bus configuration: {0}")]
    Config(String),
    /// zenoh reported an error.
    #[error("zenoh: {0}")]
    Zenoh(String),
    /// A payload did not decode as the expected message type.
    #[error("cannot decode {ty} from {key}: {reason}")]
    Decode {
        /// Expected type.
        ty: &'static str,
        /// Key expression of the sample.
        key: String,
        /// Why.
        reason: String,
    },
    /// No reply arrived in time.
    #[error("no reply on {0} (nothing answered, or not in time)")]
    NoReply(String),
}

impl BusError {
    /// Wrap a zenoh error.
    pub fn zenoh(e: impl std::fmt::Display) -> Self {
        BusError::Zenoh(e.to_string())
    }
}

/// Encode a message as JSON bytes.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    serde_json::to_vec(msg).expect("bus messages serialize to JSON")
}

/// Decode a message from JSON bytes received on `key`.
///
/// # Errors
/// [`BusError::Decode`] naming the type, key and serde's reason.
pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, BusError> {
    serde_json::from_slice(bytes).map_err(|e| BusError::Decode {
        ty: std::any::type_name::<T>(),
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// A zenoh session and the keys of one namespace: what every actor holds.
#[derive(Clone)]
pub struct Bus {
    /// The zenoh session (cheap to clone, shared by the actors of one process).
    pub session: zenoh::Session,
    /// Keys of the namespace.
    pub keys: Keys,
}

impl Bus {
    /// Open a session from `config`.
    ///
    /// # Errors
    /// See [`BusConfig::open`].
    pub async fn open(config: &BusConfig) -> Result<Self, BusError> {
        let keys = Keys::new(&config.namespace)?;
        let session = config.open().await?;
        Ok(Self { session, keys })
    }

    /// Publish `msg` as JSON on `key`.
    ///
    /// # Errors
    /// [`BusError::Zenoh`] when the put fails (session closed).
    pub async fn publish<T: Serialize>(&self, key: &str, msg: &T) -> Result<(), BusError> {
        self.session
            .put(key, encode(msg))
            .await
            .map_err(BusError::zenoh)
    }

    /// Subscribe to `key` and receive decoded messages; undecodable samples are logged and skipped.
    ///
    /// # Errors
    /// [`BusError::Zenoh`] when the subscriber cannot be declared.
    pub async fn subscribe<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &str,
    ) -> Result<Subscription<T>, BusError> {
        let sub = self
            .session
            .declare_subscriber(key.to_string())
            .await
            .map_err(BusError::zenoh)?;
        Ok(Subscription {
            sub,
            _t: std::marker::PhantomData,
        })
    }
}

/// A typed subscription (see [`Bus::subscribe`]).
pub struct Subscription<T> {
    sub: zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Subscription<T> {
    /// A message already received, without waiting; `None` when there is none.
    pub fn try_recv(&self) -> Option<(String, T)> {
        while let Ok(Some(sample)) = self.sub.try_recv() {
            let key = sample.key_expr().as_str().to_string();
            match decode::<T>(&key, &sample.payload().to_bytes()) {
                Ok(m) => return Some((key, m)),
                Err(e) => tracing::warn!(error = %e, "dropping undecodable sample"),
            }
        }
        None
    }

    /// Next message with the key it arrived on; `None` when the session closed.
    pub async fn recv(&self) -> Option<(String, T)> {
        loop {
            let sample = self.sub.recv_async().await.ok()?;
            let key = sample.key_expr().as_str().to_string();
            match decode::<T>(&key, &sample.payload().to_bytes()) {
                Ok(m) => return Some((key, m)),
                Err(e) => tracing::warn!(error = %e, "dropping undecodable sample"),
            }
        }
    }
}
