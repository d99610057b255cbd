//! The simulated datacenter's hosted-engine HA agents at work: what each host's agent reports,
//! HA maintenance set through it, and the agents' own loop that keeps the engine VM running
//! (the decisions are the pure `ha` model's). Their state lives in the database with the rest
//! of the simulated world, so it survives restarts.

use std::time::Duration;

use app::api::{HaMode, HostStatus, HostedEngine, VmAction, VmStatus};
use time::OffsetDateTime;

use super::driver::{Driver, DriverError};
use super::ha::{decide, AgentAction, AgentHost};
use super::sim::{simulate, store_error, SimDriver};
use crate::store::{rfc3339, SimAgent};

/// How often the agents look at the world, in simulated seconds (ovirt-hosted-engine-ha's
/// loop runs about every 10 s).
const AGENT_TICK_SECONDS: f64 = 10.0;
/// The shortest real pause between two looks, however fast the simulation runs.
const MIN_TICK: Duration = Duration::from_millis(100);

/// When a host that does not come back from its reboot is back: never.
pub(super) const NEVER: &str = "9999-12-31T00:00:00.000Z";

fn agent_host(agent: &SimAgent, now: &str) -> AgentHost {
    AgentHost {
        name: agent.name.clone(),
        agent: agent.agent,
        running: agent.down_until.as_deref().is_none_or(|until| until <= now),
        base_score: agent.base_score,
        local_maintenance: agent.local_maintenance,
        status: HostStatus::parse(&agent.status).unwrap_or(HostStatus::Down),
    }
}

impl SimDriver {
    /// The agents' loop: runs until the process ends.
    pub(super) async fn run_agents(&self) {
        loop {
            let pause = match self.agents_tick().await {
                Ok(pause) => pause,
                Err(error) => {
                    tracing::warn!(%error, "the simulated HA agents could not look at the world");
                    MIN_TICK * 10
                }
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// One look: starts or moves the engine VM as the agents decide. Returns the pause until
    /// the next look.
    async fn agents_tick(&self) -> Result<Duration, DriverError> {
        let Some(world) = self.store.sim_world().await.map_err(store_error)? else {
            return Ok(MIN_TICK * 10);
        };
        let pause =
            Duration::from_secs_f64(AGENT_TICK_SECONDS / world.speed.max(f64::MIN_POSITIVE))
                .max(MIN_TICK);
        let Some(engine) = self.store.sim_engine_vm().await.map_err(store_error)? else {
            return Ok(pause);
        };
        if self.is_migrating(&engine.vm_id) {
            return Ok(pause);
        }
        let agents = self.store.sim_agents().await.map_err(store_error)?;
        let now = rfc3339(OffsetDateTime::now_utc());
        let hosts: Vec<AgentHost> = agents.iter().map(|a| agent_host(a, &now)).collect();
        let running =
            engine.status == VmStatus::Up.as_str() || engine.status == VmStatus::Paused.as_str();
        let engine_on = engine
            .host_id
            .as_deref()
            .filter(|_| running)
            .and_then(|h| agents.iter().position(|a| a.host_id == h));
        if running && engine_on.is_none() {
            // The engine VM runs on a host without an agent: nothing the agents can act on.
            return Ok(pause);
        }
        let global = self
            .store
            .sim_global_maintenance()
            .await
            .map_err(store_error)?;
        let Some(action) = decide(&hosts, engine_on, global) else {
            return Ok(pause);
        };
        let Some(view) = self
            .store
            .placed_vm(&engine.vm_id)
            .await
            .map_err(store_error)?
        else {
            return Ok(pause);
        };
        match action {
            AgentAction::Start { on } => {
                tracing::info!(host = %agents[on].name, "simulated HA agents start the engine VM");
                self.power_vm(&view.view, &agents[on].host_id, VmAction::Start)
                    .await?;
            }
            AgentAction::Migrate { from, to } => {
                tracing::info!(from = %agents[from].name, to = %agents[to].name, "simulated HA agents move the engine VM");
                self.migrate_vm(&view.view, &agents[from].host_id, &agents[to].host_id)
                    .await?;
            }
        }
        Ok(pause)
    }

    /// What the host's agent reports, or `None` for a host without hosted engine.
    pub(super) async fn agent_state(
        &self,
        host_id: &str,
    ) -> Result<Option<HostedEngine>, DriverError> {
        let agents = self.store.sim_agents().await.map_err(store_error)?;
        let Some(agent) = agents.iter().find(|a| a.host_id == host_id) else {
            self.host(host_id).await?;
            return Ok(None);
        };
        let now = rfc3339(OffsetDateTime::now_utc());
        let host = agent_host(agent, &now);
        let engine = self.store.sim_engine_vm().await.map_err(store_error)?;
        let global = self
            .store
            .sim_global_maintenance()
            .await
            .map_err(store_error)?;
        Ok(Some(HostedEngine {
            configured: true,
            active: host.active(),
            score: host.score(),
            global_maintenance: global && host.active(),
            local_maintenance: agent.local_maintenance,
            runs_engine_vm: engine.is_some_and(|e| {
                e.host_id.as_deref() == Some(host_id) && e.status == VmStatus::Up.as_str()
            }),
        }))
    }

    /// HA maintenance through the host's agent; refused for a host without hosted engine or
    /// whose agent does not run.
    pub(super) async fn set_agent_maintenance(
        &self,
        host_id: &str,
        mode: HaMode,
        enabled: bool,
    ) -> Result<(), DriverError> {
        let state = self.agent_state(host_id).await?.ok_or_else(|| {
            DriverError::Failed("the host has no hosted-engine HA agent".to_string())
        })?;
        if !state.active {
            return Err(DriverError::Failed(
                "the host's hosted-engine HA agent does not run".to_string(),
            ));
        }
        let world = self.world().await?;
        simulate(&world, 1.0).await;
        match mode {
            HaMode::Local => self.store.set_sim_local_maintenance(host_id, enabled).await,
            HaMode::Global => self.store.set_sim_global_maintenance(enabled).await,
        }
        .map_err(store_error)
    }
}
