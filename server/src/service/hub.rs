//! The live event hub: every change (a new event, a job written, a user's credentials changed)
//! is read once from the change log (`store::changes`) and published in process to every open
//! event stream through one broadcast channel. Changes this process writes wake the hub at
//! once; changes another process writes (the CLI) arrive through the hub's one poll of the
//! log, so the database sees the same queries however many streams are open.
//!
//! A stream starts at the hub's position or, reconnecting, replays exactly what it missed after
//! its Last-Event-ID from the log; a stream that falls behind the channel is told to resync.
//! Not here: HTTP and SSE framing (`http::stream`), who may open a stream (`stream`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use app::api::{Job, JobKind, JobStatus};

use super::pacing::Pacing;
use super::{Service, ServiceError, ServiceResult};
use crate::store::{ChangeKind, ChangeRow, Store};

/// How often the hub reads the change log when nothing in this process woke it.
const POLL: Duration = Duration::from_millis(250);

/// After publishing, the hub lets changes gather this long before it reads again, so a burst
/// of writes is read (and sent to every stream) at once. An event waits at most this long; a
/// running job is also paced on its own (`pacing`).
const GATHER: Duration = Duration::from_millis(20);

/// Change log rows one read takes; a longer backlog is read in several.
const BATCH: i64 = 500;

/// Messages the channel holds for a stream that is slow to send; one further behind resyncs.
const CHANNEL: usize = 4096;

/// The most changes a reconnecting stream replays; one further behind resyncs.
const REPLAY_MAX: i64 = 10_000;

/// One published change, serialized once for every stream.
#[derive(Debug)]
pub struct Published {
    /// The change log id: the SSE `id:` and the cursor a reconnect resumes from.
    pub id: i64,
    pub what: What,
    /// The change as a stream writes it, made by the first stream that sends it (the HTTP
    /// layer's framing) and shared by all the others.
    pub framed: OnceLock<bytes::Bytes>,
}

impl Published {
    pub fn new(id: i64, what: What) -> Published {
        Published {
            id,
            what,
            framed: OnceLock::new(),
        }
    }
}

#[derive(Debug)]
pub enum What {
    /// A new event, as SPEC §4's JSON.
    Event(String),
    /// A job's current state, as SPEC §4's JSON; `running` until it ended (the hub paces a
    /// running job's updates).
    Job {
        job_id: String,
        json: String,
        running: bool,
    },
    /// A user's credentials changed: their streams check theirs again. Not sent to browsers.
    Auth { user_id: String },
}

/// The hub's state, shared by the service's clones.
#[derive(Debug)]
pub(super) struct Hub {
    sender: broadcast::Sender<Arc<Published>>,
    /// The id of the last change published. Held while publishing and while subscribing, so a
    /// subscriber's starting point and what its receiver gets meet without a gap.
    position: Mutex<i64>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            sender: broadcast::channel(CHANNEL).0,
            position: Mutex::new(0),
        }
    }
}

