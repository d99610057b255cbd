//! The step runner: what [`Flow::step`] does around each side effect (record, replay, retry,
//! repeat, deadline, failpoints), the undo stack, and the log it writes through.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Boundary, Clock, Faults, Recorded, Step, StepError, StepRecord, StepResult};
use crate::store::{StoreError, StoreResult};

/// How often a step whose database work failed is tried before it fails with that error.
const STORE_ATTEMPTS: u32 = 5;
/// The longest pause between two tries of a log write.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where a flow's steps are recorded: the job's step rows in the database, or a test's memory.
#[async_trait::async_trait]
pub trait StepLog: Send + Sync {
    /// Every step of the job recorded so far.
    async fn load(&self, job_id: &str) -> StoreResult<Vec<StepRecord>>;
    /// Records a step's intent. Recording it again (a replay) changes nothing.
    async fn started(&self, job_id: &str, step: &Step, at: OffsetDateTime) -> StoreResult<()>;
    /// Records how a step ended: its output (JSON) or its error, and a line for people.
    async fn ended(
        &self,
        job_id: &str,
        step: &Step,
        outcome: &Result<serde_json::Value, StepError>,
        message: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Records how far the job has come, in percent.
    async fn progress(&self, job_id: &str, percent: f64) -> StoreResult<()>;
}

type UndoFuture = Pin<Box<dyn Future<Output = StepResult<()>> + Send>>;

/// An undo the flow can still run: the step it belongs to and what to do.
struct Undo {
    step: Step,
    run: Box<dyn Fn() -> UndoFuture + Send + Sync>,
}

/// A job's deadline and what to say when it passes.
#[derive(Clone)]
struct Deadline {
    at: OffsetDateTime,
    message: String,
}

/// One run (first or replay) of one job's flow.
pub struct Flow {
    job_id: String,
    /// The job's kind: failpoints name flows by it.
    kind: &'static str,
    log: Arc<dyn StepLog>,
    clock: Arc<dyn Clock>,
    faults: Faults,
    recorded: Mutex<HashMap<String, Recorded>>,
    undo: Mutex<Vec<Undo>>,
    deadline: Mutex<Option<Deadline>>,
    /// Set once a write was refused because another instance took the job over: the flow
    /// then stops without recording anything more (not even the job's end).
    fenced: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Flow {
    /// Reads the job's log so far; the flow then replays against it.
    pub async fn load(
        job_id: &str,
        kind: &'static str,
        log: Arc<dyn StepLog>,
        clock: Arc<dyn Clock>,
        faults: Faults,
    ) -> StoreResult<Flow> {
        let recorded = log
            .load(job_id)
            .await?
            .into_iter()
            .map(|r| (r.key, r.state))
            .collect();
        Ok(Flow {
            job_id: job_id.to_string(),
            kind,
            log,
            clock,
            faults,
            recorded: Mutex::new(recorded),
            undo: Mutex::new(Vec::new()),
            deadline: Mutex::new(None),
            fenced: AtomicBool::new(false),
        })
    }

    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Whether another instance took the job over (a write of this flow was refused).
    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    /// Records the job's progress; a refused or failed write is only logged (progress is
    /// a hint, and a fenced flow stops at its next step anyway).
    pub async fn progress(&self, percent: f64) {
        self.progress_sink().set(percent).await;
    }

    /// Something that records the job's progress from a task of its own.
    pub fn progress_sink(&self) -> ProgressSink {
        ProgressSink {
            job_id: self.job_id.clone(),
            log: self.log.clone(),
        }
    }

    /// Steps that start from now on fail with `message` once `at` has passed, and a step still
    /// running then is stopped and fails with it. `None` lifts the deadline (for the steps that
    /// end a job, which must run whatever the time).
    pub fn set_deadline(&self, deadline: Option<(OffsetDateTime, String)>) {
        *lock(&self.deadline) = deadline.map(|(at, message)| Deadline { at, message });
    }

    /// The recorded output of a step that succeeded, if the log holds one that reads as `T`.
    /// For a flow that cannot run its steps (unreadable parameters) but must still give back
    /// what an earlier run took.
    pub fn recorded<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        match lock(&self.recorded).get(key) {
            Some(Recorded::Succeeded(output)) => serde_json::from_value(output.clone()).ok(),
            _ => None,
        }
    }

