//! Client side of the simulator's episode service (`clea/<ns>/sim/episode/{start,end}`).
//!
//! A simulator resets its world on `start` and scores the episode on `end`; a real robot has no
//! such service, and an agent driving one simply skips these calls.

use crate::msg::{EpisodeEnd, EpisodeScore, EpisodeStart, StartRequest};
use crate::{decode, encode, Bus, BusError};
use std::time::Duration;

/// One request to a service under `key`, bounded by `timeout` as a whole. A server that is not
/// there yet (a simulator restarted between episodes is back within a second or so) is waited
/// for, within the same bound, by its declaration (zenoh's matching status), not by polling.
pub(crate) async fn query<T: serde::de::DeserializeOwned>(
    bus: &Bus,
    key: String,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<T, BusError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let querier = bus
        .session
        .declare_querier(key.clone())
        .timeout(timeout)
        .await
        .map_err(BusError::zenoh)?;
    let matching = || async {
        querier
            .matching_status()
            .await
            .map(|s| s.matching())
            .map_err(BusError::zenoh)
    };
    if !matching().await? {
        let listener = querier.matching_listener().await.map_err(BusError::zenoh)?;
        // Checked again now that the listener exists: a server that came in between is not
        // announced to it.
        while !matching().await? {
            match tokio::time::timeout_at(deadline, listener.recv_async()).await {
                Ok(Ok(status)) if status.matching() => break,
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => {
                    return Err(BusError::NoReply(format!(
                        "{key} (no server within {} s)",
                        timeout.as_secs_f64()
                    )))
                }
            }
        }
    }
    let replies = querier
        .get()
        .payload(payload)
        .await
        .map_err(BusError::zenoh)?;
    let reply = match tokio::time::timeout_at(deadline, replies.recv_async()).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(_)) | Err(_) => return Err(BusError::NoReply(key.clone())),
    };
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
