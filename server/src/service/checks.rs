//! Update checks (seed 000, "When packages are checked"): on demand for a host or a whole
//! cluster, and periodically for hosts that are up or non-operational. Each check is a job
//! with started/finished/failed events; a host is never checked twice at once; at most
//! `MaxParallelHostChecks` run together; "updates are available" is announced once a day.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::api::{Host, HostQuery, HostStatus, Job, JobKind, JobStatus, Severity};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::packages::Monitored;
use crate::store::{new_id, rfc3339, NewEvent, NewJob};

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

/// Who asked for a check, for events and jobs.
struct Origin<'a> {
    user: Option<&'a str>,
    correlation_id: &'a str,
    job_id: &'a str,
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

    async fn new_job(
        &self,
        kind: JobKind,
        host: Option<&Host>,
        cluster_id: Option<&str>,
        user: Option<&str>,
    ) -> ServiceResult<(String, String)> {
        let (id, correlation_id) = (new_id(), new_id());
        self.store()
            .insert_job(&NewJob {
                id: &id,
                kind,
                correlation_id: &correlation_id,
                host_id: host.map(|h| h.id.as_str()),
                cluster_id: cluster_id.or(host.map(|h| h.cluster.id.as_str())),
                user,
            })
            .await?;
        Ok((id, correlation_id))
    }

    pub async fn job_by_id(&self, id: &str) -> ServiceResult<Job> {
        self.store()
            .job(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no job with id {id}.")))
    }

    pub async fn recent_jobs(&self) -> ServiceResult<Vec<Job>> {
        let mut jobs = Vec::new();
        for id in self.store().recent_job_ids(100).await? {
            jobs.extend(self.store().job(&id).await?);
        }
        Ok(jobs)
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
        if let Some(job_id) = self.running_check(&host) {
            self.emit(
                NewEvent::new(
                    "host_update_check_already_running",
                    Severity::Normal,
                    format!(
                        "Check for available updates on host {} is already running.",
                        host.name
                    ),
                )
                .host(&host.id, &host.cluster.id)
                .user(Some(&user)),
            )
            .await?;
            return self.job_by_id(&job_id).await;
        }
        let job = self.start_host_check_job(&host, Some(&user)).await?;
        self.job_by_id(&job).await
    }

    /// The job already checking `host`, if any.
    fn running_check(&self, host: &Host) -> Option<String> {
        lock(&self.checks().running).get(&host.id).cloned()
    }

    /// Claims `host` for `job_id`; false when another check has it.
    fn claim(&self, host: &Host, job_id: &str) -> bool {
        let mut running = lock(&self.checks().running);
        if running.contains_key(&host.id) {
            return false;
        }
        running.insert(host.id.clone(), job_id.to_string());
        true
    }

    fn release(&self, host: &Host) {
        lock(&self.checks().running).remove(&host.id);
    }

    /// Creates a host check job and runs it in the background; returns the job id.
    async fn start_host_check_job(&self, host: &Host, user: Option<&str>) -> ServiceResult<String> {
        let (job_id, correlation_id) = self
            .new_job(JobKind::HostUpgradeCheck, Some(host), None, user)
            .await?;
        if !self.claim(host, &job_id) {
            // Lost a race with another check of the same host between our look and our claim.
            self.store()
                .finish_job(
                    &job_id,
                    JobStatus::Cancelled,
                    Some("another check of this host is running"),
                )
                .await?;
            return Ok(job_id);
        }
        let service = self.clone();
        let host = host.clone();
        let user = user.map(str::to_string);
        let id = job_id.clone();
        tokio::spawn(async move {
            let origin = Origin {
                user: user.as_deref(),
                correlation_id: &correlation_id,
                job_id: &id,
            };
            let outcome = service.check_one(&host, &origin).await;
            service.release(&host);
            let (status, message) = match &outcome {
                Ok(message) => (JobStatus::Succeeded, message.clone()),
                Err(reason) => (JobStatus::Failed, reason.clone()),
            };
            if let Err(e) = service
                .store()
                .finish_job(&id, status, Some(&message))
                .await
            {
                tracing::error!(job = %id, error = %e, "cannot record the end of a check");
            }
        });
        Ok(job_id)
    }

    /// Checks one host as a step of `origin.job_id`: events, result, announcement. Returns the
    /// outcome in words; an `Err` is a failed check (the host keeps its previous result).
    async fn check_one(&self, host: &Host, origin: &Origin<'_>) -> Result<String, String> {
        let event = |code, severity, message: String| {
            NewEvent::new(code, severity, message)
                .host(&host.id, &host.cluster.id)
                .correlation(origin.correlation_id)
                .user(origin.user)
        };
        let run = async {
            let limiter = self.check_limiter().await?;
            let _permit = limiter
                .acquire_owned()
                .await
                .map_err(|e| ServiceError::Internal(format!("check limiter closed: {e}")))?;
            let step = self
                .store()
                .start_step(origin.job_id, Some(&host.id), "check")
                .await?;
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
            match self.driver().check_updates(&host.id, &monitored).await {
                Ok(updates) => {
                    let now = OffsetDateTime::now_utc();
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
                    self.store()
                        .finish_step(step, JobStatus::Succeeded, &outcome)
                        .await?;
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
                            .claim_updates_notice(
                                &host.id,
                                &rfc3339(now),
                                &rfc3339(now - NOTICE_INTERVAL),
                            )
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
                    Ok(Ok(outcome))
                }
                Err(error) => {
                    let reason = format!(
                        "Check for available updates on host {} failed: {error}.",
                        host.name
                    );
                    self.store()
                        .finish_step(step, JobStatus::Failed, &error.to_string())
                        .await?;
                    self.emit(event(
                        "host_update_check_failed",
                        Severity::Error,
                        reason.clone(),
                    ))
                    .await?;
                    Ok(Err(reason))
                }
            }
        };
        match run.await {
            Ok(outcome) => outcome,
            Err(error) => {
                let error: ServiceError = error;
                tracing::error!(host = %host.name, error = %error, "update check broke");
                Err(format!(
                    "Check for available updates on host {} failed: {error}",
                    host.name
                ))
            }
        }
    }

    /// "Check for Upgrade" on every host of a cluster, as one job with a step per host.
    pub async fn check_cluster(&self, actor: Actor<'_>, cluster_id: &str) -> ServiceResult<Job> {
        actor.require_admin()?;
        let cluster = self.cluster_by_id(cluster_id).await?;
        let hosts = self
            .host_page(&HostQuery {
                cluster: Some(cluster.id.clone()),
                ..HostQuery::default()
            })
            .await?
            .items;
        let user = actor.name();
        let (job_id, correlation_id) = self
            .new_job(
                JobKind::ClusterUpgradeCheck,
                None,
                Some(&cluster.id),
                Some(&user),
            )
            .await?;
        let service = self.clone();
        let id = job_id.clone();
        tokio::spawn(async move {
            let origin = Origin {
                user: Some(&user),
                correlation_id: &correlation_id,
                job_id: &id,
            };
            let (status, message) = match service.run_cluster_check(&hosts, &origin).await {
                Ok(summary) => summary,
                Err(e) => (JobStatus::Failed, e.to_string()),
            };
            if let Err(e) = service
                .store()
                .finish_job(&id, status, Some(&message))
                .await
            {
                tracing::error!(job = %id, error = %e, "cannot record the end of a cluster check");
            }
        });
        self.job_by_id(&job_id).await
    }

    /// Checks hosts as steps of another job (a cluster upgrade's "check first").
    pub(super) async fn check_hosts_for_run(
        &self,
        hosts: &[Host],
        job_id: &str,
        correlation_id: &str,
        user: Option<&str>,
    ) -> ServiceResult<()> {
        let origin = Origin {
            user,
            correlation_id,
            job_id,
        };
        self.run_cluster_check(hosts, &origin).await.map(|_| ())
    }

    async fn run_cluster_check(
        &self,
        hosts: &[Host],
        origin: &Origin<'_>,
    ) -> ServiceResult<(JobStatus, String)> {
        let mut to_check = Vec::new();
        for host in hosts {
            let skip = if !host.status.allows_upgrade() {
                Some((
                    "host_update_check_skipped",
                    format!(
                        "Check for available updates on host {} skipped: unsupported status {}.",
                        host.name,
                        host.status.label()
                    ),
                ))
            } else if !self.claim(host, origin.job_id) {
                Some((
                    "host_update_check_already_running",
                    format!(
                        "Check for available updates on host {} is already running.",
                        host.name
                    ),
                ))
            } else {
                None
            };
            match skip {
                Some((code, message)) => {
                    self.emit(
                        NewEvent::new(code, Severity::Warning, message)
                            .host(&host.id, &host.cluster.id)
                            .correlation(origin.correlation_id)
                            .user(origin.user),
                    )
                    .await?;
                }
                None => to_check.push(host),
            }
        }
        let total = to_check.len().max(1) as f64;
        let done = std::sync::atomic::AtomicUsize::new(0);
        let outcomes = futures::future::join_all(to_check.iter().map(|host| async {
            let outcome = self.check_one(host, origin).await;
            self.release(host);
            let finished = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let _ = self
                .store()
                .set_job_progress(origin.job_id, 100.0 * finished as f64 / total)
                .await;
            outcome
        }))
        .await;
        let failed = outcomes.iter().filter(|o| o.is_err()).count();
        let message = format!(
            "{} of {} hosts checked, {failed} failed, {} skipped.",
            outcomes.len() - failed,
            hosts.len(),
            hosts.len() - outcomes.len()
        );
        Ok((
            if failed > 0 {
                JobStatus::Failed
            } else {
                JobStatus::Succeeded
            },
            message,
        ))
    }

    /// The periodic checker: every tick, rereads `HostPackagesUpdateTimeInHours` (0 = off) and
    /// starts checks for the hosts not checked within it. Runs until the process ends.
    pub async fn run_periodic_checks(self) {
        let interrupted = self
            .store()
            .fail_interrupted_jobs(&[JobKind::HostUpgradeCheck, JobKind::ClusterUpgradeCheck])
            .await;
        if let Ok(n) = interrupted.as_ref() {
            if *n > 0 {
                tracing::info!(
                    jobs = n,
                    "ended update checks interrupted by the last shutdown"
                );
            }
        }
        loop {
            if let Err(error) = self.periodic_tick().await {
                tracing::warn!(error = %error, "periodic update check tick failed");
            }
            tokio::time::sleep(PERIODIC_TICK).await;
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
        let cutoff = rfc3339(OffsetDateTime::now_utc() - time::Duration::hours(hours));
        for id in self.store().hosts_due_for_check(&cutoff, parallel).await? {
            let host = self.host_by_id(&id).await?;
            if PERIODIC.contains(&host.status) && self.running_check(&host).is_none() {
                self.start_host_check_job(&host, None).await?;
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
