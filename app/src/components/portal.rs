//! Portal-wide state the pages share: who is signed in, the jobs this browser waits for (so
//! pages refresh the moment they end), a notice line, and the upgrade dialog.

use std::time::Duration;

use leptos::prelude::*;

use crate::api::{Caller, Host};
use crate::rpc::{check_host, get_job, whoami};

/// How often the jobs being watched are asked for their status.
const POLL: Duration = Duration::from_millis(700);
/// Without jobs to watch, pages still refresh this often to show others' changes.
const IDLE_REFRESH_TICKS: u32 = 15;

#[derive(Clone, Copy)]
pub struct Portal {
    pub me: Resource<Result<Option<Caller>, ServerFnError>>,
    /// Bumped whenever data may have changed; resources that read it refetch.
    pub version: RwSignal<u64>,
    watching: RwSignal<Vec<String>>,
    pub notice: RwSignal<Option<String>>,
    pub upgrade_dialog: RwSignal<Option<Host>>,
    idle_ticks: RwSignal<u32>,
}

impl Portal {
    pub fn provide() -> Portal {
        let portal = Portal {
            me: Resource::new(|| (), |_| whoami()),
            version: RwSignal::new(0),
            watching: RwSignal::new(Vec::new()),
            notice: RwSignal::new(None),
            upgrade_dialog: RwSignal::new(None),
            idle_ticks: RwSignal::new(0),
        };
        provide_context(portal);
        // Effects run only in the browser: the polling lives there.
        Effect::new(move |_| {
            if let Ok(handle) = set_interval_with_handle(move || portal.tick(), POLL) {
                on_cleanup(move || handle.clear());
            }
        });
        portal
    }

    pub fn get() -> Portal {
        expect_context::<Portal>()
    }

    fn tick(self) {
        let jobs = self.watching.get_untracked();
        if jobs.is_empty() {
            let ticks = self.idle_ticks.get_untracked() + 1;
            self.idle_ticks.set(ticks % IDLE_REFRESH_TICKS);
            if ticks >= IDLE_REFRESH_TICKS {
                self.version.update(|v| *v += 1);
            }
            return;
        }
        for id in jobs {
            leptos::task::spawn_local(async move {
                if let Ok(job) = get_job(id.clone()).await {
                    if job.status.is_final() {
                        self.watching.update(|w| w.retain(|j| *j != id));
                        if let Some(message) = job.message {
                            self.notice.set(Some(message));
                        }
                        self.version.update(|v| *v += 1);
                    }
                }
            });
        }
    }

    /// Starts "Check for Upgrade" on a host and refreshes the pages when it ends.
    pub fn check_host(self, host: &Host) {
        let (id, name) = (host.id.clone(), host.name.clone());
        self.notice
            .set(Some(format!("Checking {name} for updates…")));
        leptos::task::spawn_local(async move {
            match check_host(id).await {
                Ok(job) => self.watching.update(|w| w.push(job.id)),
                Err(error) => self.notice.set(Some(error_text(error))),
            }
        });
    }
}

/// A server function's error in plain words.
pub fn error_text(error: ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}
