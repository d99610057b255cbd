//! The end of a rolling upgrade's run, whatever happened: the current wave undone if the run
//! failed, the run's hosts released, the level raised if asked, the cluster's policy back, one
//! event. Each part is a step, so a crash while ending ends the same way.

use app::api::{Host, HostQuery, HostStatus, JobStatus, Severity};

use super::super::jobs::JobEnd;
use super::super::Service;
use super::run::{RunEnd, RunParams};
use crate::store::{JobRow, NewEvent};
use crate::workflow::{Flow, Step, StepResult};

/// The policy a cluster gets when the one to restore cannot be known (oVirt's default).
const FALLBACK_POLICY: &str = "none";

impl Service {
    /// The end of a run, whatever happened: undo what the current wave began, raise the level
    /// if asked (and every host supports it), give the cluster its previous policy back (or
    /// the default one if it cannot be known), one event, the job's end.
    pub(super) async fn end_run(
        &self,
        flow: &Flow,
        row: &JobRow,
        cluster_id: &str,
        previous: Option<String>,
        params: Option<&RunParams>,
        outcome: StepResult<RunEnd>,
    ) -> JobEnd {
        if outcome.is_err() {
            if let Err(error) = flow.unwind().await {
                if !flow.is_fenced() {
                    tracing::error!(job = %row.id, %error, "a failed run could not undo its wave");
                }
            }
        }
        if flow.is_fenced() {
            // Another instance runs the job now and ends it; nothing more is written here.
            return JobEnd::failed("taken over by another instance");
        }
        let name = match self.cluster_by_id(cluster_id).await {
            Ok(cluster) => cluster.name,
            Err(_) => cluster_id.to_string(),
        };
        let (status, code, severity, mut message) = match &outcome {
            Ok(RunEnd::Done) => (
                JobStatus::Succeeded,
                "cluster_upgrade_finished",
                Severity::Normal,
                format!("Upgrade of cluster {name} finished."),
            ),
            Ok(RunEnd::Cancelled) => (
                JobStatus::Cancelled,
                "cluster_upgrade_cancelled",
                Severity::Warning,
                format!("Upgrade of cluster {name} was cancelled."),
            ),
            Err(reason) => (
                JobStatus::Failed,
                "cluster_upgrade_failed",
                Severity::Error,
                format!("Upgrade of cluster {name} failed: {reason}."),
            ),
        };
        let level = params.and_then(|p| p.options.target_compatibility_version.clone());
        if let (Ok(RunEnd::Done), Some(level)) = (&outcome, level) {
            let raised = flow
                .step(Step::once("raise level"), || {
                    self.raise_level(flow, row, cluster_id, &name, &level)
                })
                .await;
            match raised {
                Ok(said) => {
                    message.push(' ');
                    message.push_str(&said);
                }
                Err(error) => {
                    message.push_str(&format!(" The level could not be raised: {error}."))
                }
            }
        }
        // The run's own hosts, left preparing by a wave the run could not finish (its undo may
        // be lost with unreadable parameters), are given back: Up is what they were.
        let released = flow
            .step(Step::once("release hosts"), || async {
                let count = self
                    .store()
                    .release_prepared_hosts(cluster_id, HostStatus::Up)
                    .await?;
                Ok(format!("{count} hosts given back"))
            })
            .await;
        if let Err(error) = &released {
            message.push_str(&format!(
                " Hosts it prepared could not be given back: {error}."
            ));
        }
        let restored = flow
            .step(Step::once("restore policy"), || async {
                let policy = match &previous {
                    Some(policy) => policy.clone(),
                    None => {
                        self.store()
                            .reset_upgrade_policy(cluster_id, FALLBACK_POLICY)
                            .await?;
                        return Ok(format!(
                            "the policy before the run is unknown; the cluster has the {FALLBACK_POLICY} policy"
                        ));
                    }
                };
                self.store().set_cluster_policy(cluster_id, &policy).await?;
                Ok(format!("the cluster's policy is {policy} again"))
            })
            .await;
        if let Err(error) = &restored {
            message.push_str(&format!(
                " Its scheduling policy could not be restored: {error}."
            ));
        }
        let announced = flow
            .step(Step::once("announce end"), || async {
                self.emit(
                    self.run_event(row, code, severity)
                        .message(message.clone())
                        .once(flow.job_id(), "announce end"),
                )
                .await?;
                Ok(())
            })
            .await;
        if let Err(error) = announced {
            tracing::error!(job = %row.id, %error, "the end of a cluster upgrade could not be announced");
        }
        JobEnd { status, message }
    }

    /// Raises the cluster's level when every host supports it; says what happened.
    async fn raise_level(
        &self,
        flow: &Flow,
        row: &JobRow,
        cluster_id: &str,
        name: &str,
        level: &str,
    ) -> StepResult<String> {
        let hosts: Vec<Host> = self
            .host_page(&HostQuery {
                cluster: Some(cluster_id.to_string()),
                ..HostQuery::default()
            })
            .await?
            .items;
        let lacking: Vec<&str> = hosts
            .iter()
            .filter(|h| !h.supported_cluster_levels.iter().any(|l| l == level))
            .map(|h| h.name.as_str())
            .collect();
        let (code, severity, message) = if lacking.is_empty() {
            self.store().set_cluster_level(cluster_id, level).await?;
            (
                "cluster_level_changed",
                Severity::Normal,
                format!("Cluster {name} is now at compatibility level {level}."),
            )
        } else {
            (
                "cluster_level_not_raised",
                Severity::Warning,
                format!(
                    "The compatibility level stays: hosts {} do not support {level}.",
                    lacking.join(", ")
                ),
            )
        };
        self.emit(
            self.run_event(row, code, severity)
                .message(message.clone())
                .once(flow.job_id(), "raise level"),
        )
        .await?;
        Ok(message)
    }

    pub(super) fn run_event(
        &self,
        row: &JobRow,
        code: &'static str,
        severity: Severity,
    ) -> NewEvent {
        let mut event = NewEvent::new(code, severity, String::new())
            .correlation(&row.correlation_id)
            .user(row.user.as_deref());
        if let Some(cluster) = &row.cluster_id {
            event = event.cluster(cluster);
        }
        event
    }
}
