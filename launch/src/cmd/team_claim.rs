//! One simulator per robot team: each `clea sim --serve` claims its teams' namespaces with a
//! liveliness token `clea/<team>/simulator/<start>-<zid>` and watches for other claims there. Of
//! two claims on one team the later one (by start time, then session id) yields, so two
//! processes started at the same moment cannot both keep answering the same goals.

use crate::error::CliError;
use clea_bus::Bus;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use zenoh::liveliness::LivelinessToken;
use zenoh::pubsub::Subscriber;
use zenoh::sample::SampleKind;

/// A claim of one team (its token and its watch); released on drop.
pub struct TeamClaim {
    _token: LivelinessToken,
    _watch: Subscriber<()>,
}

/// Another process claims a team this one holds, and this one must yield.
#[derive(Debug)]
pub struct Conflict {
    /// The team (namespace).
    pub team: String,
    /// The other claim's `<start>-<zid>`.
    pub other: String,
}

/// Which of two claims `<start>-<zid>` yields: the later start, then the larger id.
fn yields(own: &str, other: &str) -> bool {
    let key = |c: &str| {
        let (start, zid) = c.split_once('-').unwrap_or((c, ""));
        (start.parse::<u128>().unwrap_or(u128::MAX), zid.to_string())
    };
    key(own) > key(other)
}

impl TeamClaim {
    /// Claim `bus`'s namespace; a conflict this claim must yield to is sent on `conflicts`
    /// (also one that existed before: the watch reads the tokens already there).
    ///
    /// # Errors
    /// [`CliError::Runtime`] when zenoh cannot declare the token or the watch.
    pub async fn take(
        bus: &Bus,
        conflicts: mpsc::UnboundedSender<Conflict>,
    ) -> Result<Self, CliError> {
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let own = format!("{start}-{}", bus.session.zid());
        let ns = bus.keys.namespace().to_string();
        let zenoh_err = |e: zenoh::Error| CliError::Runtime(anyhow::anyhow!("team claim: {e}"));
        let token = bus
            .session
            .liveliness()
            .declare_token(format!("clea/{ns}/simulator/{own}"))
            .await
            .map_err(zenoh_err)?;
        let watch = bus
            .session
            .liveliness()
            .declare_subscriber(format!("clea/{ns}/simulator/*"))
            .history(true)
            .callback(move |s| {
                let Some(other) = s.key_expr().as_str().rsplit('/').next() else {
                    return;
                };
                if s.kind() == SampleKind::Put && other != own && yields(&own, other) {
                    let _ = conflicts.send(Conflict {
                        team: ns.clone(),
                        other: other.to_string(),
                    });
                }
            })
            .await
            .map_err(zenoh_err)?;
        Ok(Self {
            _token: token,
            _watch: watch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::yields;

    #[test]
    fn the_later_claim_yields_and_exactly_one_of_two() {
        assert!(yields("200-aa", "100-bb"));
        assert!(!yields("100-bb", "200-aa"));
        // Same start: the larger session id yields.
        assert!(yields("100-bb", "100-aa"));
        assert!(!yields("100-aa", "100-bb"));
    }
}
