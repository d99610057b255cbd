#!/usr/bin/env python3
"""A day's work of an oVirt admin, with the official SDK (ovirtsdk4) against Uplift.

Usage: OVIRT_URL=https://uplift.example/ovirt-engine/api OVIRT_PASSWORD=... python3 tour.py
(OVIRT_CLUSTER names the cluster, "c" by default; OVIRT_VIEWER_PASSWORD, when set, also shows
that a read-only user may read but not act.)

Nothing here knows it talks to Uplift rather than to an oVirt engine: it is the SDK's own
calls, as scripts written for oVirt make them. server/tests/ovirt_sdk.rs runs it.
"""
import os
import sys
import time

import ovirtsdk4 as sdk
import ovirtsdk4.types as types

URL = os.environ["OVIRT_URL"]
PASSWORD = os.environ["OVIRT_PASSWORD"]
CLUSTER = os.environ.get("OVIRT_CLUSTER", "c")
TIMEOUT = 120


def say(*words):
    print(*words, flush=True)


def wait_for(what, check, timeout=TIMEOUT):
    """Polls check() every half second until it returns something true."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    sys.exit(f"gave up waiting for {what}")


def connect(user="admin@internal", password=PASSWORD):
    return sdk.Connection(url=URL, username=user, password=password, insecure=True)


connection = connect()
system = connection.system_service()
api = system.get()
version = api.product_info.version
say(f"connected to {api.product_info.name} {version.full_version}")

hosts_service = system.hosts_service()
events_service = system.events_service()
last_event = int(events_service.list(max=1)[0].id)

# Check every host of the cluster for updates, and wait for the checks' events (885).
cluster_hosts = hosts_service.list(search=f"cluster={CLUSTER}")
for host in cluster_hosts:
    hosts_service.host_service(host.id).upgrade_check()
wait_for(
    "the update checks",
    lambda: len(events_service.list(from_=last_event, search="type=885")) >= len(cluster_hosts),
)
with_updates = hosts_service.list(search=f"cluster={CLUSTER} and update_available=true")
say("hosts with updates:", ", ".join(sorted(h.name for h in with_updates)))
assert with_updates, "some host has updates"

# Upgrade the first of them (it runs VMs: they are migrated away first), and follow it.
host = sorted(with_updates, key=lambda h: h.name)[0]
host_service = hosts_service.host_service(host.id)
vms_service = system.vms_service()
running = vms_service.list(search=f"host={host.name} and status=up")
say(f"{host.name} runs {len(running)} VMs; upgrading it")
assert running, "the upgraded host runs VMs"
host_service.upgrade(reboot=True)
seen = []


def upgraded():
    now = host_service.get()
    if not seen or seen[-1] != now.status:
        seen.append(now.status)
    return now.status == types.HostStatus.UP and not now.update_available and len(seen) > 1


wait_for(f"{host.name} to be upgraded", upgraded)
say(f"{host.name} went through", " -> ".join(str(s.value) for s in seen))
assert types.HostStatus.MAINTENANCE in seen or types.HostStatus.INSTALLING in seen, seen

# Maintenance and back, on another host.
other = sorted((h for h in cluster_hosts if h.id != host.id), key=lambda h: h.name)[-1]
other_service = hosts_service.host_service(other.id)
other_service.deactivate()
wait_for(f"{other.name} in maintenance", lambda: other_service.get().status == types.HostStatus.MAINTENANCE)
other_service.activate()
wait_for(f"{other.name} up", lambda: other_service.get().status == types.HostStatus.UP)
say(f"{other.name} went to maintenance and came back")

# Migrate a VM running elsewhere to the upgraded host, named by name.
vm = next(
    v for v in vms_service.list(search=f"cluster={CLUSTER} and status=up") if v.host.id != host.id
)
source = hosts_service.host_service(vm.host.id).get().name
vms_service.vm_service(vm.id).migrate(host=types.Host(name=host.name))
wait_for(
    f"{vm.name} on {host.name}",
    lambda: (lambda v: v.host is not None and v.host.id == host.id and v.status == types.VmStatus.UP)(
        vms_service.vm_service(vm.id).get()
    ),
)
say(f"migrated {vm.name} from {source} to {host.name}")

# Stop another VM and start it again, then let the scheduler choose where it goes.
other_vm = next(
    v for v in vms_service.list(search=f"cluster={CLUSTER} and status=up") if v.id != vm.id
)
other_vm_service = vms_service.vm_service(other_vm.id)
other_vm_service.stop()
wait_for(f"{other_vm.name} down", lambda: other_vm_service.get().status == types.VmStatus.DOWN)
other_vm_service.start()
started = wait_for(
    f"{other_vm.name} up",
    lambda: (lambda v: v if v.status == types.VmStatus.UP else None)(other_vm_service.get()),
)
other_vm_service.migrate()
wait_for(
    f"{other_vm.name} moved",
    lambda: (lambda v: v.status == types.VmStatus.UP and v.host.id != started.host.id)(
        other_vm_service.get()
    ),
)
say(f"stopped, started and migrated {other_vm.name}")

# The jobs that did all this, and the steps of the upgrade.
jobs_service = system.jobs_service()
finished = jobs_service.list(search="status=finished")
upgrade_steps = None
for job in finished:
    steps = jobs_service.job_service(job.id).steps_service().list()
    if any(s.execution_host is not None and s.execution_host.id == host.id for s in steps):
        if any("reboot" in (s.description or "") for s in steps):
            upgrade_steps = (job, steps)
            break
assert upgrade_steps, "the upgrade's job and its steps"
job, steps = upgrade_steps
assert [s.number for s in steps] == list(range(1, len(steps) + 1))
last = jobs_service.job_service(job.id).steps_service().step_service(steps[-1].id).get()
assert last.status == types.StepStatus.FINISHED, last.status
say(f"{len(finished)} finished jobs; the upgrade's has {len(steps)} steps, the last: {last.description}")

# The cluster's scheduling policy: to cluster maintenance and back.
clusters_service = system.clusters_service()
cluster = clusters_service.list(search=f"name={CLUSTER}")[0]
cluster_service = clusters_service.cluster_service(cluster.id)
original = connection.follow_link(cluster.scheduling_policy)
policies = system.scheduling_policies_service().list()
maintenance = next(p for p in policies if p.name == "cluster_maintenance")
cluster_service.update(types.Cluster(scheduling_policy=types.SchedulingPolicy(id=maintenance.id)))
assert cluster_service.get().scheduling_policy.id == maintenance.id
cluster_service.update(types.Cluster(scheduling_policy=types.SchedulingPolicy(name=original.name)))
assert cluster_service.get().scheduling_policy.id == original.id
say(f"cluster {cluster.name}: {original.name} -> {maintenance.name} -> {original.name}")

# What happened since the first event read, newest first.
since = events_service.list(from_=last_event)
assert all(int(e.id) > last_event for e in since)
finished = [e for e in since if e.code == 842 and host.name in e.description]
assert finished, "the upgrade's event (842) is there"
say(f"{len(since)} events since {last_event}; the upgrade's: {finished[0].description}")

connection.close()

# A wrong password is the SDK's AuthError.
try:
    connect(password="not-the-password").system_service().get()
    sys.exit("a wrong password was accepted")
except sdk.AuthError as error:
    say("a wrong password:", error)

# A viewer reads, and gets a fault when acting.
viewer_password = os.environ.get("OVIRT_VIEWER_PASSWORD")
if viewer_password:
    viewer = connect("v@internal", viewer_password)
    hosts = viewer.system_service().hosts_service()
    assert hosts.list(search=f"name={host.name}")
    try:
        hosts.host_service(host.id).deactivate()
        sys.exit("a viewer put a host into maintenance")
    except sdk.Error as error:
        assert error.code == 403 and error.fault is not None, error
        say("a viewer acting:", error.fault.detail)
    viewer.close()
say("done")
