//! Silence detection for a subscription the actor depends on: a camera whose frames stop (or
//! never start) is reported, instead of perception quietly producing nothing.
//!
//! The usual cause is the topology, not the camera: zenoh peers that only *connect* to the same
//! third peer do not hear each other, so a camera adapter and a perception process both started
//! with `connect: [tcp/...:7447]` against a peer (not a router) exchange nothing, and nothing
//! fails. Pure logic over [`Instant`]s, so it is tested without a bus or a clock.

use std::time::{Duration, Instant};

/// What changed at a call to [`SilenceWatch::on_sample`] or [`SilenceWatch::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// No sample for longer than the limit: the time since the last one (or since the start).
    WentSilent(Duration),
    /// Samples arrive again after a silence that lasted this long.
    Resumed(Duration),
}

/// Tracks the age of the newest sample of one subscription against a limit.
#[derive(Debug, Clone)]
pub struct SilenceWatch {
    limit: Option<Duration>,
    last: Instant,
    silent: bool,
}

impl SilenceWatch {
    /// A watch started at `now`; `limit` `None` never reports.
    pub fn new(limit: Option<Duration>, now: Instant) -> Self {
        Self {
            limit,
            last: now,
            silent: false,
        }
    }

    /// A sample arrived at `now`.
    pub fn on_sample(&mut self, now: Instant) -> Option<Change> {
        let gap = now.saturating_duration_since(self.last);
        self.last = now;
        std::mem::take(&mut self.silent).then_some(Change::Resumed(gap))
    }

    /// Whether the subscription went silent by `now` (reported once per silence).
    pub fn check(&mut self, now: Instant) -> Option<Change> {
        let limit = self.limit?;
        let age = now.saturating_duration_since(self.last);
        if self.silent || age < limit {
            return None;
        }
        self.silent = true;
        Some(Change::WentSilent(age))
    }

    /// When [`check`](Self::check) can next report (`None`: never, or silent already).
    pub fn deadline(&self) -> Option<Instant> {
        match (self.limit, self.silent) {
            (Some(l), false) => Some(self.last + l),
            _ => None,
        }
    }

    /// Whether the subscription is silent now.
    pub fn is_silent(&self) -> bool {
        self.silent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn reports_a_silence_once_and_its_end() {
        let t0 = Instant::now();
        let mut w = SilenceWatch::new(Some(10 * S), t0);
        assert_eq!(w.deadline(), Some(t0 + 10 * S));
        assert_eq!(w.check(t0 + 9 * S), None);
        assert_eq!(w.check(t0 + 10 * S), Some(Change::WentSilent(10 * S)));
        assert!(w.is_silent());
        assert_eq!(w.deadline(), None, "reported once");
        assert_eq!(w.check(t0 + 30 * S), None);
        assert_eq!(w.on_sample(t0 + 31 * S), Some(Change::Resumed(31 * S)));
        assert!(!w.is_silent());
        assert_eq!(w.on_sample(t0 + 32 * S), None);
        assert_eq!(w.check(t0 + 41 * S), None);
        assert_eq!(w.check(t0 + 42 * S), Some(Change::WentSilent(10 * S)));
    }

    #[test]
    fn samples_keep_it_quiet_and_no_limit_never_reports() {
        let t0 = Instant::now();
        let mut w = SilenceWatch::new(Some(2 * S), t0);
        for i in 1..20 {
            assert_eq!(w.on_sample(t0 + i * S), None);
            assert_eq!(w.check(t0 + i * S + S), None);
        }
        let mut never = SilenceWatch::new(None, t0);
        assert_eq!(never.deadline(), None);
        assert_eq!(never.check(t0 + 1000 * S), None);
    }
}
