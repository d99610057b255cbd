//! Rolling plans on real-shaped clusters (issue 16): clusters made by `uplift fleet generate`
//! (mixed OS versions, 256 and 512 GiB hosts, some already current, a few in maintenance or
//! non operational, hosted engine on the first three hosts), planned as the service plans
//! them, against `sequential` and against the lower bounds of `uplift::planner::bounds`.
//! Small clusters are also compared with the exhaustive search.

use app::api::{HostStatus, VmStatus};
use uplift::domain::SchedulingPolicy;
use uplift::fleet::generate::{generate, Shape};
use uplift::fleet::Fleet;
use uplift::planner::{
    best_plan, bounds, plan, Candidate, Plan, PlanRequest, RunningVm, Strategy, Timing,
};
use uplift::scheduler::{ClusterRules, ClusterView, HostOs, HostView, VmView};

/// The fleet file's first cluster as the service would plan it: the hosts with updates (an OS
/// or a package older than the repository's) in a status that allows an upgrade are the
/// candidates; pinned VMs are stopped, as an admin who wants the upgrade chooses.
pub fn request(fleet: &Fleet, strategy: Strategy) -> PlanRequest {
    let cluster = &fleet.clusters[0];
    let name = cluster.name.get_ref();
    let repo_os = fleet.repository.os.clone().unwrap_or_default();
    let specs: Vec<_> = fleet
        .hosts
        .iter()
        .filter(|h| h.cluster.get_ref() == name)
        .collect();
    let position = |host: &str| specs.iter().position(|h| h.name.get_ref() == host);
    let mut views: Vec<HostView> = specs
        .iter()
        .map(|h| HostView {
            id: h.name.get_ref().clone(),
            name: h.name.get_ref().clone(),
            status: h.status,
            os: HostOs::from(h.os.as_str()),
            cpu_cores: h.cpu_cores,
            memory_mb: h.memory_mb(),
            used_mb: 0,
            ha_score: h
                .hosted_engine
                .as_ref()
                .filter(|he| he.configured)
                .map(|he| {
                    if he.active && !he.local_maintenance {
                        he.score
                    } else {
                        0
                    }
                }),
        })
        .collect();
    let mut vms = Vec::new();
    for vm in &fleet.vms {
        let Some(host) = vm.host.as_ref().and_then(|h| position(h.get_ref())) else {
            continue;
        };
        if vm.status() != VmStatus::Up {
            continue;
        }
        views[host].used_mb += vm.memory_mb();
        vms.push(RunningVm {
            view: VmView {
                id: vm.name.get_ref().clone(),
                name: vm.name.get_ref().clone(),
                memory_mb: vm.memory_mb(),
                cpus: vm.cpus,
                migration: vm.migration,
                highly_available: vm.highly_available,
                hosted_engine: vm.hosted_engine,
            },
            host,
        });
    }
    let candidates = specs
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            let outdated = h.os != repo_os
                || h.packages.iter().any(|(package, version)| {
                    fleet.repository.packages.get(package) != Some(version)
                });
            outdated && h.status.allows_upgrade()
        })
        .map(|(index, h)| Candidate {
            index,
            os_after: HostOs::from(repo_os.as_str()),
            install_seconds: h.upgrade_seconds,
            reboot_seconds: h.reboot_seconds,
        })
        .collect();
    let rules = ClusterRules {
        policy: SchedulingPolicy::InClusterUpgrade,
        memory_headroom_percent: cluster.memory_headroom_percent(),
    };
    PlanRequest {
        cluster: ClusterView::new(views, rules),
        vms,
        candidates,
        blockers: Vec::new(),
        strategy,
        max_parallel: specs.len(),
        stop_pinned_vms: true,
        timing: Timing {
            migration_gbps: fleet.simulation.migration_gbps(),
            max_migrations_per_host: fleet.simulation.max_migrations_per_host(),
            state_change_seconds: 1.0,
            reboot: true,
        },
        repeat_allowance: None,
    }
}

fn fleet(hosts: usize, vms: usize, seed: u64, fill_percent: u32) -> Fleet {
    let text = generate(Shape {
        clusters: 1,
        hosts,
        vms,
        seed,
        fill_percent,
    });
    Fleet::parse("generated", &text).expect("a generated fleet loads")
}

