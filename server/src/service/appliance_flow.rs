//! The appliance upgrade and its rollback as workflows (seed 003; docs/workflows.md). The
//! upgrade runs in the seed's order; every step that changes the engine's world has an undo,
//! so a failure before the backup disk is registered unwinds: the new engine VM stopped, the
//! engine disk copied back from the backup disk, the old engine booted, the backup disk
//! removed. The job says so. A repeated step finds its work done (the driver's promise).

use app::api::{JobStatus, Severity, VmAction};

use super::appliance::{RollbackParams, UpgradeParams};
use super::jobs::{job_params, JobEnd};
use super::Service;
use crate::store::{JobRow, NewEvent};
use crate::workflow::{Flow, Step, StepError, StepResult};

impl Service {
    /// The engine VM's id, and the host it runs on now (as the hypervisors say).
    async fn engine_vm(&self) -> StepResult<(crate::store::PlacedVm, Option<String>)> {
        let id = self
            .store()
            .engine_vm_ids()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StepError::Refused("the datacenter has no engine VM".into()))?;
        let vm = self
            .store()
            .placed_vm(&id)
            .await?
            .ok_or_else(|| StepError::Refused("the engine VM went away".into()))?;
        let on = self.driver().vm_host(&vm.view).await?;
        Ok((vm, on))
    }

    /// Stops the engine VM wherever it runs (nothing when it is down).
    async fn stop_engine_vm(&self) -> StepResult<()> {
        let (vm, on) = self.engine_vm().await?;
        if let Some(host) = on {
            self.driver()
                .power_vm(&vm.view, &host, VmAction::Stop)
                .await?;
        }
        self.refresh_agents().await?;
        Ok(())
    }

    /// Starts the engine VM on `host` (nothing when it runs there).
    async fn start_engine_vm(&self, host: &str) -> StepResult<()> {
        let (vm, _) = self.engine_vm().await?;
        self.driver()
            .power_vm(&vm.view, host, VmAction::Start)
            .await?;
        self.refresh_agents().await?;
        Ok(())
    }

    pub(super) async fn appliance_upgrade_flow(
        &self,
        flow: &Flow,
        row: &JobRow,
    ) -> StepResult<JobEnd> {
        let params = job_params::<UpgradeParams>(row)?;
        let outcome = self.appliance_upgrade_steps(flow, &params).await;
        let end = match outcome {
            Ok(name) => JobEnd::succeeded(format!(
                "The engine VM runs appliance {} ({}); the old engine disk is kept as backup disk {name}. Leave global HA maintenance when the engine looks right: uplift hosted-engine set-maintenance --mode none.",
                params.image.version, params.image.os
            )),
            Err(error) => {
                let undone = flow.unwind().await;
                let back = match &undone {
                    Ok(()) => "it was rolled back: the old engine runs again from its disk".to_string(),
                    Err(e) => format!("rolling it back failed too ({e}); the engine VM may be down: use rollback-upgrade"),
                };
                JobEnd::failed(format!("The appliance upgrade failed: {error}; {back}."))
            }
        };
        let code = match end.status {
            JobStatus::Succeeded => "hosted_engine_upgraded",
            _ => "hosted_engine_upgrade_failed",
        };
        self.announce_appliance_end(flow, row, code, &end).await?;
        Ok(end)
    }

    /// The last step of both flows: the end as an event (once), and the engine version
    /// refreshed (the update dialog compares with the engine VM's).
    async fn announce_appliance_end(
        &self,
        flow: &Flow,
        row: &JobRow,
        code: &'static str,
        end: &JobEnd,
    ) -> StepResult<()> {
        let severity = if end.status == JobStatus::Succeeded {
            Severity::Normal
        } else {
            Severity::Error
        };
        flow.step(Step::once("announce end"), || async {
            self.emit(
                NewEvent::new(code, severity, end.message.clone())
                    .correlation(&row.correlation_id)
                    .user(row.user.as_deref())
                    .once(&row.id, "end"),
            )
            .await?;
            self.refresh_engine_version().await?;
            Ok(())
        })
        .await
    }

    /// The forward path; returns the backup disk's registered name.
    async fn appliance_upgrade_steps(&self, flow: &Flow, p: &UpgradeParams) -> StepResult<String> {
        let image = &p.image;
        flow.step(Step::once("preflight"), || async {
            let lines = self.preflight_for_job(p).await?;
            let failed: Vec<String> = lines
                .iter()
                .filter(|l| !l.passed)
                .map(|l| l.message.clone())
                .collect();
            if failed.is_empty() {
                Ok(lines
                    .iter()
                    .map(|l| l.message.clone())
                    .collect::<Vec<_>>()
                    .join("\n"))
            } else {
                Err(StepError::Refused(failed.join(" ")))
            }
        })
        .await?;
        let me = self.clone();
        let disk = p.disk_id.clone();
        flow.step_with_undo(
            Step::once("create the backup disk"),
            || async {
                let sink = flow.progress_sink();
                let progress = move |percent: f64| {
                    let sink = sink.clone();
                    // Creating the disk is the first fifth of the upgrade.
                    tokio::spawn(async move { sink.set(percent / 5.0).await });
                };
                self.appliance()?
                    .create_backup_disk(&p.disk_id, image, &progress)
                    .await?;
                Ok("The engine VM backup disk is now ready".to_string())
            },
            move |_| {
                let (me, disk) = (me.clone(), disk.clone());
                async move {
                    me.appliance()?.delete_backup_disk(&disk).await?;
                    Ok(())
                }
            },
        )
        .await?;
        let me = self.clone();
        let host = p.host_id.clone();
        flow.step_with_undo(
            Step::once("shut down the engine VM"),
            || async {
                self.stop_engine_vm().await?;
                Ok("Shutting down the current engine VM".to_string())
            },
            move |_| {
                let (me, host) = (me.clone(), host.clone());
                async move { me.start_engine_vm(&host).await }
            },
        )
        .await?;
        flow.step(Step::once("copy the engine disk"), || async {
            self.appliance()?
                .copy_engine_disk(&p.disk_id, image)
                .await?;
            Ok("Creating a backup of the engine VM disk: successfully created".to_string())
        })
        .await?;
        // From here the engine disk is written over: undo copies the backup disk back, with
        // the engine VM stopped first (the new one may have booted).
        let me = self.clone();
        let disk = p.disk_id.clone();
        flow.step_with_undo(
            Step::once("guard the engine disk"),
            || async {
                Ok(format!(
                    "Backup disk {} holds the old engine disk",
                    p.disk_id
                ))
            },
            move |_| {
                let (me, disk) = (me.clone(), disk.clone());
                async move {
                    me.stop_engine_vm().await?;
                    me.appliance()?.restore_engine_disk(&disk).await?;
                    Ok(())
                }
            },
        )
        .await?;
        flow.step(Step::once("write the appliance"), || async {
            self.appliance()?.deploy_appliance(image).await?;
            Ok(format!(
                "Uploading appliance {} over the engine VM disk: done",
                image.version
            ))
        })
        .await?;
        flow.step(Step::once("inject the backup"), || async {
            self.appliance()?.inject_backup(image).await?;
            Ok("Backup successfully injected".to_string())
        })
        .await?;
        flow.step(Step::once("boot the engine VM"), || async {
            self.start_engine_vm(&p.host_id).await?;
            Ok(format!("The engine VM boots on host {}", p.host_name))
        })
        .await?;
        flow.step(Step::once("restore and set up"), || async {
            let description = self
                .store()
                .archive(&p.archive_id)
                .await?
                .map(|(d, _)| d)
                .unwrap_or_default();
            let lines = self
                .appliance()?
                .restore_and_setup(image, &description)
                .await?;
            Ok(lines.join("\n"))
        })
        .await?;
        flow.step(Step::once("health check"), || async {
            self.appliance()?.engine_health(image).await?;
            Ok(format!("Engine {} answers", image.version))
        })
        .await?;
        flow.commit();
        let name: String = flow
            .step(Step::once("register the backup disk"), || async {
                let name = format!(
                    "hosted-engine-backup-{}",
                    crate::store::rfc3339(self.clock().now())
                        .replace([':', '.'], "")
                        .replace('-', "")
                );
                self.appliance()?
                    .register_backup_disk(&p.disk_id, &name)
                    .await?;
                Ok(name)
            })
            .await?;
        Ok(name)
    }

    pub(super) async fn appliance_rollback_flow(
        &self,
        flow: &Flow,
        row: &JobRow,
    ) -> StepResult<JobEnd> {
        let params = job_params::<RollbackParams>(row)?;
        let outcome: StepResult<String> = async {
            flow.step(Step::once("check"), || async {
                let status = self.hosted_engine_status().await?;
                if !status.global_maintenance {
                    return Err(StepError::Refused(
                        "global HA maintenance is not enabled".into(),
                    ));
                }
                if let Some(host) = status.engine_vm_host {
                    return Err(StepError::Refused(format!(
                        "the engine VM runs on host {host}"
                    )));
                }
                Ok("The engine VM is down and global HA maintenance is enabled".to_string())
            })
            .await?;
            flow.step(Step::once("restore the engine disk"), || async {
                self.appliance()?
                    .restore_engine_disk(&params.disk_id)
                    .await?;
                Ok(format!(
                    "The engine disk holds backup disk {} again",
                    params.disk_name
                ))
            })
            .await?;
            let host: String = flow
                .step(Step::once("boot the engine VM"), || async {
                    let host = self.standby_for_engine().await?;
                    self.start_engine_vm(&host).await?;
                    Ok(host)
                })
                .await?;
            Ok(host)
        }
        .await;
        let end = match outcome {
            Ok(host) => JobEnd::succeeded(format!(
                "Rolled back to backup disk {}; the engine VM runs on host {}. Leave global HA maintenance when the engine looks right.",
                params.disk_name,
                self.host_by_id(&host).await.map(|h| h.name).unwrap_or(host)
            )),
            Err(error) => JobEnd::failed(format!("The rollback failed: {error}.")),
        };
        let code = match end.status {
            JobStatus::Succeeded => "hosted_engine_rolled_back",
            _ => "hosted_engine_rollback_failed",
        };
        self.announce_appliance_end(flow, row, code, &end).await?;
        Ok(end)
    }
}
