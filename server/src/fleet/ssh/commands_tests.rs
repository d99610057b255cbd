use super::*;
use crate::fleet::driver::VmFacts as Domain;

/// `FACTS` as a Debian 12 test host answered it (recorded from `.ci/testhosts`).
const DEBIAN_FACTS: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
--uplift-part--
2
--uplift-part--
MemTotal:       24684084 kB
--uplift-part--
258e0cc0-7600-4b49-9d9c-8be08f1daad5
--uplift-part--
virsh
"#;

#[test]
fn facts_of_a_debian_host() {
    let facts = parse_facts(DEBIAN_FACTS).unwrap();
    assert_eq!(facts.os, "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(facts.family, Some(Family::Apt));
    assert_eq!(facts.cpu_cores, 2);
    assert_eq!(facts.memory_mb, 24105);
    assert_eq!(facts.boot_id, "258e0cc0-7600-4b49-9d9c-8be08f1daad5");
    assert!(facts.has_virsh);
}

#[test]
fn families_from_id_and_id_like() {
    let release = |text: &str| family(&os_release_fields(text));
    assert_eq!(
        release("ID=rocky\nID_LIKE=\"rhel centos fedora\""),
        Some(Family::Dnf)
    );
    assert_eq!(
        release("ID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\""),
        Some(Family::Dnf)
    );
    assert_eq!(
        release("ID=centos\nID_LIKE=\"rhel fedora\""),
        Some(Family::Dnf)
    );
    assert_eq!(release("ID=fedora"), Some(Family::Dnf));
    assert_eq!(release("ID=ubuntu\nID_LIKE=debian"), Some(Family::Apt));
    assert_eq!(
        release("ID=linuxmint\nID_LIKE='ubuntu debian'"),
        Some(Family::Apt)
    );
    assert_eq!(release("ID=alpine"), None);
}

#[test]
fn unreadable_facts_say_what_is_wrong() {
    let broken = DEBIAN_FACTS.replace("MemTotal:       24684084 kB", "MemTotal: lots");
    let err = parse_facts(&broken).unwrap_err();
    assert!(err.0.contains("/proc/meminfo"), "{err}");
    assert!(parse_facts("just one part").is_err());
    let no_virsh = DEBIAN_FACTS.replace("virsh\n", "");
    assert!(!parse_facts(&no_virsh).unwrap().has_virsh);
}

#[test]
fn package_names_are_validated_before_any_command() {
    for good in [
        "vdsm",
        "vdsm-cli",
        "qemu-kvm",
        "libstdc++6",
        "python3.11",
        "g++",
    ] {
        assert!(package_name(good), "{good}");
    }
    for bad in [
        "",
        "-rf",
        "a b",
        "vdsm;reboot",
        "$(id)",
        "a'b",
        "vdsm\n",
        "*",
        ".hidden",
    ] {
        assert!(!package_name(bad), "{bad}");
    }
    let err = install_command(Family::Apt, &["vdsm".into(), "x;reboot".into()]).unwrap_err();
    assert!(err.0.contains("x;reboot"));
    let ok = install_command(Family::Dnf, &["vdsm".into(), "vdsm-cli".into()]).unwrap();
    assert!(ok.ends_with("dnf -y upgrade vdsm vdsm-cli"), "{ok}");
}

#[test]
fn other_arguments_are_quoted() {
    let command = domain_command("qemu:///system", DomainAction::Start, "web 01; reboot");
    assert!(
        command.ends_with("start --domain 'web 01; reboot'"),
        "{command}"
    );
    let command = migrate_command(
        "qemu:///system",
        "db'1",
        &destination_uri("root", "10.0.0.2", 22),
        "10.0.0.2",
    );
    assert!(command.contains("--domain 'db'\\''1'"), "{command}");
    assert!(
        command
            .ends_with("--desturi qemu+ssh://root@10.0.0.2:22/system --migrateuri tcp://10.0.0.2"),
        "{command}"
    );
    assert_eq!(
        destination_uri("root", "fd00::2", 2222),
        "qemu+ssh://root@[fd00::2]:2222/system"
    );
}

/// `apt-get -s -q dist-upgrade` on a Debian 12 test host (recorded), plus a line for a package
/// the upgrade would newly install.
const APT_SIMULATION: &str = "Reading package lists...
Building dependency tree...
Reading state information...
Calculating upgrade...
The following packages will be upgraded:
  uplift-test-tool vdsm vdsm-cli
3 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.
Inst uplift-test-tool [1.0] (1.1 localhost [all])
Inst vdsm [1.0] (1.1 localhost [all])
Inst vdsm-cli [1.0] (1.1 localhost [all])
Inst libnew1 (2.0-1 Debian:12.8/stable [amd64])
Conf uplift-test-tool (1.1 localhost [all])
Conf vdsm (1.1 localhost [all])
Conf vdsm-cli (1.1 localhost [all])
";

#[test]
fn apt_simulation_lists_upgrades_of_installed_packages() {
    let updates = parse_apt_simulation(APT_SIMULATION);
    let names: Vec<_> = updates.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["uplift-test-tool", "vdsm", "vdsm-cli"]);
    assert_eq!(updates[1].current_version, "1.0");
    assert_eq!(updates[1].available_version, "1.1");
    let epoch = parse_apt_simulation(
        "Inst qemu-system-x86 [1:7.2+dfsg-7+deb12u6] (1:7.2+dfsg-7+deb12u7 Debian-Security:12/stable-security [amd64])",
    );
    assert_eq!(epoch[0].current_version, "1:7.2+dfsg-7+deb12u6");
    assert_eq!(epoch[0].available_version, "1:7.2+dfsg-7+deb12u7");
}