/// Memory used on the hosts that are up, in percent.
fn load(request: &PlanRequest) -> f64 {
    let up = request
        .cluster
        .hosts()
        .iter()
        .filter(|h| h.status == HostStatus::Up);
    let (used, total) = up.fold((0, 0), |(u, t), h| (u + h.used_mb, t + h.memory_mb));
    100.0 * used as f64 / total as f64
}

/// One shape's figures.
pub struct Row {
    pub label: String,
    pub load: f64,
    pub speedup: f64,
    pub migration_ratio: f64,
    pub wave_ratio: f64,
    pub time_ratio: f64,
}

fn sizes(plan: &Plan) -> String {
    let sizes: Vec<String> = plan
        .waves
        .iter()
        .map(|w| w.hosts.len().to_string())
        .collect();
    sizes.join(",")
}

/// Plans one shape both ways and prints its row.
fn measure(hosts: usize, vms: usize, seed: u64, fill: u32) -> Row {
    let fleet = fleet(hosts, vms, seed, fill);
    let auto_request = request(&fleet, Strategy::Auto);
    let bound = bounds(&auto_request);
    let load = load(&auto_request);
    let candidates = auto_request.candidates.len();
    let sequential = plan(request(&fleet, Strategy::Sequential));
    let auto = plan(auto_request);
    assert!(auto.blockers.is_empty(), "{:?}", auto.blockers);
    assert!(sequential.blockers.is_empty(), "{:?}", sequential.blockers);
    let label = format!("--hosts {hosts} --vms {vms} --seed {seed} --fill {fill}");
    let row = Row {
        label: label.clone(),
        load,
        speedup: sequential.seconds / auto.seconds,
        migration_ratio: auto.migrations as f64 / sequential.migrations as f64,
        wave_ratio: auto.waves.len() as f64 / bound.one_move_waves as f64,
        time_ratio: auto.seconds / bound.memory_seconds,
    };
    println!(
        "| `{label}` | {candidates} | {load:.0} % | {} ({}) | {:.0} | {:.0} | {:.1}x | {} / {} = {:.3} | {} / {} / {} | {:.2} | {:.2} |",
        auto.waves.len(),
        sizes(&auto),
        auto.seconds,
        sequential.seconds,
        row.speedup,
        auto.migrations,
        sequential.migrations,
        row.migration_ratio,
        bound.max_down,
        bound.memory_waves,
        bound.one_move_waves,
        row.wave_ratio,
        row.time_ratio,
    );
    row
}

/// The suite of shapes; returns the rows for the summary.
pub fn suite() -> Vec<Row> {
    println!("| shape (`uplift fleet generate --clusters 1 ...`) | hosts to upgrade | load | auto waves (sizes) | auto s | sequential s | faster | migrations auto / sequential | bounds: most down / memory waves / one-move waves | waves / one-move bound | s / memory bound |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    [
        (64, 1300, 3, 68),
        (32, 1400, 21, 40),
        (48, 2000, 5, 50),
        (64, 2600, 17, 60),
        (96, 4000, 7, 65),
        (128, 5200, 11, 70),
        (128, 5200, 13, 80),
        (100, 4200, 29, 55),
    ]
    .into_iter()
    .map(|(hosts, vms, seed, fill)| measure(hosts, vms, seed, fill))
    .collect()
}

/// Small clusters: `auto` against the best plan found by trying every wave.
pub fn small() {
    println!(
        "| shape | hosts to upgrade | auto waves | auto s | best waves | best s | auto / best |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut worst: f64 = 1.0;
    for (hosts, vms, seed, fill) in [
        (8, 120, 1, 60),
        (8, 160, 2, 70),
        (10, 150, 3, 50),
        (10, 200, 4, 68),
        (10, 220, 5, 75),
        (9, 180, 6, 65),
    ] {
        let fleet = fleet(hosts, vms, seed, fill);
        let candidates = request(&fleet, Strategy::Auto).candidates.len();
        let auto = plan(request(&fleet, Strategy::Auto));
        let Some(best) = best_plan(request(&fleet, Strategy::Auto)) else {
            println!("| `--hosts {hosts} --seed {seed}` | {candidates} | no plan |");
            continue;
        };
        let ratio = auto.seconds / best.seconds;
        worst = worst.max(ratio);
        println!(
            "| `--hosts {hosts} --vms {vms} --seed {seed} --fill {fill}` | {candidates} | {} | {:.0} | {} | {:.0} | {ratio:.2} |",
            auto.waves.len(),
            auto.seconds,
            best.waves.len(),
            best.seconds
        );
    }
    println!("worst auto / best on small clusters: {worst:.2}");
}
