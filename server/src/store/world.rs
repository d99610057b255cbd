use std::collections::HashMap;

use crate::fleet::Fleet;

use super::{new_id, now_rfc3339, Store, StoreResult};

impl Store {
    /// Whether a simulated world was loaded before (then the database, not the file, is the
    /// truth).
    pub async fn has_world(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM sim_world) + (SELECT COUNT(*) FROM ssh_world)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Where the loaded world came from, if any.
    pub async fn world_source(&self) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar(
                "SELECT source FROM sim_world WHERE id = 1 UNION ALL SELECT source FROM ssh_world WHERE id = 1",
            )
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Writes a validated fleet into the database in one transaction: all of it or nothing.
    pub async fn load_fleet(&self, fleet: &Fleet, source: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let repository = serde_json::to_string(&fleet.repository).unwrap_or_else(|_| "{}".into());
        let errata: Vec<_> = fleet.errata.iter().map(|spec| spec.erratum()).collect();
        let errata = serde_json::to_string(&errata).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO sim_world (id, source, speed, seed, migration_gbps, max_migrations_per_host,
                                    engine_version, engine_available, repository, loaded_at, check_seconds, errata)
             VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(source)
        .bind(fleet.simulation.speed())
        .bind(i64::try_from(fleet.simulation.seed).unwrap_or(i64::MAX))
        .bind(fleet.simulation.migration_gbps())
        .bind(i64::from(fleet.simulation.max_migrations_per_host()))
        .bind(&fleet.engine.version)
        .bind(&fleet.engine.available_version)
        .bind(repository)
        .bind(now_rfc3339())
        .bind(fleet.simulation.check_seconds())
        .bind(errata)
        .execute(&mut *tx)
        .await?;

        let cluster_ids = insert_clusters(&mut tx, &fleet.clusters).await?;

        let mut host_ids = HashMap::new();
        let mut global_maintenance = false;
        let mut host_clusters = HashMap::new();
        for host in &fleet.hosts {
            let id = new_id();
            let he = host.hosted_engine.as_ref();
            global_maintenance |= he.is_some_and(|he| he.global_maintenance);
            let hosted_engine = host
                .hosted_engine
                .as_ref()
                .map(|he| serde_json::to_string(he).unwrap_or_default());
            sqlx::query(
                "INSERT INTO hosts (id, name, cluster_id, address, status, os, cpu_cores, memory_mb,
                                    supported_cluster_levels, hosted_engine, host_type)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&id)
            .bind(host.name.get_ref())
            .bind(&cluster_ids[host.cluster.get_ref().as_str()])
            .bind(host.address())
            .bind(host.status.as_str())
            .bind(&host.os)
            .bind(i64::from(host.cpu_cores))
            .bind(i64::try_from(host.memory_mb()).unwrap_or(i64::MAX))
            .bind(serde_json::to_string(&host.supported_cluster_levels).unwrap_or_default())
            .bind(hosted_engine)
            .bind(host.host_type.get_ref().as_str())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO sim_hosts (host_id, packages, upgrade_seconds, reboot_seconds, fail, os,
                                        ha_configured, ha_agent, ha_base_score, ha_local_maintenance, spm,
                                        image, reinstall_seconds)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&id)
            .bind(serde_json::to_string(&host.packages).unwrap_or_default())
            .bind(host.upgrade_seconds)
            .bind(host.reboot_seconds)
            .bind(host.fail.as_str())
            .bind(&host.os)
            .bind(i64::from(he.is_some_and(|he| he.configured)))
            .bind(i64::from(he.is_some_and(|he| he.active)))
            .bind(i64::from(he.map_or(3400, |he| he.score)))
            .bind(i64::from(he.is_some_and(|he| he.local_maintenance)))
            .bind(i64::from(*host.spm.get_ref()))
            .bind(&host.image)
            .bind(host.reinstall_seconds)
            .execute(&mut *tx)
            .await?;
            host_ids.insert(host.name.get_ref().as_str(), id);
            host_clusters.insert(
                host.name.get_ref().as_str(),
                host.cluster.get_ref().as_str(),
            );
        }

        for vm in &fleet.vms {
            let host_id = vm.host.as_ref().map(|h| &host_ids[h.get_ref().as_str()]);
            let cluster = vm
                .host
                .as_ref()
                .map(|h| host_clusters[h.get_ref().as_str()])
                .or(vm.cluster.as_ref().map(|c| c.get_ref().as_str()))
                .map(|name| &cluster_ids[name]);
            let vm_id = new_id();
            sqlx::query(
                "INSERT INTO vms (id, name, host_id, cluster_id, status, cpus, memory_mb, migration,
                                  cpu_pinning, numa_pinning, host_devices, highly_available,
                                  hosted_engine)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&vm_id)
            .bind(vm.name.get_ref())
            .bind(host_id)
            .bind(cluster)
            .bind(vm.status().as_str())
            .bind(i64::from(vm.cpus))
            .bind(i64::try_from(vm.memory_mb()).unwrap_or(i64::MAX))
            .bind(vm.migration.as_str())
            .bind(i64::from(vm.cpu_pinning))
            .bind(i64::from(vm.numa_pinning))
            .bind(i64::from(vm.host_devices))
            .bind(i64::from(vm.highly_available))
            .bind(i64::from(vm.hosted_engine))
            .execute(&mut *tx)
            .await?;
            // The simulated hypervisors' own record of the VM.
            sqlx::query("INSERT INTO sim_vms (vm_id, host_id, status) VALUES ($1, $2, $3)")
                .bind(&vm_id)
                .bind(host_id)
                .bind(vm.status().as_str())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(world) = &fleet.hosted_engine {
            let cluster = &cluster_ids[world.cluster.get_ref().as_str()];
            Store::load_appliance_world(&mut tx, world, cluster).await?;
        }
        sqlx::query("UPDATE sim_world SET ha_global_maintenance = $1 WHERE id = 1")
            .bind(i64::from(global_maintenance))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The fleet file's clusters, in the loading transaction; returns name -> id.
pub(super) async fn insert_clusters<'a>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    clusters: &'a [crate::fleet::ClusterSpec],
) -> StoreResult<HashMap<&'a str, String>> {
    let mut cluster_ids = HashMap::new();
    for cluster in clusters {
        let id = new_id();
        sqlx::query(
            "INSERT INTO clusters (id, name, compatibility_version, scheduling_policy, memory_headroom_percent)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(cluster.name.get_ref())
        .bind(cluster.compatibility_version.get_ref())
        .bind(cluster.scheduling_policy.as_str())
        .bind(i64::from(cluster.memory_headroom_percent()))
        .execute(&mut **tx)
        .await?;
        cluster_ids.insert(cluster.name.get_ref().as_str(), id);
    }
    Ok(cluster_ids)
}
