use app::api::{
    AvailableUpdate, Cluster, Host, HostQuery, HostSort, HostStatus, HostType, HostedEngine,
    MemoryMb, MigrationMode, Ref, UpgradeProgress, Vm, VmQuery, VmStatus,
};
use sqlx::{any::AnyRow, Row};

use super::{corrupt, flag, json, ReadRow, Sql, Store, StoreResult, Window};

/// Hosts with their cluster and what their VMs use (kept on the host row by triggers,
/// migration 0019).
const HOST_SELECT: &str = "
    SELECT h.id, h.name, h.address, h.status, h.host_type, h.os, h.memory_mb,
           h.supported_cluster_levels, h.levels_after_upgrade,
           h.hosted_engine, h.updates_available, h.available_updates, h.last_update_check,
           c.id AS cluster_id, c.name AS cluster_name,
           h.vm_count, h.used_mb, CASE WHEN h.engine_vms > 0 THEN 1 ELSE 0 END AS runs_engine_vm
    FROM hosts h
    JOIN clusters c ON c.id = h.cluster_id";

const HOST_COUNT: &str = "SELECT COUNT(*) FROM hosts h";

fn host_from<R: ReadRow>(row: R) -> StoreResult<Host> {
    let status: String = row.get("status")?;
    let hosted_engine: Option<String> = row.get("hosted_engine")?;
    let levels: String = row.get("supported_cluster_levels")?;
    let levels_after: Option<String> = row.get("levels_after_upgrade")?;
    let host_type: String = row.get("host_type")?;
    let updates: String = row.get("available_updates")?;
    let memory_total: i64 = row.get("memory_mb")?;
    let memory_used: i64 = row.get("used_mb")?;
    let vm_count: i64 = row.get("vm_count")?;
    let runs_engine_vm = flag(&row, "runs_engine_vm")?;
    Ok(Host {
        id: row.get("id")?,
        name: row.get("name")?,
        address: row.get("address")?,
        cluster: Ref {
            id: row.get("cluster_id")?,
            name: row.get("cluster_name")?,
        },
        status: HostStatus::parse(&status).ok_or_else(|| corrupt("host status", status))?,
        host_type: HostType::parse(&host_type).ok_or_else(|| corrupt("host type", host_type))?,
        os: row.get("os")?,
        updates_available: flag(&row, "updates_available")?,
        available_updates: json::<Vec<AvailableUpdate>>("available updates", &updates)?,
        last_update_check: row.get("last_update_check")?,
        supported_cluster_levels: json("supported cluster levels", &levels)?,
        levels_after_upgrade: levels_after
            .map(|text| json::<Vec<String>>("levels after the upgrade", &text))
            .transpose()?
            .unwrap_or_default(),
        vm_count: u32::try_from(vm_count).unwrap_or(u32::MAX),
        memory_mb: MemoryMb {
            total: u64::try_from(memory_total).unwrap_or(0),
            used: u64::try_from(memory_used).unwrap_or(0),
        },
        hosted_engine: hosted_engine
            .map(|text| json::<HostedEngine>("hosted engine state", &text))
            .transpose()?
            .map(|he| HostedEngine {
                runs_engine_vm: runs_engine_vm && he.configured,
                ..he
            }),
    })
}

/// The WHERE clause of a hosts query, shared by the page and its count.
fn push_host_filters<'a>(sql: &mut Sql<'a>, query: &'a HostQuery) {
    sql.push(" WHERE 1 = 1");
    if let Some(cluster) = &query.cluster {
        sql.push(" AND h.cluster_id = ").bind(cluster);
    }
    if let Some(status) = query.status {
        sql.push(" AND h.status = ").bind(status.as_str());
    }
    if query.has_updates {
        sql.push(" AND h.updates_available = 1");
    }
    if let Some(search) = &query.search {
        sql.push(" AND instr(lower(h.name), lower(")
            .bind(search.as_str())
            .push(")) > 0");
    }
}

