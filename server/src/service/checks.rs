//! Update checks (seed 000, "When packages are checked"): on demand for a host or a whole
//! cluster, and periodically for hosts that are up or non-operational. Each check is a job
//! whose steps are the hosts' checks, with started/finished/failed events; a host is never
//! checked twice at once; at most `MaxParallelHostChecks` run together; "updates are
//! available" is announced once a day.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::api::{Host, HostQuery, HostStatus, Job, JobKind, Severity};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::jobs::{job_params, JobEnd};
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::packages::Monitored;
use crate::store::{new_id, rfc3339, JobRow, NewJob};
use crate::workflow::{Flow, Step, StepError, StepResult};

/// Statuses the periodic check visits (oVirt's choice: hosts that are in service).
const PERIODIC: [HostStatus; 2] = [HostStatus::Up, HostStatus::NonOperational];

/// How often the periodic checker looks for due hosts and rereads its interval.
const PERIODIC_TICK: Duration = Duration::from_secs(10);

/// The "updates are available" event is written at most this often per host.
const NOTICE_INTERVAL: time::Duration = time::Duration::days(1);

/// How many package names a "found updates" message lists before "and N others".
const LISTED_PACKAGES: usize = 10;

/// In-memory bookkeeping of the checks in flight.
#[derive(Default)]
pub struct CheckState {
    /// host id -> the job checking it.
    running: Mutex<HashMap<String, String>>,
    /// The limiter and the limit it was made for; replaced when the setting changes.
    limiter: Mutex<Option<(usize, Arc<Semaphore>)>>,
}

/// What a check job keeps in its row: the hosts to check (ids).
#[derive(Debug, Serialize, Deserialize)]
struct CheckParams {
    hosts: Vec<String>,
}

/// How one host's check went, as its step records it: the outcome in words ("no updates
/// found", "found updates for packages …"), or why the host was skipped.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Checked {
    pub skipped: bool,
    pub message: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// "found updates for packages a, b, c" with at most ten names, then "and N others".
pub fn found_message(names: &[&str]) -> String {
    let listed = names
        .iter()
        .take(LISTED_PACKAGES)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    let rest = names.len().saturating_sub(LISTED_PACKAGES);
    if rest > 0 {
        format!("found updates for packages {listed} and {rest} others")
    } else {
        format!("found updates for packages {listed}")
    }
}

