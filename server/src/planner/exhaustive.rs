//! The best plan of a small cluster, by trying every choice of hosts for every wave: how far
//! `auto` is from the best plan, for the benchmark and the tests. Not for the service: its
//! cost grows as 3^hosts.
//!
//! A shortest-path search (Dijkstra) over the sets of hosts already done, where a step is one
//! wave (any set of waiting hosts that can go together under the planner's rules: placement
//! by the scheduler, the allowance of VMs that move twice, `max_parallel`, hosted engine) and
//! its cost is the wave's predicted seconds. Each set keeps the cluster as its cheapest way
//! there left it, so placement within a wave is the scheduler's, not searched, and a plan
//! that reaches a set more slowly but better placed is not followed: the search may miss the
//! best plan (the benchmark shows when `auto` does better).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use super::{wave::Planning, Plan, PlanRequest, Wave};

/// The most candidates the search takes on (3^12 waves to try).
pub const MAX_EXHAUSTIVE_HOSTS: usize = 12;

/// One way to a set of done hosts, ordered by its seconds (then by fewer waves).
struct Path {
    seconds: f64,
    done: u32,
    planning: Planning,
    waves: Vec<Wave>,
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Path {}
impl PartialOrd for Path {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Path {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.seconds
            .total_cmp(&other.seconds)
            .then_with(|| self.waves.len().cmp(&other.waves.len()))
            .then_with(|| self.done.cmp(&other.done))
    }
}

/// The fastest plan, or `None` with more than [`MAX_EXHAUSTIVE_HOSTS`] candidates or when
/// some host can never go (a blocker).
pub fn best_plan(request: PlanRequest) -> Option<Plan> {
    let strategy = request.strategy;
    let start = Planning::new(request);
    let hosts: Vec<usize> = start.remaining().iter().map(|c| c.index).collect();
    let n = hosts.len();
    if n > MAX_EXHAUSTIVE_HOSTS {
        return None;
    }
    let all = (1_u32 << n) - 1;
    let mut settled = HashSet::new();
    let mut queue = BinaryHeap::new();
    queue.push(Reverse(Path {
        seconds: 0.0,
        done: 0,
        planning: start,
        waves: Vec::new(),
    }));
    while let Some(Reverse(path)) = queue.pop() {
        if path.done == all {
            return Some(path.planning.finish(strategy, path.waves));
        }
        if !settled.insert(path.done) {
            continue;
        }
        let left = all & !path.done;
        // Every non-empty subset of the hosts left.
        let mut wave = left;
        while wave != 0 {
            let members: Vec<usize> = (0..n)
                .filter(|bit| wave & (1 << bit) != 0)
                .map(|bit| hosts[bit])
                .collect();
            let mut planning = path.planning.clone();
            if let Some(next) = planning.take_wave(&members) {
                let mut waves = path.waves.clone();
                let seconds = path.seconds + next.seconds;
                waves.push(next);
                queue.push(Reverse(Path {
                    seconds,
                    done: path.done | wave,
                    planning,
                    waves,
                }));
            }
            wave = (wave - 1) & left;
        }
    }
    None
}