fn host_order(sort: HostSort) -> &'static str {
    match sort {
        HostSort::Name => "h.name",
        HostSort::Cluster => "c.name",
        HostSort::Status => "h.status",
        HostSort::Os => "h.os",
        HostSort::VmCount => "h.vm_count",
        HostSort::Memory => "h.used_mb",
    }
}

const VM_SELECT: &str = "
    SELECT v.id, v.name, v.status, v.memory_mb, v.cpus, v.migration, v.migrations,
           v.highly_available, v.cpu_pinning, v.numa_pinning, v.host_devices,
           h.id AS host_id, h.name AS host_name, c.id AS cluster_id, c.name AS cluster_name
    FROM vms v LEFT JOIN hosts h ON h.id = v.host_id LEFT JOIN clusters c ON c.id = v.cluster_id";

fn vm_from<R: ReadRow>(row: R) -> StoreResult<Vm> {
    let status: String = row.get("status")?;
    let migration: String = row.get("migration")?;
    let host_id: Option<String> = row.get("host_id")?;
    let host_name: Option<String> = row.get("host_name")?;
    let cluster_id: Option<String> = row.get("cluster_id")?;
    let cluster_name: Option<String> = row.get("cluster_name")?;
    let memory: i64 = row.get("memory_mb")?;
    let cpus: i64 = row.get("cpus")?;
    let migrations: i64 = row.get("migrations")?;
    Ok(Vm {
        id: row.get("id")?,
        name: row.get("name")?,
        status: VmStatus::parse(&status).ok_or_else(|| corrupt("VM status", status))?,
        host: host_id.zip(host_name).map(|(id, name)| Ref { id, name }),
        cluster: cluster_id
            .zip(cluster_name)
            .map(|(id, name)| Ref { id, name }),
        memory_mb: u64::try_from(memory).unwrap_or(0),
        cpus: u32::try_from(cpus).unwrap_or(u32::MAX),
        migration: MigrationMode::parse(&migration)
            .ok_or_else(|| corrupt("migration mode", migration))?,
        migrations: u32::try_from(migrations).unwrap_or(u32::MAX),
        highly_available: flag(&row, "highly_available")?,
        cpu_pinning: flag(&row, "cpu_pinning")?,
        numa_pinning: flag(&row, "numa_pinning")?,
        host_devices: flag(&row, "host_devices")?,
    })
}

fn push_vm_filters<'a>(sql: &mut Sql<'a>, query: &'a VmQuery) {
    sql.push(" WHERE 1 = 1");
    if let Some(host) = &query.host {
        sql.push(" AND v.host_id = ").bind(host);
    }
    if let Some(status) = query.status {
        sql.push(" AND v.status = ").bind(status.as_str());
    }
    if let Some(search) = &query.search {
        sql.push(" AND instr(lower(v.name), lower(")
            .bind(search.as_str())
            .push(")) > 0");
    }
}

const CLUSTER_SELECT: &str = "
    SELECT c.id, c.name, c.compatibility_version, c.scheduling_policy,
           COUNT(h.id) AS host_count, CAST(COALESCE(SUM(h.updates_available), 0) AS BIGINT) AS hosts_with_updates,
           r.id AS run_id, r.percent_complete AS run_percent
    FROM clusters c LEFT JOIN hosts h ON h.cluster_id = c.id
    LEFT JOIN jobs r ON r.cluster_id = c.id AND r.kind = 'cluster_upgrade' AND r.ended_at IS NULL";

fn cluster_from(row: AnyRow) -> StoreResult<Cluster> {
    let hosts: i64 = row.try_get("host_count")?;
    let with_updates: i64 = row.try_get("hosts_with_updates")?;
    let run_id: Option<String> = row.try_get("run_id")?;
    let run_percent: Option<f64> = row.try_get("run_percent")?;
    Ok(Cluster {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        compatibility_version: row.try_get("compatibility_version")?,
        scheduling_policy: row.try_get("scheduling_policy")?,
        host_count: u32::try_from(hosts).unwrap_or(u32::MAX),
        hosts_with_updates: u32::try_from(with_updates).unwrap_or(u32::MAX),
        supported_levels: None,
        security_errata: None,
        upgrade: run_id.map(|job_id| UpgradeProgress {
            job_id,
            percent_complete: run_percent.unwrap_or(0.0),
        }),
    })
}

