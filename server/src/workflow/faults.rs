//! Fault injection for the crash tests, off unless asked for by the environment:
//! - `UPLIFT_CRASH_AT=<flow>:<step>:<before|after>[:<n>]` aborts the process (as `kill -9`
//!   would) at the n-th (default first) boundary of that step name in that flow: `before` is
//!   after its intent is recorded and before its side effect, `after` is after its side effect
//!   and before its result is recorded. Those are the two windows a crash can land in.
//! - `UPLIFT_REPEAT_STEPS=1` runs every step's action twice in a row and keeps the second
//!   result (omicron's `actions_succeed_idempotently`).
//! - `UPLIFT_FAIL_JOB_ENDS=N` makes the first N writes of every job's end fail, standing in
//!   for a database that is busy when a job ends.
//!
//! Nothing here changes what a flow does when neither variable is set.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// The two sides of a step's side effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    Before,
    After,
}

impl Boundary {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "before" => Some(Boundary::Before),
            "after" => Some(Boundary::After),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct CrashPoint {
    /// `None` in the step runner's own tests: every boundary counts.
    place: Option<(String, String, Boundary)>,
    /// Which occurrence crashes (1 = the first).
    nth: u32,
    seen: AtomicU32,
    /// Abort the process; the step runner's own tests panic the flow's task instead.
    abort: bool,
}

/// The faults this process was asked to inject. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    crash: Option<Arc<CrashPoint>>,
    repeat: bool,
    /// Writes of each job's end that fail first (standing in for a busy database).
    failing_ends: u32,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults::default()
    }

    /// The faults `UPLIFT_CRASH_AT`, `UPLIFT_REPEAT_STEPS` and `UPLIFT_FAIL_JOB_ENDS` ask for. A malformed crash point
    /// is refused, so a test never silently runs without its crash.
    pub fn from_env() -> Result<Self, String> {
        let crash = match std::env::var("UPLIFT_CRASH_AT") {
            Ok(text) if !text.trim().is_empty() => Some(Arc::new(parse(text.trim())?)),
            _ => None,
        };
        let repeat = std::env::var("UPLIFT_REPEAT_STEPS").is_ok_and(|v| v == "1");
        let failing_ends = match std::env::var("UPLIFT_FAIL_JOB_ENDS") {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| format!("UPLIFT_FAIL_JOB_ENDS={text:?} is not a count"))?,
            Err(_) => 0,
        };
        Ok(Faults {
            crash,
            repeat,
            failing_ends,
        })
    }

    /// How many writes of each job's end fail before one is let through
    /// (`UPLIFT_FAIL_JOB_ENDS=N`).
    pub fn job_end_failures(&self) -> u32 {
        self.failing_ends
    }

    /// Whether every action runs twice.
    pub fn repeat(&self) -> bool {
        self.repeat
    }

    /// A crash (a panic of the flow's task) at the n-th step boundary of any step, counted
    /// from 1; for the step runner's own tests, which restart the flow in the same process.
    #[cfg(test)]
    pub fn panic_at_boundary(nth: u32) -> Self {
        Faults {
            crash: Some(Arc::new(CrashPoint {
                place: None,
                nth,
                seen: AtomicU32::new(0),
                abort: false,
            })),
            ..Faults::default()
        }
    }

    /// Every action twice in a row, as `UPLIFT_REPEAT_STEPS=1` asks.
    #[cfg(test)]
    pub fn repeating() -> Self {
        Faults {
            repeat: true,
            ..Faults::default()
        }
    }

    /// Crashes if this is the boundary asked for.
    pub fn at(&self, flow: &str, step: &str, boundary: Boundary) {
        let Some(point) = &self.crash else {
            return;
        };
        if let Some((f, s, b)) = &point.place {
            if f != flow || s != step || *b != boundary {
                return;
            }
        }
        let seen = point.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if seen != point.nth {
            return;
        }
        if point.abort {
            eprintln!(
                "UPLIFT_CRASH_AT: crashing at {flow}:{step}:{boundary:?} (occurrence {seen})"
            );
            std::process::abort();
        }
        panic!("injected crash at {flow}:{step}:{boundary:?}");
    }
}

fn parse(text: &str) -> Result<CrashPoint, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (flow, step, boundary, nth) = match parts.as_slice() {
        [flow, step, boundary] => (flow, step, boundary, "1"),
        [flow, step, boundary, nth] => (flow, step, boundary, *nth),
        _ => {
            return Err(format!(
                "UPLIFT_CRASH_AT={text:?} is not <flow>:<step>:<before|after>[:<n>]"
            ))
        }
    };
    let boundary = Boundary::parse(boundary)
        .ok_or_else(|| format!("UPLIFT_CRASH_AT: {boundary:?} is neither before nor after"))?;
    let nth = nth
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("UPLIFT_CRASH_AT: {nth:?} is not a count from 1"))?;
    Ok(CrashPoint {
        place: Some((flow.to_string(), step.to_string(), boundary)),
        nth,
        seen: AtomicU32::new(0),
        abort: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_points_parse_or_are_refused() {
        let point = parse("host_upgrade:install:after:2").unwrap();
        assert_eq!(
            point.place,
            Some(("host_upgrade".into(), "install".into(), Boundary::After))
        );
        assert_eq!(point.nth, 2);
        assert_eq!(parse("cluster_upgrade:plan wave:before").unwrap().nth, 1);
        assert!(parse("host_upgrade:install").is_err());
        assert!(parse("host_upgrade:install:during").is_err());
        assert!(parse("host_upgrade:install:after:0").is_err());
    }
}