/// The statuses a host may be checked in (the same as for an upgrade), in words.
fn status_list() -> String {
    HostStatus::ALL
        .iter()
        .filter(|s| s.allows_upgrade())
        .map(|s| s.label())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Service {
    fn checks(&self) -> &CheckState {
        &self.inner.checks
    }

    /// The shared limiter for `MaxParallelHostChecks`, remade when the value changed.
    async fn check_limiter(&self) -> ServiceResult<Arc<Semaphore>> {
        let limit =
            usize::try_from(self.config_number("MaxParallelHostChecks").await?).unwrap_or(1);
        let mut slot = lock(&self.checks().limiter);
        match slot.as_ref() {
            Some((size, semaphore)) if *size == limit => Ok(semaphore.clone()),
            _ => {
                let semaphore = Arc::new(Semaphore::new(limit.max(1)));
                *slot = Some((limit, semaphore.clone()));
                Ok(semaphore)
            }
        }
    }

    pub(super) async fn monitored(&self) -> ServiceResult<Monitored> {
        let base = self.config_text("PackageNamesForCheckUpdate").await?;
        let user = self.config_text("UserPackageNamesForCheckUpdate").await?;
        Ok(Monitored::from_lists([base.as_str(), user.as_str()]))
    }

    /// What a host upgrade installs (`HostUpgradeInstalls`): the monitored packages' updates,
    /// or every update the host's repositories offer.
    pub(super) async fn upgrade_installs(&self) -> ServiceResult<Monitored> {
        if self.config_text("HostUpgradeInstalls").await? == "all" {
            return Ok(Monitored::from_lists(["*"]));
        }
        self.monitored().await
    }

    /// "Check for Upgrade" on one host (`POST /api/hosts/{id}/upgradecheck`). Refused with 409
    /// for statuses that cannot be checked; a check already running is answered with its job.
    pub async fn check_host(&self, actor: Actor<'_>, host_id: &str) -> ServiceResult<Job> {
        actor.require_admin()?;
        let host = self.host_by_id(host_id).await?;
        if !host.status.allows_upgrade() {
            return Err(ServiceError::Conflict(format!(
                "Host {} is {}; updates can be checked on hosts that are {}.",
                host.name,
                host.status.label(),
                status_list()
            )));
        }
        let user = actor.name();
        match self.start_host_check_job(&host, Some(&user)).await? {
            Ok(job) => self.job_by_id(&job).await,
            Err(running) => {
                self.emit(
                    self.host_event(&host, "host_update_check_already_running", Severity::Normal)
                        .message(format!(
                            "Check for available updates on host {} is already running.",
                            host.name
                        ))
                        .user(Some(&user)),
                )
                .await?;
                self.job_by_id(&running).await
            }
        }
    }

    /// Creates a host check job and runs it; `Err` holds the job already checking the host.
    async fn start_host_check_job(
        &self,
        host: &Host,
        user: Option<&str>,
    ) -> ServiceResult<Result<String, String>> {
        let id = new_id();
        if let Err(running) = self.claim(&host.id, &id) {
            return Ok(Err(running));
        }
        let created = self
            .create_check_job(
                &id,
                JobKind::HostUpgradeCheck,
                Some(&host.id),
                &host.cluster.id,
                std::slice::from_ref(&host.id),
                user,
            )
            .await;
        if let Err(error) = created {
            self.release(&host.id);
            return Err(error);
        }
        self.spawn_job(&id);
        Ok(Ok(id))
    }

    async fn create_check_job(
        &self,
        id: &str,
        kind: JobKind,
        host_id: Option<&str>,
        cluster_id: &str,
        hosts: &[String],
        user: Option<&str>,
    ) -> ServiceResult<()> {
        let params = serde_json::to_string(&CheckParams {
            hosts: hosts.to_vec(),
        })
        .map_err(|e| ServiceError::Internal(format!("job parameters: {e}")))?;
        let correlation_id = new_id();
        self.create_job(
            &NewJob {
                id,
                kind,
                correlation_id: &correlation_id,
                host_id,
                cluster_id: Some(cluster_id),
                user,
                host_status_before: None,
                params: Some(&params),
                parent_id: None,
                vm_id: None,
            },
            String::new,
        )
        .await
    }

    /// Claims `host_id` for `job_id` (a job may claim again what it holds); `Err` names the
    /// job that has it.
    fn claim(&self, host_id: &str, job_id: &str) -> Result<(), String> {
        let mut running = lock(&self.checks().running);
        match running.get(host_id) {
            Some(holder) if holder != job_id => Err(holder.clone()),
            _ => {
                running.insert(host_id.to_string(), job_id.to_string());
                Ok(())
            }
        }
    }

    fn release(&self, host_id: &str) {
        lock(&self.checks().running).remove(host_id);
    }

    /// "Check for Upgrade" on every host of a cluster, as one job with a step per host.
    pub async fn check_cluster(&self, actor: Actor<'_>, cluster_id: &str) -> ServiceResult<Job> {
        actor.require_admin()?;
        let cluster = self.cluster_by_id(cluster_id).await?;
        let hosts: Vec<String> = self
            .host_page(&HostQuery {
                cluster: Some(cluster.id.clone()),
                ..HostQuery::default()
            })
            .await?
            .items
            .into_iter()
            .map(|h| h.id)
            .collect();
        let id = new_id();
        self.create_check_job(
            &id,
            JobKind::ClusterUpgradeCheck,
            None,
            &cluster.id,
            &hosts,
            Some(&actor.name()),
        )
        .await?;
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }

    /// The flow of both kinds of check job: a step per host, all at once (the limiter keeps
    /// them to `MaxParallelHostChecks`).
    pub(super) async fn check_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let params = job_params::<CheckParams>(row)?;
        let mut hosts = Vec::new();
        for id in &params.hosts {
            hosts.push(self.host_by_id(id).await?);
        }
        let outcomes = self.check_hosts(flow, row, &hosts, "").await;
        let failed = outcomes.iter().filter(|o| o.is_err()).count();
        let skipped = outcomes
            .iter()
            .filter(|o| o.as_ref().is_ok_and(|c| c.skipped))
            .count();
        Ok(match (row.kind, outcomes.first()) {
            (JobKind::HostUpgradeCheck, Some(Ok(checked))) => {
                JobEnd::succeeded(checked.message.clone())
            }
            (JobKind::HostUpgradeCheck, Some(Err(error))) => JobEnd::failed(error.to_string()),
            _ => {
                let message = format!(
                    "{} of {} hosts checked, {failed} failed, {skipped} skipped.",
                    outcomes.len() - failed - skipped,
                    hosts.len(),
                );
                if failed > 0 {
                    JobEnd::failed(message)
                } else {
                    JobEnd::succeeded(message)
                }
            }
        })
    }

    /// Checks hosts as steps of `row`'s job (`prefix` keeps a cluster run's steps apart), with
    /// the job's progress moving as they end.
    pub(super) async fn check_hosts(
        &self,
        flow: &Flow,
        row: &JobRow,
        hosts: &[Host],
        prefix: &str,
    ) -> Vec<StepResult<Checked>> {
        let total = hosts.len().max(1) as f64;
        let done = std::sync::atomic::AtomicUsize::new(0);
        futures::future::join_all(hosts.iter().map(|host| async {
            let step =
                Step::keyed("check", format!("{prefix}check {}", host.name)).on_host(&host.id);
            let outcome = flow.step(step, || self.check_one(flow, row, host)).await;
            self.release_if_held(&host.id, flow.job_id());
            let finished = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if prefix.is_empty() {
                flow.progress(100.0 * finished as f64 / total).await;
            }
            outcome
        }))
        .await
    }

    fn release_if_held(&self, host_id: &str, job_id: &str) {
        let mut running = lock(&self.checks().running);
        if running.get(host_id).is_some_and(|holder| holder == job_id) {
            running.remove(host_id);
        }
    }

    /// One host's check: events, result, announcement. A failed check is an `Err`; the host
    /// keeps its previous result.
    async fn check_one(&self, flow: &Flow, row: &JobRow, host: &Host) -> StepResult<Checked> {
        let step_key = |code: &str| format!("check {} {code}", host.name);
        let event = |code, severity, message: String| {
            self.host_event(host, code, severity)
                .message(message)
                .correlation(&row.correlation_id)
                .user(row.user.as_deref())
                .once(flow.job_id(), &step_key(code))
        };
        let now = self.host_by_id(&host.id).await?;
        let skip = if !now.status.allows_upgrade() {
            Some(format!(
                "Check for available updates on host {} skipped: unsupported status {}.",
                host.name,
                now.status.label()
            ))
        } else if let Err(_holder) = self.claim(&host.id, flow.job_id()) {
            Some(format!(
                "Check for available updates on host {} is already running.",
                host.name
            ))
        } else {
            None
        };
        if let Some(reason) = skip {
            let code = if now.status.allows_upgrade() {
                "host_update_check_already_running"
            } else {
                "host_update_check_skipped"
            };
            self.emit(event(code, Severity::Warning, reason.clone()))
                .await?;
            return Ok(Checked {
                skipped: true,
                message: reason,
            });
        }
        let limiter = self.check_limiter().await?;
        let _permit = limiter
            .acquire_owned()
            .await
            .map_err(|e| StepError::Internal(format!("check limiter closed: {e}")))?;
        self.emit(event(
            "host_update_check_started",
            Severity::Normal,
            format!(
                "Check for available updates on host {} was started.",
                host.name
            ),
        ))
        .await?;
        let monitored = self.monitored().await?;
        let updates = match self.driver().check_updates(&host.id, &monitored).await {
            Ok(updates) => updates,
            Err(error) => {
                let reason = format!(
                    "Check for available updates on host {} failed: {error}.",
                    host.name
                );
                self.emit(event(
                    "host_update_check_failed",
                    Severity::Error,
                    reason.clone(),
                ))
                .await?;
                return Err(StepError::Host(reason));
            }
        };
        let now = self.clock().now();
        // What the upgrade brings in cluster levels (unknown if the host will not say).
        let levels = if updates.is_empty() {
            None
        } else {
            self.driver()
                .levels_after_upgrade(&host.id)
                .await
                .ok()
                .filter(|l| !l.is_empty())
        };
        self.store()
            .save_update_check(&host.id, &updates, levels.as_deref(), &rfc3339(now))
            .await?;
        let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
        let outcome = if names.is_empty() {
            "no updates found".to_string()
        } else {
            found_message(&names)
        };
        self.emit(event(
            "host_update_check_finished",
            Severity::Normal,
            format!(
                "Check for available updates on host {} finished: {outcome}.",
                host.name
            ),
        ))
        .await?;
        if !names.is_empty()
            && self
                .store()
                .claim_updates_notice(&host.id, &rfc3339(now), &rfc3339(now - NOTICE_INTERVAL))
                .await?
        {
            self.emit(event(
                "host_updates_available",
                Severity::Normal,
                format!(
                    "Host {} has available updates: {}.",
                    host.name,
                    names.join(", ")
                ),
            ))
            .await?;
        }
        Ok(Checked {
            skipped: false,
            message: outcome,
        })
    }

    /// The periodic checker: every tick, rereads `HostPackagesUpdateTimeInHours` (0 = off) and
    /// starts checks for the hosts not checked within it. Runs until the process ends.
    pub async fn run_periodic_checks(self) {
        loop {
            if let Err(error) = self.periodic_tick().await {
                tracing::warn!(error = %error, "periodic update check tick failed");
            }
            self.clock().sleep(PERIODIC_TICK).await;
        }
    }

    async fn periodic_tick(&self) -> ServiceResult<()> {
        let hours = self.config_number("HostPackagesUpdateTimeInHours").await?;
        if hours == 0 {
            return Ok(());
        }
        let parallel =
            i64::try_from(self.config_number("MaxParallelHostChecks").await?).unwrap_or(1);
        let hours = i64::try_from(hours).unwrap_or(i64::MAX / 3600);
        let cutoff = rfc3339(self.clock().now() - time::Duration::hours(hours));
        for id in self.store().hosts_due_for_check(&cutoff, parallel).await? {
            let host = self.host_by_id(&id).await?;
            if PERIODIC.contains(&host.status) {
                // A host being checked already is simply not checked twice.
                let _ = self.start_host_check_job(&host, None).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_messages_list_at_most_ten_packages() {
        assert_eq!(
            found_message(&["a", "b", "c"]),
            "found updates for packages a, b, c"
        );
        let many: Vec<String> = (1..=13).map(|i| format!("p{i}")).collect();
        let names: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            found_message(&names),
            "found updates for packages p1, p2, p3, p4, p5, p6, p7, p8, p9, p10 and 3 others"
        );
    }
}