    /// Runs one step: its recorded result if the log has one, otherwise its action, recorded
    /// before and after. `action` must be idempotent: it runs again if the process died
    /// between the two records, and twice in a row under `UPLIFT_REPEAT_STEPS=1`.
    pub async fn step<T, F, Fut>(&self, step: Step, action: F) -> StepResult<T>
    where
        T: Serialize + DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = StepResult<T>>,
    {
        if self.is_fenced() {
            return Err(StepError::Fenced(format!(
                "another instance runs job {} now",
                self.job_id
            )));
        }
        let known = lock(&self.recorded).get(&step.key).cloned();
        match known {
            Some(Recorded::Succeeded(output)) => {
                return serde_json::from_value(output).map_err(|e| {
                    StepError::Internal(format!("the recorded output of step {:?}: {e}", step.key))
                })
            }
            Some(Recorded::Failed(error)) => return Err(error),
            Some(Recorded::Started) => {
                tracing::info!(job = %self.job_id, step = %step.key, "running again a step a restart interrupted");
            }
            None => {
                self.write(|| self.log.started(&self.job_id, &step, self.clock.now()))
                    .await?;
                lock(&self.recorded).insert(step.key.clone(), Recorded::Started);
            }
        }
        self.faults.at(self.kind, step.name, Boundary::Before);
        let outcome = self.attempt(&action).await;
        self.faults.at(self.kind, step.name, Boundary::After);
        let stored = match &outcome {
            Ok(output) => serde_json::to_value(output).map_err(|e| {
                StepError::Internal(format!("the output of step {:?}: {e}", step.key))
            }),
            Err(error) => Err(error.clone()),
        };
        // A step whose output is text, or has a `message` text, shows it; others say "done".
        let message = match &stored {
            Ok(serde_json::Value::String(text)) => text.clone(),
            Ok(serde_json::Value::Object(fields)) => match fields.get("message") {
                Some(serde_json::Value::String(text)) => text.clone(),
                _ => "done".to_string(),
            },
            Ok(_) => "done".to_string(),
            Err(error) => error.to_string(),
        };
        self.write(|| {
            self.log
                .ended(&self.job_id, &step, &stored, &message, self.clock.now())
        })
        .await?;
        let state = match &stored {
            Ok(value) => Recorded::Succeeded(value.clone()),
            Err(error) => Recorded::Failed(error.clone()),
        };
        lock(&self.recorded).insert(step.key, state);
        match (outcome, stored) {
            (Ok(output), Ok(_)) => Ok(output),
            (_, Err(error)) => Err(error),
            (Err(error), Ok(_)) => Err(error),
        }
    }

    /// Like [`Flow::step`], and remembers `undo` (given the step's output) for [`Flow::unwind`].
    /// On a replay the undo is remembered again, so an unwind after a restart finds it.
    pub async fn step_with_undo<T, F, Fut, U, UFut>(
        &self,
        step: Step,
        action: F,
        undo: U,
    ) -> StepResult<T>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: Fn() -> Fut,
        Fut: Future<Output = StepResult<T>>,
        U: Fn(T) -> UFut + Send + Sync + 'static,
        UFut: Future<Output = StepResult<()>> + Send + 'static,
    {
        let output = self.step(step.clone(), action).await?;
        let kept = output.clone();
        lock(&self.undo).push(Undo {
            step,
            run: Box::new(move || Box::pin(undo(kept.clone()))),
        });
        Ok(output)
    }

    /// The point of no return: undos remembered so far are dropped, so a later failure goes
    /// forward to a failed state instead of back.
    pub fn commit(&self) {
        lock(&self.undo).clear();
    }

