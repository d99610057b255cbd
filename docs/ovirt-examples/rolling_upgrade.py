#!/usr/bin/env python3
"""A rolling upgrade of one cluster, the way oVirt's `ovirt.ovirt.cluster_upgrade` Ansible
role does it, with the SDK alone: set the cluster's scheduling policy to cluster maintenance,
upgrade each host that has updates one at a time (waiting until it is up again and its
"upgrade finished" event is there), and restore the policy whatever happens.

Usage: OVIRT_URL=https://uplift.example/ovirt-engine/api OVIRT_PASSWORD=... \
       OVIRT_CLUSTER=Default python3 rolling_upgrade.py
server/tests/ovirt_sdk.rs runs it against Uplift.
"""
import os
import sys
import time

import ovirtsdk4 as sdk
import ovirtsdk4.types as types

URL = os.environ["OVIRT_URL"]
CLUSTER = os.environ.get("OVIRT_CLUSTER", "Default")
TIMEOUT = int(os.environ.get("OVIRT_UPGRADE_TIMEOUT", "600"))
FAILED = (types.HostStatus.ERROR, types.HostStatus.INSTALL_FAILED, types.HostStatus.NON_OPERATIONAL)

connection = sdk.Connection(
    url=URL, username="admin@internal", password=os.environ["OVIRT_PASSWORD"], insecure=True
)
system = connection.system_service()
clusters_service = system.clusters_service()
hosts_service = system.hosts_service()
events_service = system.events_service()

cluster = clusters_service.list(search=f'name="{CLUSTER}"')[0]
cluster_service = clusters_service.cluster_service(cluster.id)
original_policy = connection.follow_link(cluster.scheduling_policy)
maintenance_policy = next(
    p for p in system.scheduling_policies_service().list() if p.name == "cluster_maintenance"
)


def upgrade(host):
    """Upgrades one host and waits as the role's ovirt_host state=upgraded does."""
    last_event = int(events_service.list(max=1)[0].id)
    host_service = hosts_service.host_service(host.id)
    host_service.upgrade(reboot=True)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        time.sleep(1)
        now = host_service.get()
        if now.status in FAILED:
            sys.exit(f"{host.name} is {now.status.value}")
        events = events_service.list(from_=last_event, search="type=842 or type=841 or type=888")
        mine = [e for e in events if host.name in e.description]
        if any(e.code == 841 for e in mine):
            sys.exit(f"the upgrade of {host.name} failed: {mine[0].description}")
        if now.status == types.HostStatus.UP and mine:
            print(f"{host.name}: {mine[0].description}", flush=True)
            return
    sys.exit(f"{host.name} was not upgraded within {TIMEOUT} s")


print(f"cluster {cluster.name}: policy {original_policy.name} -> cluster_maintenance", flush=True)
cluster_service.update(
    types.Cluster(name=cluster.name, scheduling_policy=types.SchedulingPolicy(id=maintenance_policy.id))
)
try:
    hosts = hosts_service.list(search=f"cluster={CLUSTER} update_available=true name=* status=up")
    print("to upgrade:", ", ".join(h.name for h in hosts) or "nothing", flush=True)
    for host in hosts:
        upgrade(host)
finally:
    cluster_service.update(
        types.Cluster(
            name=cluster.name, scheduling_policy=types.SchedulingPolicy(id=original_policy.id)
        )
    )
    print(f"cluster {cluster.name}: policy back to {original_policy.name}", flush=True)
    connection.close()
