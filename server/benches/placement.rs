//! Placements per second in a 5,000-host cluster (issue 5): one VM placed among every host,
//! and a 100-VM host evacuated, under `evenly_distributed` and `in_cluster_upgrade` (through
//! the ordered host view) and `power_saving` (a scan of every host), with half the hosts
//! upgraded; and what building the view costs. The Kubernetes scheduler_perf floor for comparison is about 680 pods/s
//! at 5,000 nodes. Run: `cargo bench -p uplift --bench placement`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use app::api::{HostStatus, MigrationMode};
use uplift::domain::SchedulingPolicy;
use uplift::scheduler::{
    evacuate, place, Ask, ClusterRules, ClusterView, HostOs, HostView, VmView,
};

const HOSTS: usize = 5_000;
const EVACUATED_VMS: usize = 100;

/// A cluster like a real one mid-upgrade: every other host upgraded, a few in maintenance,
/// memory 256–1,024 GiB and 20–70% used, in a fixed pseudo-random pattern.
fn hosts() -> Vec<HostView> {
    let mut state: u64 = 7;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    (0..HOSTS)
        .map(|i| {
            let memory_mb = (256 + next() % 769) * 1024;
            HostView {
                id: format!("id-{i:05}"),
                name: format!("host-{i:05}"),
                status: if i % 50 == 49 {
                    HostStatus::Maintenance
                } else {
                    HostStatus::Up
                },
                os: HostOs::from(if i % 2 == 0 { "RHEL 8.9" } else { "RHEL 9.4" }),
                cpu_cores: 32 + (next() % 3) as u32 * 32,
                memory_mb,
                used_mb: memory_mb * (20 + next() % 51) / 100,
                ha_score: None,
            }
        })
        .collect()
}

fn vm(i: usize) -> VmView {
    VmView {
        id: format!("vm-{i}"),
        name: format!("vm-{i:03}"),
        memory_mb: (2 + (i as u64 % 15)) * 1024,
        cpus: 2 + (i as u32 % 7),
        migration: MigrationMode::Migratable,
        highly_available: false,
        hosted_engine: false,
    }
}

fn rules(policy: SchedulingPolicy) -> ClusterRules {
    ClusterRules {
        policy,
        memory_headroom_percent: 10,
    }
}

fn placement(c: &mut Criterion) {
    let one = vm(1);
    let mut group = c.benchmark_group("place one VM among 5,000 hosts");
    group.throughput(Throughput::Elements(1));
    for policy in [
        SchedulingPolicy::EvenlyDistributed,
        SchedulingPolicy::InClusterUpgrade,
        SchedulingPolicy::PowerSaving,
    ] {
        let world = ClusterView::new(hosts(), rules(policy));
        group.bench_function(policy.as_str(), |b| {
            b.iter(|| {
                let ask = Ask::new(&one, Some(0), &world);
                std::hint::black_box(place(&ask))
            })
        });
    }
    group.finish();

    let views = hosts();
    c.bench_function("build the view of a 5,000-host cluster", |b| {
        b.iter_batched(
            || views.clone(),
            |views| ClusterView::new(views, rules(SchedulingPolicy::InClusterUpgrade)),
            BatchSize::LargeInput,
        )
    });

    let vms: Vec<VmView> = (0..EVACUATED_VMS).map(vm).collect();
    let mut group = c.benchmark_group("evacuate a 100-VM host in a 5,000-host cluster");
    group.throughput(Throughput::Elements(EVACUATED_VMS as u64));
    group.sample_size(20);
    for policy in [
        SchedulingPolicy::EvenlyDistributed,
        SchedulingPolicy::InClusterUpgrade,
    ] {
        let world = ClusterView::new(hosts(), rules(policy));
        group.bench_function(policy.as_str(), |b| {
            b.iter_batched_ref(
                || world.clone(),
                |world| {
                    let moves = evacuate(0, &vms, world).expect("the cluster has room");
                    std::hint::black_box(moves)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, placement);
criterion_main!(benches);