    /// Runs the remembered undos, newest first, each as a recorded step (`undo <key>`), so an
    /// unwind interrupted by a crash finishes on replay without undoing anything twice.
    /// The deadline does not apply: undoing is how a timed-out job gets back.
    pub async fn unwind(&self) -> StepResult<()> {
        self.set_deadline(None);
        let undos = std::mem::take(&mut *lock(&self.undo));
        let mut first_error = None;
        for undo in undos.into_iter().rev() {
            let step = Step {
                key: format!("undo {}", undo.step.key),
                name: "undo",
                host: undo.step.host.clone(),
            };
            match self.step(step, || (undo.run)()).await {
                Ok(()) => {}
                // Taken over: the new holder unwinds, if it must.
                Err(error @ StepError::Fenced(_)) => return Err(error),
                Err(error) => {
                    tracing::error!(job = %self.job_id, step = %undo.step.key, %error, "an undo failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The action, within the deadline; store errors tried again a few times; twice in a row
    /// when repeats are injected (the second result counts).
    async fn attempt<T, F, Fut>(&self, action: &F) -> StepResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StepResult<T>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut outcome = self.within_deadline(action()).await;
            if self.faults.repeat() && outcome.is_ok() {
                outcome = self.within_deadline(action()).await;
            }
            match outcome {
                Err(StepError::Store(reason)) if tries < STORE_ATTEMPTS => {
                    tracing::warn!(job = %self.job_id, %reason, tries, "a step's database work failed; trying again");
                    self.clock.sleep(backoff(tries)).await;
                }
                other => return other,
            }
        }
    }

    async fn within_deadline<T>(
        &self,
        action: impl Future<Output = StepResult<T>>,
    ) -> StepResult<T> {
        let deadline = lock(&self.deadline).clone();
        let Some(deadline) = deadline else {
            return action.await;
        };
        let left = deadline.at - self.clock.now();
        let Ok(left) = Duration::try_from(left) else {
            return Err(StepError::Timeout(deadline.message));
        };
        if left.is_zero() {
            return Err(StepError::Timeout(deadline.message));
        }
        tokio::select! {
            outcome = action => outcome,
            () = self.clock.sleep(left) => Err(StepError::Timeout(deadline.message)),
        }
    }

    /// A log write, tried until it works: a flow cannot go on without its record, and the
    /// database being busy or away for a while must not end a job in an unknown state. A
    /// write refused by the job's fencing token is not tried again: the flow stops there.
    async fn write<'a, Fut>(&'a self, write: impl Fn() -> Fut) -> StepResult<()>
    where
        Fut: Future<Output = Result<(), StoreError>> + 'a,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match write().await {
                Ok(()) => return Ok(()),
                Err(error @ StoreError::Fenced(_)) => {
                    self.fenced.store(true, Ordering::SeqCst);
                    tracing::warn!(job = %self.job_id, "another instance took this job over; its flow stops here");
                    return Err(StepError::Fenced(error.to_string()));
                }
                Err(error) => {
                    tracing::warn!(job = %self.job_id, %error, tries, "cannot write the step log yet; trying again");
                    self.clock.sleep(backoff(tries)).await;
                }
            }
        }
    }
}

/// Records a job's progress from anywhere (a callback of a long host operation).
#[derive(Clone)]
pub struct ProgressSink {
    job_id: String,
    log: Arc<dyn StepLog>,
}

impl ProgressSink {
    pub async fn set(&self, percent: f64) {
        if let Err(error) = self.log.progress(&self.job_id, percent).await {
            tracing::debug!(job = %self.job_id, %error, "the job's progress was not recorded");
        }
    }
}

/// 100 ms, doubling, at most [`MAX_BACKOFF`].
pub(crate) fn backoff(tries: u32) -> Duration {
    let millis = 100_u64.saturating_mul(1 << tries.min(16));
    Duration::from_millis(millis).min(MAX_BACKOFF)
}
