//! The `ssh` driver against real hosts (issue 18): network namespaces with their own Debian
//! root, a real OpenSSH server, apt and dpkg, made by `.ci/testhosts`. Uplift reaches them over
//! veth pairs exactly as it would reach a datacenter's hosts. The one stand-in is a host's
//! reboot: its sshd restarts and its boot id changes (the host has no kernel of its own).
//!
//! Needs root (namespaces, mounts); `.ci/test` runs as root and `.ci/install` installs
//! debootstrap and what the hosts need.

mod common;
#[path = "common/lab.rs"]
mod lab;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::api::{Event, Host, HostStatus, Job, JobStatus, Vm, VmStatus};
use common::*;
use lab::{Lab, Repo};
use serde_json::json;

/// Uplift's SSH key for a test: made by Uplift itself (`uplift host public-key` makes it in the
/// data dir on first use), so the hosts trust the key Uplift will use.
fn uplift_key(data_dir: &Path) -> (PathBuf, PathBuf) {
    let output = run(uplift(data_dir)
        .env("HOME", data_dir)
        .args(["host", "public-key"]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(line.starts_with("ssh-ed25519 "), "{line}");
    let key = data_dir.join("ssh/id_ed25519");
    let public = data_dir.join("ssh/id_ed25519.pub");
    assert_eq!(std::fs::read_to_string(&public).unwrap().trim(), line);
    (key, public)
}

struct Setup {
    lab: Lab,
    server: Server,
    _data: tempfile::TempDir,
}

async fn setup(hosts: &[(&str, Repo)], libvirt_uri: Option<&str>) -> Setup {
    let data = tempfile::tempdir().unwrap();
    let (key, public) = uplift_key(data.path());
    let lab = Lab::start(hosts, &public);
    let fleet = write_fleet(data.path(), "real.toml", &lab.fleet(&key, libvirt_uri));
    let server = Server::start(data.path(), &fleet).await;
    Setup {
        lab,
        server,
        _data: data,
    }
}

async fn host(server: &Server, name: &str) -> Host {
    let hosts: Vec<Host> = admin_get(server, "/api/hosts").await;
    hosts
        .into_iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

/// Waits (at most 30 s) until the host is in `status`.
async fn wait_status(server: &Server, name: &str, status: HostStatus) -> Host {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = host(server, name).await;
        if now.status == status {
            return now;
        }
        if Instant::now() >= deadline {
            let events = events_of(server, &now).await;
            panic!("{name} is {:?}, not {status:?}: {events:#?}", now.status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn events_of(server: &Server, host: &Host) -> Vec<Event> {
    admin_get(server, &format!("/api/events?host={}", host.id)).await
}

async fn job(server: &Server, path: &str, body: serde_json::Value) -> Job {
    let response = admin_post(server, path, body).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 202, "{path}: {text}");
    #[derive(serde::Deserialize)]
    struct Accepted {
        job: Job,
    }
    let accepted: Accepted = serde_json::from_str(&text).expect("202 {\"job\": …}");
    let id = accepted.job.id;
    wait_job(server, &id).await;
    admin_get(server, &format!("/api/jobs/{id}")).await
}

/// Runs an update check of the host; returns what it found: (name, current, available), sorted.
async fn checked_updates(server: &Server, name: &str) -> Vec<(String, String, String)> {
    let id = host(server, name).await.id;
    let check = job(server, &format!("/api/hosts/{id}/upgradecheck"), json!({})).await;
    assert_eq!(check.status, JobStatus::Succeeded, "{check:?}");
    let mut found: Vec<_> = host(server, name)
        .await
        .available_updates
        .into_iter()
        .map(|u| (u.name, u.current_version, u.available_version))
        .collect();
    found.sort();
    found
}

fn updates(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(n, c, a)| (n.to_string(), c.to_string(), a.to_string()))
        .collect()
}

#[tokio::test]
async fn a_check_finds_the_new_package_and_the_upgrade_installs_it_and_reboots() {
    let setup = setup(&[("kvm-01", Repo::Good)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    // Inventory comes from the host itself.
    let kvm = wait_status(server, "kvm-01", HostStatus::Up).await;
    assert_eq!(kvm.os, "Debian GNU/Linux 12 (bookworm)");
    assert!(kvm.memory_mb.total > 0);
    let answered = events_of(server, &kvm).await;
    assert!(
        answered
            .iter()
            .any(|e| e.code == "host_responding" && e.message.contains("cores")),
        "{answered:?}"
    );

    // The unmonitored package has an update too, and is not listed.
    assert_eq!(
        checked_updates(server, "kvm-01").await,
        updates(&[("vdsm", "1.0", "1.1"), ("vdsm-cli", "1.0", "1.1")])
    );

    // One connection serves the surveys (one a second) and the check.
    assert_eq!(
        lab.logins("kvm-01"),
        1,
        "one SSH connection per host, reused"
    );

    let boot_before = lab.boot_id("kvm-01");
    let upgrade = job(server, &format!("/api/hosts/{}/upgrade", kvm.id), json!({})).await;
    assert_eq!(
        upgrade.status,
        JobStatus::Succeeded,
        "{upgrade:?}\n{}",
        server.log()
    );
    assert_eq!(lab.installed("kvm-01", "vdsm"), "1.1");
    assert_eq!(lab.installed("kvm-01", "vdsm-cli"), "1.1");
    assert_eq!(
        lab.installed("kvm-01", "uplift-test-tool"),
        "1.0",
        "only monitored packages"
    );
    assert_ne!(lab.boot_id("kvm-01"), boot_before, "the host rebooted");
    assert_eq!(lab.reboots("kvm-01"), 1);
    let install = upgrade
        .steps
        .iter()
        .find(|s| s.phase == "install")
        .expect("an install step");
    let log = install.message.as_deref().unwrap_or_default();
    assert!(
        log.contains("Setting up vdsm (1.1)"),
        "apt's own words in the job: {log}"
    );
    let kvm = host(server, "kvm-01").await;
    assert_eq!(kvm.status, HostStatus::Up);
    assert!(!kvm.updates_available);
    // The reboot ended the first connection; the one made after it serves the next surveys.
    let after_reboot = lab.logins("kvm-01");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        lab.logins("kvm-01"),
        after_reboot,
        "surveys reuse the connection"
    );
}

#[tokio::test]
async fn a_failing_install_ends_install_failed_with_apts_words() {
    let setup = setup(&[("kvm-bad", Repo::Broken)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    let kvm = wait_status(server, "kvm-bad", HostStatus::Up).await;
    checked_updates(server, &kvm.name).await;
    let upgrade = job(server, &format!("/api/hosts/{}/upgrade", kvm.id), json!({})).await;
    assert_eq!(upgrade.status, JobStatus::Failed);
    let message = upgrade.message.unwrap_or_default();
    assert!(message.contains("exit code 100"), "{message}");
    assert!(
        message.contains("Sub-process /usr/bin/dpkg returned an error code (1)"),
        "{message}"
    );
    assert_eq!(
        host(server, "kvm-bad").await.status,
        HostStatus::InstallFailed
    );
    // dpkg unpacked 1.1 but could not configure it, as apt said.
    assert_eq!(lab.installed("kvm-bad", "vdsm"), "1.1 half-configured");
}

#[tokio::test]
async fn a_host_whose_sshd_stops_is_non_responsive_until_it_answers_again() {
    let setup = setup(&[("kvm-quiet", Repo::Good)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    wait_status(server, "kvm-quiet", HostStatus::Up).await;
    lab.stop_sshd("kvm-quiet");
    let kvm = wait_status(server, "kvm-quiet", HostStatus::NonResponsive).await;
    let events = events_of(server, &kvm).await;
    let silent = events
        .iter()
        .find(|e| e.code == "host_non_responsive")
        .expect("a non-responsive event");
    assert!(
        silent.message.contains("cannot connect to kvm-quiet"),
        "the reason is in the event: {}",
        silent.message
    );
    lab.start_sshd("kvm-quiet");
    wait_status(server, "kvm-quiet", HostStatus::Up).await;
}

#[tokio::test]
async fn a_changed_host_key_is_refused_until_an_admin_forgets_the_old_one() {
    let setup = setup(&[("kvm-moved", Repo::Good)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    wait_status(server, "kvm-moved", HostStatus::Up).await;
    lab.new_host_key("kvm-moved");
    let kvm = wait_status(server, "kvm-moved", HostStatus::NonResponsive).await;
    // The first silence may be sshd restarting with its new key; then the key is refused.
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let events = events_of(server, &kvm).await;
        if let Some(e) = events
            .into_iter()
            .find(|e| e.message.contains("has changed"))
        {
            break e;
        }
        assert!(Instant::now() < deadline, "no refusal of the changed key");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(refused.code, "host_non_responsive");
    assert!(
        refused.message.contains("forget-key"),
        "{}",
        refused.message
    );
    // Still refused a while later: Uplift does not give in.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        host(server, "kvm-moved").await.status,
        HostStatus::NonResponsive
    );

    let forgot = run(uplift(&server.data_dir).args(["host", "forget-key", "kvm-moved"]));
    assert!(
        forgot.status.success(),
        "{}",
        String::from_utf8_lossy(&forgot.stderr)
    );
    wait_status(server, "kvm-moved", HostStatus::Up).await;
    let events = events_of(server, &kvm).await;
    assert!(events
        .iter()
        .any(|e| e.code == "host_key_forgotten" && e.user.as_deref() == Some("cli")));
}

#[tokio::test]
async fn vms_are_read_from_the_hosts_libvirt() {
    // libvirt's own test driver stands in for a QEMU libvirtd (see docs/ssh.md): its default
    // domain "test" runs on the host.
    let setup = setup(&[("kvm-virt", Repo::Good)], Some("test:///default")).await;
    let server = &setup.server;
    wait_status(server, "kvm-virt", HostStatus::Up).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let vm = loop {
        let vms: Vec<Vm> = admin_get(server, "/api/vms").await;
        if let Some(vm) = vms.into_iter().find(|v| v.name == "test") {
            break vm;
        }
        assert!(Instant::now() < deadline, "no VM test:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(vm.status, VmStatus::Up);
    assert_eq!(vm.host.map(|h| h.name).as_deref(), Some("kvm-virt"));
    assert_eq!((vm.cpus, vm.memory_mb), (2, 8192));
}

#[tokio::test]
async fn a_rolling_upgrade_of_three_hosts_runs_through_ssh() {
    let hosts = [
        ("r-01", Repo::Good),
        ("r-02", Repo::Good),
        ("r-03", Repo::Good),
    ];
    let setup = setup(&hosts, None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    for (name, _) in hosts {
        wait_status(server, name, HostStatus::Up).await;
    }
    // This admin upgrades every package, not only the monitored ones.
    let all = run(uplift(&server.data_dir).args(["config", "set", "HostUpgradeInstalls=all"]));
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let cluster = host(server, "r-01").await.cluster.id;
    let check = job(
        server,
        &format!("/api/clusters/{cluster}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(check.status, JobStatus::Succeeded, "{check:?}");
    let run = job(
        server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({}),
    )
    .await;
    assert_eq!(
        run.status,
        JobStatus::Succeeded,
        "{run:?}\n{}",
        server.log()
    );
    for (name, _) in hosts {
        assert_eq!(lab.installed(name, "vdsm"), "1.1", "{name}");
        assert_eq!(lab.installed(name, "uplift-test-tool"), "1.1", "{name}");
        let now = host(server, name).await;
        let events = events_of(server, &now).await;
        assert_eq!(now.status, HostStatus::Up, "{name}: {events:#?}");
        assert!(!now.updates_available, "{name}");
    }
}

/// Waits (at most 30 s) until the inventory has VM `name` as `ready` wants it.
async fn wait_vm(server: &Server, name: &str, ready: impl Fn(&Vm) -> bool) -> Vm {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let vms: Vec<Vm> = admin_get(server, "/api/vms").await;
        if let Some(vm) = vms.into_iter().find(|v| v.name == name && ready(v)) {
            return vm;
        }
        assert!(
            Instant::now() < deadline,
            "VM {name} is not as expected:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn on(vm: &Vm, host: &str) -> bool {
    vm.host.as_ref().is_some_and(|h| h.name == host)
}

#[tokio::test]
async fn maintenance_live_migrates_a_real_guest_and_suspend_and_start_go_through_libvirt() {
    let setup = setup(&[("mig-a", Repo::Good), ("mig-b", Repo::Good)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    wait_status(server, "mig-a", HostStatus::Up).await;
    wait_status(server, "mig-b", HostStatus::Up).await;
    // A real QEMU guest (KVM where this machine has /dev/kvm), found by the survey.
    lab.tiny_vm("mig-a", "tiny");
    let vm = wait_vm(server, "tiny", |vm| {
        on(vm, "mig-a") && vm.status == VmStatus::Up
    })
    .await;
    assert_eq!((vm.cpus, vm.memory_mb), (1, 64));

    let a = host(server, "mig-a").await;
    let evacuate = job(
        server,
        &format!("/api/hosts/{}/deactivate", a.id),
        json!({}),
    )
    .await;
    assert_eq!(
        evacuate.status,
        JobStatus::Succeeded,
        "{evacuate:?}\n{}",
        server.log()
    );
    assert_eq!(host(server, "mig-a").await.status, HostStatus::Maintenance);
    // libvirt says so too: the guest runs on mig-b, and mig-a no longer defines it.
    assert_eq!(
        lab.virsh("mig-b", &["domstate", "--domain", "tiny"]),
        "running"
    );
    assert!(!lab
        .virsh("mig-a", &["list", "--all", "--name"])
        .contains("tiny"));
    let vm: Vm = admin_get(server, &format!("/api/vms/{}", vm.id)).await;
    assert!(on(&vm, "mig-b"), "{vm:?}\n{}", server.log());
    assert_eq!(vm.migrations, 1);

    // Suspend keeps the guest's memory on disk (virsh managedsave); start brings it back.
    let suspended = admin_post(server, &format!("/api/vms/{}/suspend", vm.id), json!({})).await;
    assert_eq!(
        suspended.status(),
        200,
        "{}",
        suspended.text().await.unwrap_or_default()
    );
    assert_eq!(
        lab.virsh("mig-b", &["domstate", "--domain", "tiny"]),
        "shut off"
    );
    let info = lab.virsh("mig-b", &["dominfo", "--domain", "tiny"]);
    assert!(info.contains("Managed save:   yes"), "{info}");
    let started = admin_post(server, &format!("/api/vms/{}/start", vm.id), json!({})).await;
    assert_eq!(
        started.status(),
        200,
        "{}",
        started.text().await.unwrap_or_default()
    );
    assert_eq!(
        lab.virsh("mig-b", &["domstate", "--domain", "tiny"]),
        "running"
    );
    let vm = wait_vm(server, "tiny", |vm| {
        on(vm, "mig-b") && vm.status == VmStatus::Up
    })
    .await;
    assert_eq!(vm.status, VmStatus::Up);
}

#[tokio::test]
async fn a_dnf_host_is_checked_and_upgraded_with_dnf() {
    let setup = setup(&[("el-01", Repo::DnfGood)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    let el = wait_status(server, "el-01", HostStatus::Up).await;
    assert_eq!(el.os, "Uplift dnf test host");
    assert_eq!(
        checked_updates(server, "el-01").await,
        updates(&[("vdsm", "1.0-1", "1.1-1"), ("vdsm-cli", "1.0-1", "1.1-1")])
    );
    let upgrade = job(server, &format!("/api/hosts/{}/upgrade", el.id), json!({})).await;
    assert_eq!(upgrade.status, JobStatus::Succeeded, "{upgrade:?}");
    assert_eq!(lab.installed("el-01", "vdsm"), "1.1");
    assert_eq!(
        lab.installed("el-01", "uplift-test-tool"),
        "1.0",
        "only monitored packages"
    );
    let install = upgrade.steps.iter().find(|s| s.phase == "install").unwrap();
    let log = install.message.as_deref().unwrap_or_default();
    assert!(
        log.contains("Upgraded:"),
        "dnf's own words in the job: {log}"
    );
    assert_eq!(host(server, "el-01").await.status, HostStatus::Up);

    // Reinstall (issue 19): in maintenance, dnf puts the monitored packages back as they are.
    let rpm_before = lab.installed("el-01", "vdsm");
    let maintenance = job(
        server,
        &format!("/api/hosts/{}/deactivate", el.id),
        json!({}),
    )
    .await;
    assert_eq!(maintenance.status, JobStatus::Succeeded, "{maintenance:?}");
    let reinstall = job(
        server,
        &format!("/api/hosts/{}/reinstall", el.id),
        json!({"activate": false}),
    )
    .await;
    assert_eq!(reinstall.status, JobStatus::Succeeded, "{reinstall:?}");
    assert_eq!(lab.installed("el-01", "vdsm"), rpm_before);
    assert_eq!(host(server, "el-01").await.status, HostStatus::Maintenance);
}

#[tokio::test]
async fn a_failing_dnf_install_ends_install_failed_with_dnfs_words() {
    let setup = setup(&[("el-bad", Repo::DnfBroken)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    let el = wait_status(server, "el-bad", HostStatus::Up).await;
    checked_updates(server, &el.name).await;
    let upgrade = job(server, &format!("/api/hosts/{}/upgrade", el.id), json!({})).await;
    assert_eq!(upgrade.status, JobStatus::Failed);
    let message = upgrade.message.unwrap_or_default();
    assert!(message.contains("exit code 1"), "{message}");
    assert!(message.contains("Error: Transaction failed"), "{message}");
    assert_eq!(
        host(server, "el-bad").await.status,
        HostStatus::InstallFailed
    );
    assert_eq!(lab.installed("el-bad", "vdsm"), "1.0");
}

#[tokio::test]
async fn a_kill_9_while_a_real_host_reboots_is_resumed_and_finishes() {
    let setup = setup(&[("kvm-crash", Repo::Good)], None).await;
    let (lab, server) = (&setup.lab, &setup.server);
    let kvm = wait_status(server, "kvm-crash", HostStatus::Up).await;
    checked_updates(server, &kvm.name).await;
    lab.set_reboot_seconds("kvm-crash", 4);
    let id = start_job(server, &format!("/api/hosts/{}/upgrade", kvm.id), json!({})).await;
    // Killed while the host is down: after the reboot was asked for, before it answered.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = host(server, "kvm-crash").await.status;
        if matches!(now, HostStatus::Reboot | HostStatus::NonResponsive) {
            break;
        }
        assert!(Instant::now() < deadline, "the host never rebooted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let boot_before = lab.boot_id("kvm-crash");
    let data_dir = server.data_dir.clone();
    let fleet = data_dir.join("real.toml");
    let Setup { lab, server, _data } = setup;
    server.kill();
    let server = Server::start(&data_dir, &fleet).await;
    wait_job(&server, &id).await;
    let done: Job = admin_get(&server, &format!("/api/jobs/{id}")).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let installs = done.steps.iter().filter(|s| s.phase == "install").count();
    assert_eq!(installs, 1, "the install is not repeated");
    assert_eq!(lab.installed("kvm-crash", "vdsm"), "1.1");
    // One reboot: the resumed step found the reboot under way and did not ask again.
    assert_ne!(lab.boot_id("kvm-crash"), boot_before);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(lab.reboots("kvm-crash"), 1);
    assert_eq!(host(&server, "kvm-crash").await.status, HostStatus::Up);
    drop(_data);
}