/// `dnf -q check-update` (dnf 4.14) on a dnf test host, recorded, and `rpm -q` after it.
const DNF_RECORDED: &str = "
uplift-test-tool.noarch                    1.1-1                     uplift-test
vdsm.noarch                                1.1-1                     uplift-test
vdsm-cli.noarch                            1.1-1                     uplift-test
";
const RPM_RECORDED: &str = "vdsm 1.0-1\nvdsm-cli 1.0-1\npackage nope is not installed\n";

#[test]
fn dnf_check_update_as_a_test_host_answered() {
    let available = parse_dnf_check_update(DNF_RECORDED);
    assert_eq!(available.len(), 3);
    assert_eq!(available["vdsm-cli"], "1.1-1");
    let installed = parse_rpm_versions(RPM_RECORDED);
    assert_eq!(installed.len(), 2);
    assert_eq!(installed["vdsm"], "1.0-1");
}

/// The shape of `dnf -q check-update` on an EL 9 oVirt host, written after dnf 4's output
/// format (not recorded): a name too long for its column pushes the version and repository
/// onto the next line, epochs appear, and the "Obsoleting Packages" part follows the updates.
const DNF_CHECK_UPDATE: &str = "
NetworkManager.x86_64                      1:1.46.0-8.el9_4          baseos
kernel.x86_64                              5.14.0-427.20.1.el9_4     baseos
libvirt-daemon-driver-storage-iscsi-direct.x86_64
                                           10.0.0-6.3.el9_4          appstream
qemu-kvm.x86_64                            17:8.2.0-11.el9_4.1       appstream
vdsm.x86_64                                4.50.5.1-1.el9            ovirt-45-upstream
vdsm-client.noarch                         4.50.5.1-1.el9            ovirt-45-upstream
Obsoleting Packages
grub2-tools-efi.x86_64                     1:2.06-80.el9             baseos
    grub2-tools.x86_64                     1:2.06-77.el9             @baseos
";