/// Counts for the dashboard.
#[derive(Debug)]
pub struct InventoryCounts {
    pub clusters: i64,
    pub hosts: i64,
    pub hosts_with_updates: i64,
    pub vms: i64,
    pub vms_running: i64,
    pub hosts_by_status: Vec<(String, i64)>,
}

impl Store {
    /// One window of the hosts matching `query`, and how many match in all.
    pub async fn hosts(&self, query: &HostQuery, window: Window) -> StoreResult<(Vec<Host>, u64)> {
        let mut sql = Sql::new(HOST_SELECT);
        push_host_filters(&mut sql, query);
        let direction = if query.desc { "DESC" } else { "ASC" };
        let column = host_order(query.sort.unwrap_or(HostSort::Name));
        sql.push(&format!(
            " ORDER BY {column} {direction}, h.name ASC LIMIT "
        ))
        .bind(window.limit())
        .push(" OFFSET ")
        .bind(window.offset());
        let hosts = self.read_rows(sql, host_from, host_from).await?;
        let mut count = Sql::new(HOST_COUNT);
        push_host_filters(&mut count, query);
        Ok((hosts, self.read_count(count).await?))
    }

    pub async fn host(&self, id: &str) -> StoreResult<Option<Host>> {
        let select = format!("{HOST_SELECT} WHERE h.id = ");
        let mut sql = Sql::new(&select);
        sql.bind(id);
        Ok(self.read_rows(sql, host_from, host_from).await?.pop())
    }

    pub async fn clusters(&self) -> StoreResult<Vec<Cluster>> {
        sqlx::query(&format!(
            "{CLUSTER_SELECT} GROUP BY c.id, r.id, r.percent_complete ORDER BY c.name"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(cluster_from)
        .collect()
    }

    pub async fn cluster(&self, id: &str) -> StoreResult<Option<Cluster>> {
        sqlx::query(&format!(
            "{CLUSTER_SELECT} WHERE c.id = $1 GROUP BY c.id, r.id, r.percent_complete"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(cluster_from)
        .transpose()
    }

    pub async fn vms(&self, query: &VmQuery, window: Window) -> StoreResult<(Vec<Vm>, u64)> {
        let mut sql = Sql::new(VM_SELECT);
        push_vm_filters(&mut sql, query);
        sql.push(" ORDER BY v.name LIMIT ")
            .bind(window.limit())
            .push(" OFFSET ")
            .bind(window.offset());
        let vms = self.read_rows(sql, vm_from, vm_from).await?;
        let mut count = Sql::new("SELECT COUNT(*) FROM vms v");
        push_vm_filters(&mut count, query);
        Ok((vms, self.read_count(count).await?))
    }

    pub async fn vm(&self, id: &str) -> StoreResult<Option<Vm>> {
        let select = format!("{VM_SELECT} WHERE v.id = ");
        let mut sql = Sql::new(&select);
        sql.bind(id);
        Ok(self.read_rows(sql, vm_from, vm_from).await?.pop())
    }

    pub async fn inventory_counts(&self) -> StoreResult<InventoryCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM clusters) AS clusters,
                    (SELECT COUNT(*) FROM hosts) AS hosts,
                    (SELECT COUNT(*) FROM hosts WHERE updates_available = 1) AS hosts_with_updates,
                    (SELECT COUNT(*) FROM vms) AS vms,
                    (SELECT COUNT(*) FROM vms WHERE host_id IS NOT NULL) AS vms_running",
        )
        .fetch_one(&self.pool)
        .await?;
        let hosts_by_status = sqlx::query_as::<_, (String, i64)>(
            "SELECT status, COUNT(*) FROM hosts GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(InventoryCounts {
            clusters: row.try_get("clusters")?,
            hosts: row.try_get("hosts")?,
            hosts_with_updates: row.try_get("hosts_with_updates")?,
            vms: row.try_get("vms")?,
            vms_running: row.try_get("vms_running")?,
            hosts_by_status,
        })
    }
}
