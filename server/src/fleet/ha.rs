//! The hosted-engine HA agents of the simulated datacenter, as a pure model (after
//! ovirt-hosted-engine-ha): each hosted-engine host's agent computes a score from its own
//! health, and together the agents keep the engine's VM running on a well-scoring host. The
//! `sim` driver feeds this model its state and carries out what it decides; nothing here does
//! I/O or knows about time.

use app::api::HostStatus;

/// A healthy host's score (ovirt-hosted-engine-ha's maximum).
pub const MAX_SCORE: u32 = 3400;

/// What a host loses while the engine does not see it Up (Non Operational, installing, …):
/// the agents then prefer another host for the engine VM.
pub const NOT_UP_PENALTY: u32 = 1600;

/// How much better another host must score before the agents move the engine VM there
/// (ovirt-hosted-engine-ha migrates only for a clear difference, not to chase small ones).
pub const MIGRATE_MARGIN: u32 = 800;

/// One hosted-engine host as its agent sees itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentHost {
    pub name: String,
    /// The agent service runs on the host.
    pub agent: bool,
    /// The host is powered and booted (not rebooting, not down).
    pub running: bool,
    /// Its score when healthy (the fleet's `score`, at most [`MAX_SCORE`]).
    pub base_score: u32,
    pub local_maintenance: bool,
    /// The host's status as the engine sees it.
    pub status: HostStatus,
}

impl AgentHost {
    /// The agent runs and reports (false while the host is down or rebooting).
    pub fn active(&self) -> bool {
        self.agent && self.running
    }

    /// 0 when not active or in local maintenance; lowered while the engine does not see the
    /// host Up (Preparing For Maintenance excepted: then the engine itself moves the VMs away,
    /// and the agents must not race it).
    pub fn score(&self) -> u32 {
        if !self.active() || self.local_maintenance {
            return 0;
        }
        let base = self.base_score.min(MAX_SCORE);
        match self.status {
            HostStatus::Up | HostStatus::PreparingForMaintenance => base,
            _ => base.saturating_sub(NOT_UP_PENALTY),
        }
    }
}

/// What the agents do about the engine VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentAction {
    /// The engine VM is down: start it on host `on` (an index of the hosts given).
    Start { on: usize },
    /// Move the engine VM live from host `from` to host `to`.
    Migrate { from: usize, to: usize },
}

/// The best host for the engine VM: the highest score above 0, ties to the name.
fn best(hosts: &[AgentHost], except: Option<usize>) -> Option<usize> {
    hosts
        .iter()
        .enumerate()
        .filter(|(i, h)| Some(*i) != except && h.score() > 0)
        .max_by(|(_, a), (_, b)| a.score().cmp(&b.score()).then_with(|| b.name.cmp(&a.name)))
        .map(|(i, _)| i)
}

/// What the agents decide, given where the engine VM runs (`None`: it is down). In global
/// maintenance they decide nothing. Outside it they start a down engine VM on the best host,
/// and move it off a host in local maintenance or without a score, or to a host that scores
/// [`MIGRATE_MARGIN`] better.
pub fn decide(
    hosts: &[AgentHost],
    engine_on: Option<usize>,
    global_maintenance: bool,
) -> Option<AgentAction> {
    if global_maintenance {
        return None;
    }
    let Some(from) = engine_on else {
        return best(hosts, None).map(|on| AgentAction::Start { on });
    };
    let here = hosts.get(from).map_or(0, AgentHost::score);
    let to = best(hosts, Some(from))?;
    let leave = here == 0 || hosts[to].score() >= here.saturating_add(MIGRATE_MARGIN);
    leave.then_some(AgentAction::Migrate { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> AgentHost {
        AgentHost {
            name: name.into(),
            agent: true,
            running: true,
            base_score: MAX_SCORE,
            local_maintenance: false,
            status: HostStatus::Up,
        }
    }

    #[test]
    fn scores_follow_the_agent_the_maintenance_and_the_status() {
        let up = host("a");
        assert_eq!((up.active(), up.score()), (true, 3400));
        let maintenance = AgentHost {
            local_maintenance: true,
            ..host("a")
        };
        assert_eq!((maintenance.active(), maintenance.score()), (true, 0));
        let rebooting = AgentHost {
            running: false,
            ..host("a")
        };
        assert_eq!((rebooting.active(), rebooting.score()), (false, 0));
        let stopped = AgentHost {
            agent: false,
            ..host("a")
        };
        assert!(!stopped.active());
        let sick = AgentHost {
            status: HostStatus::NonOperational,
            ..host("a")
        };
        assert_eq!(sick.score(), 1800);
        let preparing = AgentHost {
            status: HostStatus::PreparingForMaintenance,
            ..host("a")
        };
        assert_eq!(preparing.score(), 3400);
        let weak = AgentHost {
            base_score: 2000,
            ..host("a")
        };
        assert_eq!(weak.score(), 2000);
    }

    #[test]
    fn the_engine_vm_leaves_a_host_in_local_maintenance_for_the_best_one() {
        let mut hosts = vec![host("a"), host("b"), host("c")];
        hosts[2].base_score = 3000;
        assert_eq!(
            decide(&hosts, Some(0), false),
            None,
            "a healthy host keeps it"
        );
        hosts[0].local_maintenance = true;
        assert_eq!(
            decide(&hosts, Some(0), false),
            Some(AgentAction::Migrate { from: 0, to: 1 })
        );
    }

    #[test]
    fn a_clearly_better_host_draws_the_engine_vm_and_a_slightly_better_one_does_not() {
        let mut hosts = vec![host("a"), host("b")];
        hosts[0].status = HostStatus::NonOperational; // 1800
        assert_eq!(
            decide(&hosts, Some(0), false),
            Some(AgentAction::Migrate { from: 0, to: 1 })
        );
        hosts[0].status = HostStatus::Up;
        hosts[0].base_score = 3000; // 400 below b
        assert_eq!(decide(&hosts, Some(0), false), None);
    }

    #[test]
    fn a_down_engine_vm_starts_on_the_best_host_unless_in_global_maintenance() {
        let mut hosts = vec![host("a"), host("b")];
        hosts[0].agent = false;
        assert_eq!(
            decide(&hosts, None, false),
            Some(AgentAction::Start { on: 1 })
        );
        assert_eq!(decide(&hosts, None, true), None);
        hosts[0].local_maintenance = true;
        hosts[1].local_maintenance = true;
        assert_eq!(decide(&hosts, None, false), None, "no host with a score");
    }

    #[test]
    fn nothing_moves_in_global_maintenance() {
        let mut hosts = vec![host("a"), host("b")];
        hosts[0].local_maintenance = true;
        assert_eq!(decide(&hosts, Some(0), true), None);
        assert!(decide(&hosts, Some(0), false).is_some());
    }

    #[test]
    fn ties_go_to_the_first_name() {
        let hosts = vec![host("c"), host("b"), host("a")];
        assert_eq!(
            decide(&hosts, None, false),
            Some(AgentAction::Start { on: 2 })
        );
    }
}