#[test]
fn dnf_check_update_with_wrapped_lines_and_obsoletes() {
    let updates = parse_dnf_check_update(DNF_CHECK_UPDATE);
    assert_eq!(updates.len(), 6, "{updates:?}");
    assert_eq!(updates["NetworkManager"], "1.46.0-8.el9_4");
    assert_eq!(
        updates["libvirt-daemon-driver-storage-iscsi-direct"],
        "10.0.0-6.3.el9_4"
    );
    assert_eq!(updates["qemu-kvm"], "8.2.0-11.el9_4.1");
    assert_eq!(updates["vdsm-client"], "4.50.5.1-1.el9");
    assert!(!updates.contains_key("grub2-tools-efi"));
    assert!(parse_dnf_check_update("").is_empty());
}

#[test]
fn rpm_versions_skip_what_is_not_installed() {
    let versions = parse_rpm_versions(
        "vdsm 4.50.3.4-1.el9\nqemu-kvm 8.2.0-11.el9_4\npackage nope is not installed\n",
    );
    assert_eq!(versions.len(), 2);
    assert_eq!(versions["vdsm"], "4.50.3.4-1.el9");
    let command = rpm_versions_command(&["vdsm".into(), "qemu-kvm".into()]).unwrap();
    assert!(command.ends_with("vdsm qemu-kvm"), "{command}");
}

/// `virsh dominfo` of libvirt's test driver (`test:///default`), recorded from a test host,
/// and a second domain that is shut off.
const TEST_DOMINFO: &str = "--uplift-domain
Id:             1
Name:           test
UUID:           6695eb01-f6a4-8304-79aa-97f2502e193f
OS Type:        linux
State:          running
CPU(s):         2
CPU time:       1795954152.2s
Max memory:     8388608 KiB
Used memory:    2097152 KiB
Persistent:     yes
Autostart:      disable
Managed save:   no
Security model: testSecurity
Security DOI:   
Security label: libvirt-test (enforcing)
--uplift-domain
Id:             -
Name:           db 2
State:          shut off
CPU(s):         4
Max memory:     4194304 KiB
Used memory:    4194304 KiB
";

#[test]
fn domains_from_dominfo() {
    let domains = parse_domains(TEST_DOMINFO).unwrap();
    assert_eq!(
        domains,
        [
            Domain {
                name: "test".into(),
                status: VmStatus::Up,
                cpus: 2,
                memory_mb: 8192
            },
            Domain {
                name: "db 2".into(),
                status: VmStatus::Down,
                cpus: 4,
                memory_mb: 4096
            }
        ]
    );
    assert!(parse_domains("").unwrap().is_empty());
    let saved = parse_domains("--uplift-domain\nName: s\nState: shut off\nCPU(s): 1\nMax memory: 1048576 KiB\nManaged save: yes\n").unwrap();
    assert_eq!(saved[0].status, VmStatus::Suspended);
    assert!(runs("running\n") && runs("paused") && !runs("shut off"));
    assert!(parse_domains("--uplift-domain\nName: x\n").is_err());
}

#[test]
fn reinstall_reads_installed_names_and_quotes_them() {
    let apt = "ii  vdsm\nrc  old-thing\nii  libvirt0:amd64\nii  bad;name\n";
    assert_eq!(
        parse_installed_names(Family::Apt, apt),
        ["vdsm", "libvirt0"]
    );
    assert_eq!(
        parse_installed_names(Family::Dnf, "vdsm\nqemu-kvm\n\n"),
        ["vdsm", "qemu-kvm"]
    );
    let names = ["vdsm".to_string(), "qemu-kvm".to_string()];
    assert!(reinstall_command(Family::Apt, &names)
        .unwrap()
        .ends_with("install --reinstall vdsm qemu-kvm"));
    assert!(reinstall_command(Family::Dnf, &names)
        .unwrap()
        .contains("dnf -y reinstall"));
    assert!(reinstall_command(Family::Dnf, &["a b".to_string()]).is_err());
}