impl Hub {
    fn position(&self) -> std::sync::MutexGuard<'_, i64> {
        self.position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A stream's view of the hub: what to replay first, then the live channel.
pub struct Subscription {
    /// Sent before anything from the channel.
    pub backlog: VecDeque<Arc<Published>>,
    /// True when the stream asked to resume from a point the log no longer holds (or never
    /// held): it should reload everything instead.
    pub resync: bool,
    receiver: broadcast::Receiver<Arc<Published>>,
    /// Channel messages up to this id were already covered by the backlog.
    skip_through: i64,
}

/// What a subscription yields next.
pub enum Next {
    /// Every change at hand, oldest first, a job changed several times among them only at its
    /// last change (its latest state is all a browser needs).
    Changes(Vec<Arc<Published>>),
    /// The stream fell behind the channel: changes were dropped for it.
    Resync,
    /// The hub is gone (the server stops).
    Closed,
}

impl Subscription {
    /// Waits for a change, then takes every other one at hand, up to `max` in all: a stream
    /// sends them in one write. Cancel-safe (it only waits before taking the first).
    pub async fn next(&mut self, max: usize) -> Next {
        let first = match self.backlog.pop_front() {
            Some(change) => change,
            None => loop {
                match self.receiver.recv().await {
                    Ok(change) if change.id <= self.skip_through => continue,
                    Ok(change) => break change,
                    Err(broadcast::error::RecvError::Lagged(_)) => return Next::Resync,
                    Err(broadcast::error::RecvError::Closed) => return Next::Closed,
                }
            },
        };
        let mut ready = vec![first];
        while ready.len() < max {
            let change = match self.backlog.pop_front() {
                Some(change) => change,
                None => match self.receiver.try_recv() {
                    Ok(change) if change.id <= self.skip_through => continue,
                    Ok(change) => change,
                    Err(broadcast::error::TryRecvError::Lagged(_)) => return Next::Resync,
                    // Closed: what was gathered goes out; the next call says so.
                    Err(_) => break,
                },
            };
            ready.push(change);
        }
        Next::Changes(latest_of_each_job(ready))
    }
}

/// `changes` without a job's changes that a later one of the same job supersedes.
fn latest_of_each_job(mut changes: Vec<Arc<Published>>) -> Vec<Arc<Published>> {
    let last = last_change_of_each_job(changes.iter().filter_map(|change| match &change.what {
        What::Job { job_id, .. } => Some((job_id.as_str(), change.id)),
        What::Event(_) | What::Auth { .. } => None,
    }));
    let superseded: std::collections::HashSet<i64> = changes
        .iter()
        .filter_map(|change| match &change.what {
            What::Job { job_id, .. } if last.get(job_id.as_str()) != Some(&change.id) => {
                Some(change.id)
            }
            _ => None,
        })
        .collect();
    changes.retain(|change| !superseded.contains(&change.id));
    changes
}

/// The id of each job's last change among `(job id, change id)` pairs.
fn last_change_of_each_job<'a>(
    changes: impl Iterator<Item = (&'a str, i64)>,
) -> HashMap<&'a str, i64> {
    changes.collect()
}

impl Service {
    /// Places the hub at the end of the change log: streams see what happens from now on (or
    /// replay from their Last-Event-ID). Call once before serving.
    pub async fn start_hub(&self) -> ServiceResult<()> {
        let (newest, _) = self.store().change_bounds().await?;
        *self.inner.hub.position() = newest;
        Ok(())
    }

    /// Publishes the change log as it grows; runs as long as the server does.
    pub async fn run_hub(self) {
        let signal = self.store().change_signal();
        let reader = self.store().hub_reader();
        let mut pacing = Pacing::default();
        loop {
            let due = pacing.next_due().map(tokio::time::Instant::from_std);
            tokio::select! {
                () = signal.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                () = sleep_until(due) => {}
            }
            if let Err(error) = self.publish_new(&reader, &mut pacing).await {
                tracing::warn!(%error, "the live event hub cannot read the change log");
            }
            if let Err(error) = self.release_due(&mut pacing).await {
                tracing::warn!(%error, "the live event hub cannot record a held job's change");
            }
            tokio::time::sleep(GATHER).await;
        }
    }

    /// Records a fresh change of each held job whose time came: read back like any other, it
    /// publishes the job's state then, after everything published meanwhile.
    /// If that fails, they stay held and are tried again a little later (a held job's latest
    /// state must not be lost, above all a final one).
    async fn release_due(&self, pacing: &mut Pacing) -> ServiceResult<()> {
        let now = Instant::now();
        let due = pacing.take_due(now);
        if due.is_empty() {
            return Ok(());
        }
        let noted = self.store().note_changes(ChangeKind::Job, &due).await;
        if noted.is_err() {
            pacing.hold_again(due, now);
        }
        Ok(noted?)
    }

