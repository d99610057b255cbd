//! How often the live event hub publishes a running job: a rolling upgrade's job is written at
//! every step of every host (and carries all of them, several KiB), and each publication is
//! written to every open stream. A running job goes out at most once per `JOB_EVERY`; a change
//! that comes sooner is held, and when its time comes the hub records a fresh change of the job
//! in the log (so the cursor stays exact: the job's state then gets a new id, after everything
//! published meanwhile). Events are never held, and jobs yield to them: a job's change read
//! together with events is deferred once the same way (right after), so a burst of job states
//! (each a few KiB, to every stream) does not delay the events beside it. A job's final state
//! is only ever deferred, never held.
//!
//! Not here: reading the log or publishing (`hub`), the SSE framing (`http::stream`).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The shortest time between two publications of one running job.
pub(super) const JOB_EVERY: Duration = Duration::from_millis(250);

/// The hub task's record of when each running job last went out and which are held.
#[derive(Debug, Default)]
pub(super) struct Pacing {
    /// When each running job was last published.
    sent: HashMap<String, Instant>,
    /// Held jobs and when their change is due.
    held: HashMap<String, Instant>,
    /// Jobs deferred once for events: their next change goes out whatever comes with it.
    deferred: HashSet<String>,
}

impl Pacing {
    /// Whether a change of `job_id` read together with events yields to them (deferred, due
    /// at once). Only once: the change recorded for it then goes out whatever comes with it.
    pub(super) fn defer_for_events(&mut self, job_id: &str, now: Instant) -> bool {
        if !self.deferred.insert(job_id.to_string()) {
            return false;
        }
        self.held.insert(job_id.to_string(), now);
        true
    }

    /// Whether a change of `job_id` goes out now (and records it), or is held.
    pub(super) fn admit(&mut self, job_id: &str, running: bool, now: Instant) -> bool {
        if running {
            if let Some(sent) = self
                .sent
                .get(job_id)
                .filter(|sent| now.duration_since(**sent) < JOB_EVERY)
            {
                let due = *sent + JOB_EVERY;
                self.held.insert(job_id.to_string(), due);
                return false;
            }
            self.sent.insert(job_id.to_string(), now);
        } else {
            self.sent.remove(job_id);
        }
        self.deferred.remove(job_id);
        self.held.remove(job_id);
        true
    }

    /// When the next held job is due, if any is held.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.held.values().min().copied()
    }

    /// The held jobs due by `now`, no longer held (the hub records a change of each).
    /// Forgets jobs not published for a while: a job that stopped changing (or whose final
    /// state this hub never saw) is not kept.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<String> {
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(job_id, _)| job_id.clone())
            .collect();
        for job_id in &due {
            self.held.remove(job_id);
        }
        let held = &self.held;
        self.sent.retain(|job_id, sent| {
            held.contains_key(job_id) || now.duration_since(*sent) < JOB_EVERY * 4
        });
        self.deferred
            .retain(|job_id| due.contains(job_id) || held.contains_key(job_id));
        due
    }

    /// Holds `job_ids` (just taken as due) once more, due one interval after `now`: recording
    /// their changes failed.
    pub(super) fn hold_again(&mut self, job_ids: Vec<String>, now: Instant) {
        for job_id in job_ids {
            self.held.insert(job_id, now + JOB_EVERY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_job_goes_out_at_most_once_per_interval_and_its_end_at_once() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut pacing = Pacing::default();
        assert!(pacing.admit("j", true, at(0)));
        assert!(!pacing.admit("j", true, at(10)));
        assert!(!pacing.admit("j", true, at(100)));
        // Another job is paced on its own.
        assert!(pacing.admit("k", true, at(100)));
        assert_eq!(pacing.next_due(), Some(at(250)));
        assert!(pacing.take_due(at(249)).is_empty());
        assert_eq!(pacing.take_due(at(250)), vec!["j".to_string()]);
        assert_eq!(pacing.next_due(), None);
        // The change the hub records for it then goes out.
        assert!(pacing.admit("j", true, at(251)));
        assert!(!pacing.admit("j", true, at(300)));
        // Its final state is never held, and ends the hold.
        assert!(pacing.admit("j", false, at(301)));
        assert_eq!(pacing.next_due(), None);
        assert!(
            pacing.admit("j", true, at(302)),
            "a job seen anew starts afresh"
        );
    }

    #[test]
    fn a_job_read_with_events_yields_to_them_once() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut pacing = Pacing::default();
        // A new job beside events: deferred, due at once.
        assert!(pacing.defer_for_events("j", at(0)));
        assert_eq!(pacing.take_due(at(0)), vec!["j".to_string()]);
        // The change recorded for it goes out even beside events again.
        assert!(!pacing.defer_for_events("j", at(20)));
        assert!(pacing.admit("j", true, at(20)));
        // Later changes beside events are deferred once more (then paced as usual).
        assert!(pacing.defer_for_events("j", at(300)));
        assert_eq!(pacing.take_due(at(300)), vec!["j".to_string()]);
        assert!(!pacing.defer_for_events("j", at(320)));
        assert!(pacing.admit("j", true, at(320)));
        // A final state beside events is deferred too, never dropped.
        assert!(pacing.defer_for_events("j", at(330)));
        assert_eq!(pacing.take_due(at(330)), vec!["j".to_string()]);
        assert!(!pacing.defer_for_events("j", at(350)));
        assert!(pacing.admit("j", false, at(350)));
        assert_eq!(pacing.next_due(), None);
    }

    #[test]
    fn a_job_whose_change_could_not_be_recorded_is_held_again() {
        let start = Instant::now();
        let mut pacing = Pacing::default();
        assert!(pacing.defer_for_events("j", start));
        let due = pacing.take_due(start);
        assert_eq!(due, vec!["j".to_string()]);
        pacing.hold_again(due, start);
        assert_eq!(pacing.next_due(), Some(start + JOB_EVERY));
        assert_eq!(pacing.take_due(start + JOB_EVERY), vec!["j".to_string()]);
        // Still deferred once: its recorded change then goes out beside events.
        assert!(!pacing.defer_for_events("j", start + JOB_EVERY));
    }

    #[test]
    fn jobs_not_published_for_a_while_are_forgotten() {
        let start = Instant::now();
        let mut pacing = Pacing::default();
        assert!(pacing.admit("j", true, start));
        assert!(pacing.take_due(start + JOB_EVERY * 5).is_empty());
        assert!(pacing.sent.is_empty());
    }
}
