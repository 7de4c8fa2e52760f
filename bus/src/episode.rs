//! Client side of the simulator's episode service (`clea/<ns>/sim/episode/{start,end}`).
//!
//! A simulator resets its world on `start` and scores the episode on `end`; a real robot has no
//! such service, and an agent driving one simply skips these calls.

use crate::msg::{EpisodeEnd, EpisodeScore, EpisodeStart, StartRequest};
use crate::{decode, encode, Bus, BusError};
use std::time::Duration;

async fn query<T: serde::de::DeserializeOwned>(
    bus: &Bus,
    key: String,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<T, BusError> {
    let replies = bus
        .session
        .get(key.clone())
        .payload(payload)
        .timeout(timeout)
        .await
        .map_err(BusError::zenoh)?;
    let reply = replies
        .recv_async()
        .await
        .map_err(|_| BusError::NoReply(key.clone()))?;
    match reply.result() {
        Ok(sample) => decode(&key, &sample.payload().to_bytes()),
        Err(e) => Err(BusError::Zenoh(format!(
            "{key}: {}",
            String::from_utf8_lossy(&e.payload().to_bytes())
        ))),
    }
}

/// Ask the simulator to reset the world with `seed` (or its default); returns the task and the
/// initial observations.
///
/// # Errors
/// [`BusError::NoReply`] when no simulator answers within `timeout`.
pub async fn start(
    bus: &Bus,
    seed: Option<u64>,
    timeout: Duration,
) -> Result<EpisodeStart, BusError> {
    query(
        bus,
        bus.keys.sim_start(),
        encode(&StartRequest { seed }),
        timeout,
    )
    .await
}

/// Report the end of the episode; returns the simulator's score.
///
/// # Errors
/// [`BusError::NoReply`] when no simulator answers within `timeout`.
pub async fn end(bus: &Bus, end: &EpisodeEnd, timeout: Duration) -> Result<EpisodeScore, BusError> {
    query(bus, bus.keys.sim_end(), encode(end), timeout).await
}
