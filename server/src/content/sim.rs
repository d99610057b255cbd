//! The simulator as a content provider: the errata of the fleet file (`[[erratum]]`), offered
//! to the simulated hosts that run an older version of one of their packages. Its install
//! tasks are rows (`sim_content_tasks`) that end when their simulated time is up, when asked
//! about: a task outlives a server restart as a Katello task outlives Uplift's.
//!
//! Simulated misbehaviour, per host (`fail` in the fleet file): `no_agent` (the host cannot
//! install content: no katello-agent), `errata` (the install task fails).

use std::time::Duration;

use app::api::Erratum;
use time::OffsetDateTime;

use super::{ContentHost, ContentProvider, ProviderError, ProviderResult, TaskState};
use crate::domain::errata::{applicable, package_set, unknown_ids};
use crate::store::{rfc3339, SimHost, Store, StoreError};

pub struct SimProvider {
    store: Store,
}

fn store_error(error: StoreError) -> ProviderError {
    ProviderError::Unreachable(format!("simulator state: {error}"))
}

fn parse_time(text: &str) -> ProviderResult<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| ProviderError::Protocol(format!("task time {text:?}: {e}")))
}

impl SimProvider {
    pub fn new(store: Store) -> Self {
        SimProvider { store }
    }

    async fn sim_host(&self, id: &str) -> ProviderResult<(SimHost, String)> {
        let name = self
            .store
            .sim_content_host_name(id)
            .await
            .map_err(store_error)?;
        let host = self.store.sim_host(id).await.map_err(store_error)?;
        match (host, name) {
            (Some(host), Some(name)) => Ok((host, name)),
            _ => Err(ProviderError::NotFound(format!(
                "the simulator has no content host {id}"
            ))),
        }
    }

    async fn applicable(&self, host: &SimHost) -> ProviderResult<Vec<Erratum>> {
        let errata = self.store.sim_errata().await.map_err(store_error)?;
        Ok(applicable(&errata, &host.packages))
    }

    /// Ends a task whose time is up: its errata's packages go onto the host, unless the host
    /// is made to fail.
    async fn finish(&self, task: &crate::store::SimTaskRow) -> ProviderResult<TaskState> {
        let (host, name) = self.sim_host(&task.host_id).await?;
        if host.fail == "errata" {
            let words = format!(
                "Error: Transaction check error on {name}: the errata could not be applied (simulated: fail = \"errata\")"
            );
            self.store
                .end_sim_task(&task.id, Err(&words))
                .await
                .map_err(store_error)?;
            return Ok(TaskState::Failed(words));
        }
        let errata = self.store.sim_errata().await.map_err(store_error)?;
        let chosen = errata.iter().filter(|e| task.errata.contains(&e.id));
        let mut packages = host.packages.clone();
        let set = package_set(chosen, &host.packages);
        let count = set.len();
        packages.extend(set);
        let message = format!("{count} packages updated on {name}");
        self.store
            .end_sim_task(&task.id, Ok((&message, &packages)))
            .await
            .map_err(store_error)?;
        Ok(TaskState::Succeeded)
    }
}

#[async_trait::async_trait]
impl ContentProvider for SimProvider {
    async fn test(&self) -> ProviderResult<String> {
        let errata = self.store.sim_errata().await.map_err(store_error)?;
        Ok(format!(
            "The simulator answers; its fleet declares {} errata.",
            errata.len()
        ))
    }

    async fn find_host(&self, name: &str) -> ProviderResult<ContentHost> {
        let id = self
            .store
            .sim_content_host_id(name)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ProviderError::NotFound(format!("no content host is registered as {name}"))
            })?;
        self.content_host(&id).await
    }

    async fn content_host(&self, id: &str) -> ProviderResult<ContentHost> {
        let (host, name) = self.sim_host(id).await?;
        let cannot_install = (host.fail == "no_agent").then(|| {
            format!("{name} has no katello-agent and no remote execution (simulated: fail = \"no_agent\")")
        });
        Ok(ContentHost {
            id: id.to_string(),
            name,
            cannot_install,
        })
    }

    async fn errata(&self, content_host: &str) -> ProviderResult<Vec<Erratum>> {
        let (host, _) = self.sim_host(content_host).await?;
        self.applicable(&host).await
    }

    async fn install(
        &self,
        content_host: &str,
        errata: &[String],
        request: &str,
    ) -> ProviderResult<String> {
        let (host, name) = self.sim_host(content_host).await?;
        if host.fail == "no_agent" {
            return Err(ProviderError::Refused(format!(
                "{name} has no katello-agent and no remote execution (simulated: fail = \"no_agent\")"
            )));
        }
        let offered = self.applicable(&host).await?;
        let unknown = unknown_ids(errata, &offered);
        // A repeated request finds its task even once its errata are installed.
        if let Some(task) = self
            .store
            .sim_task_by_request(request)
            .await
            .map_err(store_error)?
        {
            return Ok(task);
        }
        if !unknown.is_empty() {
            return Err(ProviderError::Refused(format!(
                "errata not applicable to {name}: {}",
                unknown.join(", ")
            )));
        }
        let speed = self
            .store
            .sim_world()
            .await
            .map_err(store_error)?
            .map_or(1.0, |world| world.speed);
        let seconds = (host.upgrade_seconds / speed.max(f64::MIN_POSITIVE)).clamp(0.0, 3600.0);
        let ends_at = rfc3339(OffsetDateTime::now_utc() + Duration::from_secs_f64(seconds));
        let task = self
            .store
            .start_sim_task(request, content_host, errata, &ends_at)
            .await
            .map_err(store_error)?;
        Ok(task.id)
    }

    async fn task(&self, id: &str) -> ProviderResult<TaskState> {
        let task = self
            .store
            .sim_task(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ProviderError::NotFound(format!("the simulator has no task {id}")))?;
        match task.state.as_str() {
            "succeeded" => return Ok(TaskState::Succeeded),
            "failed" => return Ok(TaskState::Failed(task.result.unwrap_or_default())),
            _ => {}
        }
        let (start, end) = (parse_time(&task.created_at)?, parse_time(&task.ends_at)?);
        let now = OffsetDateTime::now_utc();
        if now >= end {
            return self.finish(&task).await;
        }
        let total = (end - start).as_seconds_f64().max(f64::MIN_POSITIVE);
        let percent = ((now - start).as_seconds_f64() / total * 100.0).clamp(0.0, 99.0);
        Ok(TaskState::Running { percent })
    }
}
