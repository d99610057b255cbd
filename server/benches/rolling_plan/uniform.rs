//! The uniform cluster of issue 6: `auto` against `sequential` on 64 equal hosts at about
//! 70 % memory use, all on the same old OS (migrations per running VM, simulated wall time,
//! the lower bounds), the trade of the repeat allowance, and the planning time for 10,000
//! hosts and 200,000 VMs.

use std::time::Instant;

use app::api::{HostStatus, MigrationMode};
use uplift::domain::SchedulingPolicy;
use uplift::planner::{
    self, bounds, plan, Candidate, Plan, PlanRequest, RunningVm, Strategy, Timing,
};
use uplift::scheduler::{ClusterRules, ClusterView, HostOs, HostView, VmView};

const HEADROOM: u32 = 10;
const INSTALL: f64 = 240.0;
const REBOOT: f64 = 180.0;
const TIMING: Timing = Timing {
    migration_gbps: 10.0,
    max_migrations_per_host: 2,
    state_change_seconds: 1.0,
    reboot: true,
};

/// A fixed pseudo-random sequence, so every run plans the same cluster.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// `hosts` hosts of 512 GiB on RHEL 8.9, each filled with 4–32 GiB VMs to 60–80 % (70 % on
/// average), every host with updates to RHEL 9.4.
fn request(hosts: usize, vms_per_host: Option<usize>, strategy: Strategy) -> PlanRequest {
    let mut rng = Lcg(7);
    let mut views = Vec::with_capacity(hosts);
    let mut vms = Vec::new();
    for h in 0..hosts {
        let memory_mb = 512 * 1024;
        let target = memory_mb * (60 + rng.next(21)) / 100;
        let mut used = 0;
        let mut count = 0;
        loop {
            let size = match vms_per_host {
                Some(_) => memory_mb * 7 / 10 / 20,
                None => (4 + rng.next(29)) * 1024,
            };
            let full = match vms_per_host {
                Some(n) => count == n,
                None => used + size > target,
            };
            if full {
                break;
            }
            used += size;
            count += 1;
            vms.push(RunningVm {
                view: VmView {
                    id: format!("vm-{}", vms.len()),
                    name: format!("vm-{:06}", vms.len()),
                    memory_mb: size,
                    cpus: 2 + rng.next(7) as u32,
                    migration: MigrationMode::Migratable,
                    highly_available: false,
                    hosted_engine: false,
                },
                host: h,
            });
        }
        views.push(HostView {
            id: format!("id-{h}"),
            name: format!("host-{h:05}"),
            status: HostStatus::Up,
            os: HostOs::from("RHEL 8.9"),
            cpu_cores: 64,
            memory_mb,
            used_mb: used,
            ha_score: None,
        });
    }
    let rules = ClusterRules {
        policy: SchedulingPolicy::InClusterUpgrade,
        memory_headroom_percent: HEADROOM,
    };
    PlanRequest {
        cluster: ClusterView::new(views, rules),
        vms,
        candidates: (0..hosts)
            .map(|index| Candidate {
                index,
                os_after: HostOs::from("RHEL 9.4"),
                install_seconds: INSTALL,
                reboot_seconds: REBOOT,
            })
            .collect(),
        blockers: Vec::new(),
        strategy,
        max_parallel: hosts,
        stop_pinned_vms: false,
        timing: TIMING,
        repeat_allowance: None,
    }
}

fn row(label: &str, plan: &Plan, vms: usize) {
    println!(
        "| {label} | {} | {} | {:.3} | {:.0} | {:.1} |",
        plan.waves.len(),
        plan.migrations,
        plan.migrations as f64 / vms as f64,
        plan.seconds,
        plan.gib
    );
}

pub fn run() {
    let hosts = 64;
    let sequential_request = request(hosts, None, Strategy::Sequential);
    let vms = sequential_request.vms.len();
    let (used, total) = sequential_request
        .cluster
        .hosts()
        .iter()
        .fold((0_u64, 0_u64), |(u, t), h| (u + h.used_mb, t + h.memory_mb));
    println!(
        "64 hosts, {vms} running VMs, {:.1} % of memory used, headroom {HEADROOM} %",
        100.0 * used as f64 / total as f64
    );
    let bound = bounds(&request(hosts, None, Strategy::Auto));
    let sequential = plan(sequential_request);
    let auto = plan(request(hosts, None, Strategy::Auto));
    assert!(sequential.blockers.is_empty() && auto.blockers.is_empty());
    println!("| strategy | waves | migrations | per running VM | simulated s | GiB moved |");
    println!("| --- | --- | --- | --- | --- | --- |");
    row("sequential", &sequential, vms);
    row("auto", &auto, vms);
    println!(
        "auto is {:.1}x faster than sequential; bounds: {} hosts down at most, {} waves and {:.0} s (memory only), {} waves (one move); auto at {:.2}x the one-move waves, {:.2}x the memory-only time",
        sequential.seconds / auto.seconds,
        bound.max_down,
        bound.memory_waves,
        bound.memory_seconds,
        bound.one_move_waves,
        auto.waves.len() as f64 / bound.one_move_waves as f64,
        auto.seconds / bound.memory_seconds
    );

    // The trade `auto` makes: VMs allowed to move twice against waves and time.
    println!("| VMs allowed to move twice | waves | per running VM | simulated s | faster than sequential |");
    println!("| --- | --- | --- | --- | --- |");
    for (label, allowance) in [
        ("none", 0),
        ("1 in 40", vms / 40),
        ("1 in 20 (default)", planner::repeat_allowance(vms)),
        ("1 in 10", vms / 10),
        ("any number", usize::MAX),
    ] {
        let mut req = request(hosts, None, Strategy::Auto);
        req.repeat_allowance = Some(allowance);
        let p = plan(req);
        println!(
            "| {label} | {} | {:.3} | {:.0} | {:.1}x |",
            p.waves.len(),
            p.migrations as f64 / vms as f64,
            p.seconds,
            sequential.seconds / p.seconds
        );
    }

    let big = request(10_000, Some(20), Strategy::Auto);
    let vms = big.vms.len();
    let started = Instant::now();
    let planned = plan(big);
    println!(
        "planning 10,000 hosts / {vms} VMs (auto): {:.2} s, {} waves, {} migrations",
        started.elapsed().as_secs_f64(),
        planned.waves.len(),
        planned.migrations
    );
}
