//! Lower bounds on any rolling plan of a request, so a benchmark can say how far a plan is from
//! the best possible, not only how much faster than `sequential` it is. Two bounds:
//!
//! - **memory only**: VMs may move any number of times. While a set of hosts is down, the
//!   hosts still up must hold every running VM within their usable memory, so at most
//!   `max_down` hosts are down at once (the ones with the least memory), and the hosts down
//!   together give up at most the spare memory (usable less used) between them, so the waves
//!   are at least the candidates' usable memory over the spare. Time: the hosts' down times
//!   add up to at least the sum of their own phases, shared by at most `max_down`
//!   at once, and no plan is shorter than its slowest host.
//! - **memory with the one-move rule**: a VM moves once, but for the allowance. During a
//!   wave, the VMs of every host done so far or in the wave sit on hosts that stay (not
//!   upgraded at all, or done before the wave) or, within the allowance, on waiting hosts. So
//!   the wave's own VMs fit at most in the free room of the hosts not upgraded, plus what
//!   the hosts done before gave back net (their usable memory less their own VMs; counted as
//!   the largest such), plus the allowance's largest VMs, plus one host's VMs (the planner
//!   lets a wave's first host exceed the allowance); and the wave's hosts carry at least as
//!   much as the lightest hosts. By induction, no plan has more hosts done after each wave
//!   than this count, hence a least number of waves.
//!
//! Both ignore packing (a VM is one piece), CPUs and OS rules: they are optimistic, so no plan
//! beats them. Only benchmarks and tests use them; the planner does not.

use app::api::{HostStatus, MigrationMode};

use super::{repeat_allowance, wave::host_seconds, PlanRequest};

/// What no plan of the request can beat.
#[derive(Clone, Debug, PartialEq)]
pub struct Bounds {
    /// The most hosts down at once (memory only).
    pub max_down: usize,
    /// Memory only: waves, and seconds.
    pub memory_waves: usize,
    pub memory_seconds: f64,
    /// Memory with the one-move rule: waves.
    pub one_move_waves: usize,
}

/// The bounds of `request` (every candidate counted: call it on a request without blockers).
pub fn bounds(request: &PlanRequest) -> Bounds {
    let hosts = request.cluster.hosts();
    let headroom = request.cluster.rules().memory_headroom_percent;
    let usable = |h: usize| hosts[h].usable_mb(headroom);
    // By host, the VMs that leave it (pinned ones are stopped in place).
    let mut sizes: Vec<Vec<u64>> = vec![Vec::new(); hosts.len()];
    for vm in &request.vms {
        if vm.view.migration != MigrationMode::Pinned {
            sizes[vm.host].push(vm.view.memory_mb);
        }
    }
    let moving_mb: Vec<u64> = sizes.iter().map(|s| s.iter().sum()).collect();
    let mut is_candidate = vec![false; hosts.len()];
    for c in &request.candidates {
        is_candidate[c.index] = true;
    }
    let mut vm_sizes: Vec<u64> = request
        .candidates
        .iter()
        .flat_map(|c| sizes[c.index].iter().copied())
        .collect();
    let up = |h: usize| hosts[h].status == HostStatus::Up;
    let n = request.candidates.len();
    let cap = request.strategy.wave_cap(request.max_parallel);

    // Memory only: the up hosts' usable memory must hold what runs on them.
    let spare: u64 = (0..hosts.len())
        .filter(|&h| up(h))
        .map(usable)
        .sum::<u64>()
        .saturating_sub(
            (0..hosts.len())
                .filter(|&h| up(h))
                .map(|h| moving_mb[h])
                .sum(),
        );
    let mut up_candidates: Vec<u64> = request
        .candidates
        .iter()
        .filter(|c| up(c.index))
        .map(|c| usable(c.index))
        .collect();
    up_candidates.sort_unstable();
    let mut max_down = n - up_candidates.len();
    let mut taken = 0;
    for room in up_candidates {
        taken += room;
        if taken > spare {
            break;
        }
        max_down += 1;
    }
    let max_down = max_down.clamp(1, cap);
    // And the hosts down in one wave give up at most `spare` of usable memory between them,
    // so the waves are at least all the candidates' usable memory over `spare`.
    let given_up: u64 = request
        .candidates
        .iter()
        .filter(|c| up(c.index))
        .map(|c| usable(c.index))
        .sum();
    let memory_waves = n
        .div_ceil(max_down)
        .max(usize::try_from(given_up.div_ceil(spare.max(1))).unwrap_or(usize::MAX));
    let seconds: Vec<f64> = request
        .candidates
        .iter()
        .map(|c| host_seconds(c, sizes[c.index].clone(), &request.timing))
        .collect();
    let memory_seconds = (seconds.iter().sum::<f64>() / max_down as f64)
        .max(seconds.iter().copied().fold(0.0, f64::max));

    // One move: S(k), the k lightest hosts' VMs; G(N), the N largest net returns of room
    // (a host's usable memory once upgraded, less its own VMs, which it gave away).
    let mut light: Vec<u64> = request
        .candidates
        .iter()
        .map(|c| moving_mb[c.index])
        .collect();
    light.sort_unstable();
    let mut gains: Vec<u64> = request
        .candidates
        .iter()
        .map(|c| match hosts[c.index].status {
            HostStatus::Maintenance => 0,
            _ => usable(c.index).saturating_sub(moving_mb[c.index]),
        })
        .collect();
    gains.sort_unstable_by(|a, b| b.cmp(a));
    let prefix = |values: &[u64], count: usize| values.iter().take(count).sum::<u64>();
    let stays: u64 = (0..hosts.len())
        .filter(|&h| up(h) && !is_candidate[h])
        .map(|h| usable(h).saturating_sub(hosts[h].used_mb))
        .sum();
    let allowance = request
        .repeat_allowance
        .unwrap_or_else(|| repeat_allowance(vm_sizes.len()));
    vm_sizes.sort_unstable_by(|a, b| b.cmp(a));
    // A wave's first host may send all its VMs to waiting hosts (the plan must start
    // somewhere): count the heaviest host's VMs on top of the allowance in every wave.
    let twice = prefix(&vm_sizes, allowance) + light.last().copied().unwrap_or(0);
    let (mut done, mut one_move_waves) = (0, 0);
    while done < n {
        let room = stays + prefix(&gains, done) + twice;
        let mut wave = 1;
        while done + wave < n && wave < max_down && prefix(&light, wave + 1) <= room {
            wave += 1;
        }
        done += wave;
        one_move_waves += 1;
    }
    Bounds {
        max_down,
        memory_waves,
        memory_seconds,
        one_move_waves: one_move_waves.max(memory_waves),
    }
}
