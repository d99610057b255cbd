//! Time, injected: the service and the workflows ask a [`Clock`] for "now" and for a pause,
//! never the system directly, so tests can run flows without real waiting. Nothing else lives
//! here; durations of simulated host work belong to the simulator, not to this clock.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use time::OffsetDateTime;

/// A boxed pause, so the trait stays object-safe.
pub type Pause<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
    /// Waits `duration` (on a test clock: advances its time instead).
    fn sleep(&self, duration: Duration) -> Pause<'_>;
}

/// Real time, through tokio.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> Pause<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Tokio's time, as a date: under a runtime whose time is paused (`#[tokio::test(start_paused
/// = true)]`), it moves only when every task waits, jumping straight to the next sleeper, so
/// flows with long waits and timeouts run in no real time and in the order real time would give.
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    start: OffsetDateTime,
    base: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `start` now (call it inside the runtime).
    pub fn starting_at(start: OffsetDateTime) -> Self {
        TokioClock {
            start,
            base: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        self.start + self.base.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Pause<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paused_tokio_time_moves_the_clock_by_what_sleeps() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let clock = TokioClock::starting_at(start);
        clock.sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now() - start, time::Duration::seconds(3600));
    }
}
