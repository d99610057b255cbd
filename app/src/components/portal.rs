//! Portal-wide state the pages share: who is signed in, the jobs this browser started (so
//! pages follow them live and refresh the moment they end), a notice line, and the upgrade
//! dialog.

use std::collections::HashMap;
use std::time::Duration;

use leptos::prelude::*;

use crate::api::{Caller, Host, Job};
use crate::rpc::{activate_host, check_host, deactivate_host, get_job, upgrade_host, whoami};

/// How often the jobs being followed are asked for their status.
const POLL: Duration = Duration::from_millis(700);
/// Without jobs to follow, pages still refresh this often to show others' changes.
const IDLE_REFRESH_TICKS: u32 = 15;

#[derive(Clone, Copy)]
pub struct Portal {
    pub me: Resource<Result<Option<Caller>, ServerFnError>>,
    /// Bumped whenever data may have changed; resources that read it refetch.
    pub version: RwSignal<u64>,
    /// Jobs being followed: job id -> the host it works on.
    watching: RwSignal<Vec<(String, String)>>,
    /// The latest state of the job started on each host from this browser.
    pub host_jobs: RwSignal<HashMap<String, Job>>,
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
            host_jobs: RwSignal::new(HashMap::new()),
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
        for (id, host_id) in jobs {
            leptos::task::spawn_local(async move {
                if let Ok(job) = get_job(id.clone()).await {
                    let ended = job.status.is_final();
                    let message = job.message.clone();
                    self.host_jobs.update(|jobs| {
                        jobs.insert(host_id, job);
                    });
                    if ended {
                        self.watching.update(|w| w.retain(|(j, _)| *j != id));
                        if let Some(message) = message {
                            self.notice.set(Some(message));
                        }
                    }
                    // Something moved: the pages follow it live.
                    self.version.update(|v| *v += 1);
                }
            });
        }
    }

    /// Sends an action that answers with a job, then follows the job.
    fn follow(
        self,
        host: &Host,
        started: String,
        action: impl std::future::Future<Output = Result<Job, ServerFnError>> + 'static,
    ) {
        let host_id = host.id.clone();
        self.notice.set(Some(started));
        leptos::task::spawn_local(async move {
            match action.await {
                Ok(job) => {
                    self.watching
                        .update(|w| w.push((job.id.clone(), host_id.clone())));
                    self.host_jobs.update(|jobs| {
                        jobs.insert(host_id, job);
                    });
                }
                Err(error) => self.notice.set(Some(error_text(error))),
            }
        });
    }

    /// "Check for Upgrade" on a host.
    pub fn check_host(self, host: &Host) {
        self.follow(
            host,
            format!("Checking {} for updates…", host.name),
            check_host(host.id.clone()),
        );
    }

    /// Starts the upgrade of a host.
    pub fn upgrade(self, host: &Host, reboot: bool) {
        self.follow(
            host,
            format!("Upgrading {}…", host.name),
            upgrade_host(host.id.clone(), reboot),
        );
    }

    /// Moves a host to maintenance.
    pub fn deactivate(self, host: &Host) {
        self.follow(
            host,
            format!("Moving {} to maintenance…", host.name),
            deactivate_host(host.id.clone()),
        );
    }

    /// Activates a host in maintenance.
    pub fn activate(self, host: &Host) {
        self.follow(
            host,
            format!("Activating {}…", host.name),
            activate_host(host.id.clone()),
        );
    }
}

/// A server function's error in plain words.
pub fn error_text(error: ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}
