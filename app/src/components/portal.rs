//! Portal-wide state the pages share: who is signed in, the jobs this browser started (so
//! pages follow them live through the event stream), a notice line, and the upgrade dialog.

use std::collections::HashMap;

use leptos::prelude::*;

use super::vm_migrate::MigrateTarget;
use crate::api::{Caller, HaMaintenance, HaMode, Host, HostReinstall, Job};
use crate::rpc::{
    activate_host, check_host, deactivate_host, get_job, reinstall_host, set_ha_maintenance,
    upgrade_host, whoami,
};

#[derive(Clone, Copy)]
pub struct Portal {
    pub me: Resource<Result<Option<Caller>, ServerFnError>>,
    /// Bumped whenever data may have changed; resources that read it refetch.
    pub version: RwSignal<u64>,
    /// Jobs being followed: job id -> what it works on (a host or a cluster id).
    watching: RwSignal<Vec<(String, String)>>,
    /// The latest state of the job started on each host (or cluster) from this browser.
    pub host_jobs: RwSignal<HashMap<String, Job>>,
    pub notice: RwSignal<Option<String>>,
    pub upgrade_dialog: RwSignal<Option<Host>>,
    pub reinstall_dialog: RwSignal<Option<Host>>,
    /// The VM whose Migrate dialog is open.
    pub migrate_dialog: RwSignal<Option<MigrateTarget>>,
    /// Global HA maintenance asked for on this host, waiting for the admin's confirmation:
    /// the host, and whether to enable it.
    pub global_ha_dialog: RwSignal<Option<(Host, bool)>>,
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
            reinstall_dialog: RwSignal::new(None),
            migrate_dialog: RwSignal::new(None),
            global_ha_dialog: RwSignal::new(None),
        };
        provide_context(portal);
        // Effects run only in the browser: the event stream is opened there.
        crate::after_hydration(move || {
            #[cfg(feature = "hydrate")]
            super::live::listen(portal);
        });
        portal
    }

    pub fn get() -> Portal {
        expect_context::<Portal>()
    }

    /// A job changed: follow it if this browser started it.
    pub fn job_changed(self, job: Job) {
        let Some(host_id) = self.watching.with_untracked(|w| {
            w.iter()
                .find(|(id, _)| *id == job.id)
                .map(|(_, host)| host.clone())
        }) else {
            return;
        };
        if job.status.is_final() {
            self.watching.update(|w| w.retain(|(id, _)| *id != job.id));
            if let Some(message) = job.message.clone() {
                self.notice.set(Some(message));
            }
        }
        self.host_jobs.update(|jobs| {
            jobs.insert(host_id, job);
        });
    }

    /// The event stream may have skipped changes: reload every page's data and the state of
    /// the jobs followed here.
    #[cfg(feature = "hydrate")]
    pub fn resync(self) {
        self.version.update(|v| *v += 1);
        for (id, _) in self.watching.get_untracked() {
            leptos::task::spawn_local(async move {
                if let Ok(latest) = get_job(id).await {
                    self.job_changed(latest);
                }
            });
        }
    }

    /// Sends an action that answers with a job, then follows the job: `key` is what it works
    /// on (a host's id, or a cluster's), and its final message becomes the notice.
    pub fn follow(
        self,
        key: &str,
        started: String,
        action: impl std::future::Future<Output = Result<Job, ServerFnError>> + 'static,
    ) {
        let key = key.to_string();
        self.notice.set(Some(started.clone()));
        leptos::task::spawn_local(async move {
            match action.await {
                Ok(job) => self.track(&key, started, job),
                Err(error) => self.notice.set(Some(error_text(error))),
            }
        });
    }

    /// Follows a job started here: `key` is what it works on; its final message becomes the
    /// notice.
    pub fn track(self, key: &str, started: String, job: Job) {
        self.notice.set(Some(started));
        let id = job.id.clone();
        self.watching
            .update(|w| w.push((id.clone(), key.to_string())));
        self.job_changed(job);
        leptos::task::spawn_local(async move {
            // A quick job may have ended before it was followed: ask once more.
            if let Ok(latest) = get_job(id).await {
                self.job_changed(latest);
            }
        });
    }

    /// "Check for Upgrade" on a host.
    pub fn check_host(self, host: &Host) {
        self.follow(
            &host.id,
            format!("Checking {} for updates…", host.name),
            check_host(host.id.clone()),
        );
    }

    /// Starts the upgrade of a host.
    pub fn upgrade(self, host: &Host, reboot: bool) {
        self.follow(
            &host.id,
            format!("Upgrading {}…", host.name),
            upgrade_host(host.id.clone(), reboot),
        );
    }

    /// Reinstalls a host in maintenance or whose install failed.
    pub fn reinstall(self, host: &Host, request: HostReinstall) {
        self.follow(
            &host.id,
            format!("Reinstalling {}…", host.name),
            reinstall_host(host.id.clone(), request),
        );
    }

    /// Moves a host to maintenance.
    pub fn deactivate(self, host: &Host) {
        self.follow(
            &host.id,
            format!("Moving {} to maintenance…", host.name),
            deactivate_host(host.id.clone()),
        );
    }

    /// Global HA maintenance on or off, through a hosted-engine host's agent.
    pub fn global_ha(self, host: &Host, enabled: bool) {
        let request = HaMaintenance {
            mode: HaMode::Global,
            enabled,
        };
        self.follow(
            &host.id,
            format!(
                "{} global HA maintenance through {}…",
                if enabled { "Enabling" } else { "Disabling" },
                host.name
            ),
            set_ha_maintenance(host.id.clone(), request),
        );
    }

    /// Activates a host in maintenance.
    pub fn activate(self, host: &Host) {
        self.follow(
            &host.id,
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