    /// Reads (through `reader`) and publishes every change after the hub's position, but a
    /// running job's change that `pacing` holds.
    async fn publish_new(&self, reader: &Store, pacing: &mut Pacing) -> ServiceResult<()> {
        loop {
            let after = *self.inner.hub.position();
            let mut rows = reader.changes_after(after, BATCH).await?;
            let Some(last) = rows.last().map(|row| row.id) else {
                return Ok(());
            };
            let full = i64::try_from(rows.len()).unwrap_or(BATCH) >= BATCH;
            let now = Instant::now();
            if rows.iter().any(|row| row.kind == ChangeKind::Event) {
                let deferred: std::collections::HashSet<String> = rows
                    .iter()
                    .filter(|row| row.kind == ChangeKind::Job)
                    .filter(|row| pacing.defer_for_events(&row.reference, now))
                    .map(|row| row.reference.clone())
                    .collect();
                rows.retain(|row| {
                    row.kind != ChangeKind::Job || !deferred.contains(&row.reference)
                });
            }
            let mut changes = load_changes(reader, rows).await?;
            changes.retain(|change| match &change.what {
                What::Job {
                    job_id, running, ..
                } => pacing.admit(job_id, *running, now),
                What::Event(_) | What::Auth { .. } => true,
            });
            if changes
                .iter()
                .any(|change| matches!(change.what, What::Auth { .. }))
            {
                // Perhaps another process (the CLI) changed credentials: a cached token may
                // no longer hold. Before the streams hear of it, so their re-check reads anew.
                self.inner.tokens.forget_all();
            }
            {
                let hub = &self.inner.hub;
                let mut position = hub.position();
                // Only this task moves the position forward.
                *position = last;
                for change in changes {
                    // No receiver is not an error: nobody is watching.
                    let _ = hub.sender.send(Arc::new(change));
                }
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// The published form of change log rows, oldest first. A job changed several times in the
/// rows is published once, at its last change, with its current state; an event the retention
/// pruned meanwhile is skipped.
async fn load_changes(store: &Store, rows: Vec<ChangeRow>) -> ServiceResult<Vec<Published>> {
    let event_ids: Vec<i64> = rows
        .iter()
        .filter(|row| row.kind == ChangeKind::Event)
        .filter_map(|row| row.reference.parse().ok())
        .collect();
    let mut events: HashMap<i64, String> = HashMap::new();
    for event in store.events_with_ids(&event_ids).await? {
        events.insert(event.id, to_json(&event)?);
    }
    let last_of_job = last_change_of_each_job(
        rows.iter()
            .filter(|row| row.kind == ChangeKind::Job)
            .map(|row| (row.reference.as_str(), row.id)),
    );
    let mut jobs: HashMap<&str, (String, bool)> = HashMap::new();
    for id in last_of_job.keys() {
        if let Some(job) = store.job_state(id).await? {
            jobs.insert(id, (to_json(&JobUpdate::of(&job))?, job.ended_at.is_none()));
        }
    }
    let mut published = Vec::with_capacity(rows.len());
    for row in &rows {
        let what = match row.kind {
            ChangeKind::Event => row
                .reference
                .parse()
                .ok()
                .and_then(|id| events.remove(&id))
                .map(What::Event),
            ChangeKind::Job if last_of_job.get(row.reference.as_str()) == Some(&row.id) => jobs
                .remove(row.reference.as_str())
                .map(|(json, running)| What::Job {
                    job_id: row.reference.clone(),
                    json,
                    running,
                }),
            ChangeKind::Job => None,
            ChangeKind::Auth => Some(What::Auth {
                user_id: row.reference.clone(),
            }),
        };
        if let Some(what) = what {
            published.push(Published::new(row.id, what));
        }
    }
    Ok(published)
}

impl Service {
    /// A stream's subscription: from now on, or after `last_event_id` when it reconnects.
    pub async fn watch_changes(&self, last_event_id: Option<i64>) -> ServiceResult<Subscription> {
        let (receiver, position) = {
            let hub = &self.inner.hub;
            let position = hub.position();
            (hub.sender.subscribe(), *position)
        };
        let mut subscription = Subscription {
            backlog: VecDeque::new(),
            resync: false,
            receiver,
            skip_through: position,
        };
        let Some(after) = last_event_id.filter(|after| *after != position) else {
            return Ok(subscription);
        };
        let (_, oldest) = self.store().change_bounds().await?;
        if after > position || after < oldest.saturating_sub(1) || position - after > REPLAY_MAX {
            subscription.resync = true;
            return Ok(subscription);
        }
        let mut from = after;
        while from < position {
            let rows: Vec<ChangeRow> = self
                .store()
                .changes_after(from, BATCH)
                .await?
                .into_iter()
                .filter(|row| row.id <= position)
                .collect();
            let Some(last) = rows.last().map(|row| row.id) else {
                break;
            };
            from = last;
            subscription.backlog.extend(
                load_changes(self.store(), rows)
                    .await?
                    .into_iter()
                    .map(Arc::new),
            );
        }
        Ok(subscription)
    }

    /// Event streams open now.
    pub fn open_streams(&self) -> usize {
        self.inner.hub.sender.receiver_count()
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A job as the stream carries it: its state without its steps. A rolling upgrade's run has a
/// step per host phase and per VM migration (66 KB of JSON for 64 hosts, issue 20's watchers
/// bench) and every watcher would get all of them at each update, though no page shows steps
/// from the stream: the pages that show them fetch the job (`GET /api/jobs/{id}`) when told.
#[derive(serde::Serialize)]
struct JobUpdate<'a> {
    id: &'a str,
    kind: JobKind,
    status: JobStatus,
    percent_complete: f64,
    correlation_id: &'a str,
    created_at: &'a str,
    ended_at: Option<&'a str>,
    message: Option<&'a str>,
}

impl<'a> JobUpdate<'a> {
    fn of(job: &'a Job) -> JobUpdate<'a> {
        JobUpdate {
            id: &job.id,
            kind: job.kind,
            status: job.status,
            percent_complete: job.percent_complete,
            correlation_id: &job.correlation_id,
            created_at: &job.created_at,
            ended_at: job.ended_at.as_deref(),
            message: job.message.as_deref(),
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<String> {
    serde_json::to_string(value).map_err(|e| ServiceError::Internal(format!("serializing: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, job_id: &str) -> Published {
        Published::new(
            id,
            What::Job {
                job_id: job_id.into(),
                json: format!("{{\"id\":\"{job_id}\",\"change\":{id}}}"),
                running: true,
            },
        )
    }

    fn ids(next: Next) -> Vec<i64> {
        match next {
            Next::Changes(changes) => changes.iter().map(|change| change.id).collect(),
            Next::Resync => vec![-1],
            Next::Closed => vec![-2],
        }
    }

    #[tokio::test]
    async fn a_stream_takes_what_is_at_hand_with_each_jobs_latest_state_in_order() {
        let hub = Hub::default();
        let mut subscription = Subscription {
            backlog: VecDeque::new(),
            resync: false,
            receiver: hub.sender.subscribe(),
            skip_through: 0,
        };
        let event = |id| Published::new(id, What::Event(format!("{{\"id\":{id}}}")));
        for change in [job(1, "j1"), event(2), job(3, "j2"), job(4, "j1"), event(5)] {
            hub.sender.send(Arc::new(change)).unwrap();
        }
        assert_eq!(ids(subscription.next(3).await), vec![1, 2, 3]);
        assert_eq!(ids(subscription.next(10).await), vec![4, 5]);
        hub.sender.send(Arc::new(job(6, "j1"))).unwrap();
        hub.sender.send(Arc::new(job(7, "j1"))).unwrap();
        assert_eq!(ids(subscription.next(10).await), vec![7]);
        drop(hub);
        assert_eq!(ids(subscription.next(10).await), vec![-2]);
    }
}
