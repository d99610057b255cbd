//! Durable workflows: every long operation of Uplift (a host's maintenance, activation or
//! upgrade, update checks, a cluster's rolling upgrade, the engine update check) is a job whose
//! code runs as a list of named steps through a [`Flow`].
//!
//! The model is a saga log in the vocabulary of oxidecomputer's `steno` (actions, undo actions,
//! a log of node events, recovery by replay), shaped by one need steno does not meet: a rolling
//! upgrade learns its steps as it goes (it re-plans before every wave). So a flow is plain async
//! Rust that calls [`Flow::step`] for each side effect, and recovery *replays the flow's code*
//! against the log:
//! - every step records its intent (`started`) before its side effect and its result
//!   (`succeeded` with its output as JSON, or `failed` with a typed [`StepError`]) after it;
//! - on replay a recorded step is not run again: it returns its recorded output or error, so
//!   the flow takes the same path as before (decisions that read the world, such as a plan or
//!   "was I cancelled?", are steps too, for that reason);
//! - a step recorded as started but not ended (a crash between intent and result) runs again,
//!   so every step must be idempotent: safe to run twice, with the same outcome;
//! - a step may carry an undo; [`Flow::unwind`] runs the undos of the steps done so far, newest
//!   first, each itself a recorded step, and [`Flow::commit`] marks the point of no return
//!   (after it, a failure goes forward to a failed state instead of back).
//!
//! See docs/workflows.md for why this is not steno itself, and for every flow's step table.
//!
//! What does not belong here: what any step *does*. This module knows nothing of hosts or VMs;
//! the flows live with the service (`service::flows`), which also owns the one place that starts
//! and resumes jobs.

pub mod clock;
mod faults;
mod runner;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::fleet::driver::DriverError;
use crate::store::StoreError;

pub use clock::{Clock, SystemClock, TokioClock};
pub use faults::{Boundary, Faults};
pub(crate) use runner::backoff;
pub use runner::{Flow, ProgressSink, StepLog};

/// Why a step failed. Stored with the step (as JSON), so a replay meets the same failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum StepError {
    /// A host, through its driver, did not do what it was asked.
    #[error("{0}")]
    Host(String),
    /// The world does not allow the step (a VM that fits nowhere, a blocker in a plan).
    #[error("{0}")]
    Refused(String),
    /// The job ran out of time during the step.
    #[error("{0}")]
    Timeout(String),
    /// Uplift's own database failed. Retried a few times before the step fails with it.
    #[error("{0}")]
    Store(String),
    /// A record Uplift wrote cannot be read back, or another bug.
    #[error("{0}")]
    Internal(String),
    /// Another instance took the job over; this flow stops. Never recorded (the write that
    /// met it was refused).
    #[error("{0}")]
    Fenced(String),
}

impl From<StoreError> for StepError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Corrupt { .. } => StepError::Internal(error.to_string()),
            StoreError::Fenced(_) => StepError::Fenced(error.to_string()),
            other => StepError::Store(other.to_string()),
        }
    }
}

impl From<DriverError> for StepError {
    fn from(error: DriverError) -> Self {
        StepError::Host(error.to_string())
    }
}

pub type StepResult<T> = Result<T, StepError>;

/// One step of a flow: its key (unique within the job: also what the job's step list shows),
/// its name (the same for every step of its kind: what failpoints and docs/workflows.md use),
/// and the host it concerns.
#[derive(Clone, Debug)]
pub struct Step {
    pub key: String,
    pub name: &'static str,
    pub host: Option<String>,
}

impl Step {
    /// A step that happens once in its job: its name is its key.
    pub fn once(name: &'static str) -> Self {
        Step {
            key: name.to_string(),
            name,
            host: None,
        }
    }

    /// One of several steps of the same kind, told apart by `key`.
    pub fn keyed(name: &'static str, key: impl Into<String>) -> Self {
        Step {
            key: key.into(),
            name,
            host: None,
        }
    }

    pub fn on_host(mut self, host_id: &str) -> Self {
        self.host = Some(host_id.to_string());
        self
    }
}

/// A step as the log holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Recorded {
    /// Its intent is recorded; it may or may not have had its side effect.
    Started,
    Succeeded(serde_json::Value),
    Failed(StepError),
}

/// One entry of a job's step log.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRecord {
    pub key: String,
    pub state: Recorded,
}
