//! A circuit breaker per provider. A provider that keeps failing or timing out is skipped
//! for a while instead of costing every feed request the full timeout; then a single
//! request probes it, and one success closes the circuit again.
//!
//! Hand-written rather than taken from a crate: the state is three fields under one lock, and what the
//! feed needs (skip without waiting, one probe at a time, a metric label) is exactly this.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    /// When the current probe started. A probe whose request was dropped (the client went
    /// away) never records; after `open_for` another caller may probe instead.
    probe_since: Option<Instant>,
}

/// What a caller may do now.
#[derive(Debug, PartialEq, Eq)]
pub enum Permit {
    /// Closed: call.
    Call,
    /// Half-open: this caller is the one probe.
    Probe,
    /// Open: do not call.
    Skip,
}

impl Breaker {
    /// `threshold` consecutive failures open the circuit for `open_for`; 0 disables it.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker { threshold, open_for, state: Mutex::new(State::default()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn permit(&self, now: Instant) -> Permit {
        if self.threshold == 0 {
            return Permit::Call;
        }
        let mut state = self.state();
        match state.open_until {
            None => Permit::Call,
            Some(until) if now < until => Permit::Skip,
            Some(_) if state.probe_since.is_some_and(|since| now < since + self.open_for) => Permit::Skip,
            Some(_) => {
                state.probe_since = Some(now);
                Permit::Probe
            }
        }
    }

    pub fn record(&self, permit: &Permit, ok: bool, now: Instant) {
        if self.threshold == 0 || *permit == Permit::Skip {
            return;
        }
        let mut state = self.state();
        if ok {
            state.failures = 0;
            state.open_until = None;
        } else {
            state.failures = state.failures.saturating_add(1);
            if *permit == Permit::Probe || state.failures >= self.threshold {
                state.open_until = Some(now + self.open_for);
            }
        }
        if *permit == Permit::Probe {
            state.probe_since = None;
        }
    }

    pub fn is_open(&self) -> bool {
        self.state().open_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_then_lets_one_probe_through() {
        let b = Breaker::new(3, Duration::from_secs(5));
        let t0 = Instant::now();
        for _ in 0..2 {
            let p = b.permit(t0);
            assert_eq!(p, Permit::Call);
            b.record(&p, false, t0);
        }
        // A success in between resets the count.
        b.record(&Permit::Call, true, t0);
        for _ in 0..3 {
            let p = b.permit(t0);
            assert_eq!(p, Permit::Call);
            b.record(&p, false, t0);
        }
        assert_eq!(b.permit(t0 + Duration::from_secs(1)), Permit::Skip);
        let later = t0 + Duration::from_secs(6);
        let probe = b.permit(later);
        assert_eq!(probe, Permit::Probe);
        assert_eq!(b.permit(later), Permit::Skip, "only one probe at a time");
        // The probe fails: open again for the whole period.
        b.record(&probe, false, later);
        assert_eq!(b.permit(later + Duration::from_secs(4)), Permit::Skip);
        let probe = b.permit(later + Duration::from_secs(6));
        assert_eq!(probe, Permit::Probe);
        b.record(&probe, true, later + Duration::from_secs(6));
        assert_eq!(b.permit(later + Duration::from_secs(6)), Permit::Call);
        assert!(!b.is_open());
    }

    #[test]
    fn an_abandoned_probe_does_not_keep_the_circuit_open_forever() {
        let b = Breaker::new(1, Duration::from_secs(5));
        let t0 = Instant::now();
        b.record(&b.permit(t0), false, t0);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(b.permit(later), Permit::Probe);
        // That probe's request was dropped and never recorded.
        assert_eq!(b.permit(later + Duration::from_secs(1)), Permit::Skip);
        let probe = b.permit(later + Duration::from_secs(5));
        assert_eq!(probe, Permit::Probe);
        b.record(&probe, true, later + Duration::from_secs(5));
        assert_eq!(b.permit(later + Duration::from_secs(5)), Permit::Call);
    }

    #[test]
    fn a_zero_threshold_never_opens() {
        let b = Breaker::new(0, Duration::from_secs(5));
        let now = Instant::now();
        for _ in 0..10 {
            b.record(&Permit::Call, false, now);
        }
        assert_eq!(b.permit(now), Permit::Call);
    }
}
