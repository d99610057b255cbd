//! What the `ssh` driver runs on a host, and how it reads the answers: pure, so every parser
//! is tested against real outputs (recorded from Debian and from Fedora/EL hosts).
//!
//! Every command is a fixed string; the only variable parts are package names (validated by
//! [`package_name`], then quoted), VM names and libvirt URIs (quoted). Nothing a host or a
//! user typed reaches a host's shell unquoted. Keep the SSH plumbing out of here.

use std::collections::BTreeMap;

use app::api::{AvailableUpdate, VmStatus};

use crate::fleet::driver::VmFacts as Domain;

/// The separator between the parts of [`FACTS`]' answer.
const PART: &str = "--uplift-part--";

/// One round trip that tells what a host is: its OS, cores, memory, boot id and whether it has
/// virsh.
pub const FACTS: &str = "cat /etc/os-release; echo --uplift-part--; nproc; \
echo --uplift-part--; grep '^MemTotal:' /proc/meminfo; echo --uplift-part--; \
cat /proc/sys/kernel/random/boot_id; echo --uplift-part--; \
command -v virsh >/dev/null && echo virsh; true";

/// The cheap question "do you answer, and which boot is this?".
pub const BOOT_ID: &str = "cat /proc/sys/kernel/random/boot_id";

/// The reboot itself.
pub const REBOOT: &str = "systemctl reboot";

/// A host's package manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Debian, Ubuntu and their kin.
    Apt,
    /// Fedora, RHEL, CentOS Stream, Rocky, Alma.
    Dnf,
}

impl Family {
    /// The name the driver's rows keep it by.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Apt => "apt",
            Family::Dnf => "dnf",
        }
    }

    pub fn parse(name: &str) -> Option<Family> {
        [Family::Apt, Family::Dnf]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

/// What a host says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// `PRETTY_NAME` from `/etc/os-release`.
    pub os: String,
    pub family: Option<Family>,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    pub boot_id: String,
    pub has_virsh: bool,
}

/// A host answer that does not read as expected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the host's answer cannot be read: {0}")]
pub struct Unreadable(pub String);

pub fn parse_facts(text: &str) -> Result<Facts, Unreadable> {
    let parts: Vec<&str> = text.split(PART).map(str::trim).collect();
    let [os_release, cores, memory, boot_id, virsh] = parts.as_slice() else {
        return Err(Unreadable(format!("expected 5 parts, got {}", parts.len())));
    };
    let release = os_release_fields(os_release);
    let os = release
        .get("PRETTY_NAME")
        .cloned()
        .or_else(|| {
            let name = release.get("NAME")?;
            Some(match release.get("VERSION_ID") {
                Some(version) => format!("{name} {version}"),
                None => name.clone(),
            })
        })
        .ok_or_else(|| Unreadable("/etc/os-release names no OS".into()))?;
    let cpu_cores = cores
        .parse()
        .map_err(|_| Unreadable(format!("nproc said {cores:?}")))?;
    let memory_kb: u64 = memory
        .strip_prefix("MemTotal:")
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse().ok())
        .ok_or_else(|| Unreadable(format!("/proc/meminfo said {memory:?}")))?;
    if boot_id.is_empty() || boot_id.contains(char::is_whitespace) {
        return Err(Unreadable(format!("the boot id is {boot_id:?}")));
    }
    Ok(Facts {
        os,
        family: family(&release),
        cpu_cores,
        memory_mb: memory_kb / 1024,
        boot_id: boot_id.to_string(),
        has_virsh: *virsh == "virsh",
    })
}

/// `KEY=value` lines, values unquoted.
fn os_release_fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            (key.trim().to_string(), value.to_string())
        })
        .collect()
}

fn family(release: &BTreeMap<String, String>) -> Option<Family> {
    let ids = [release.get("ID"), release.get("ID_LIKE")]
        .into_iter()
        .flatten()
        .flat_map(|value| value.split_whitespace())
        .collect::<Vec<_>>();
    let any = |names: &[&str]| ids.iter().any(|id| names.contains(id));
    if any(&["debian", "ubuntu"]) {
        Some(Family::Apt)
    } else if any(&["fedora", "rhel", "centos", "rocky", "almalinux"]) {
        Some(Family::Dnf)
    } else {
        None
    }
}

/// A package name as Debian and RPM allow them; anything else never reaches a command.
pub fn package_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 200
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-._".contains(c))
}

/// Quotes one argument for a POSIX shell.
pub fn quote(argument: &str) -> String {
    shell_words::quote(argument).into_owned()
}

fn quoted_names(names: &[String]) -> Result<String, Unreadable> {
    if let Some(bad) = names.iter().find(|n| !package_name(n)) {
        return Err(Unreadable(format!("{bad:?} is not a package name")));
    }
    Ok(names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(" "))
}

/// Refreshes the package metadata and lists what an upgrade would change.
pub fn check_command(family: Family) -> &'static str {
    match family {
        Family::Apt => {
            "export LC_ALL=C DEBIAN_FRONTEND=noninteractive; \
                        apt-get update -q >/dev/null && apt-get -s -q dist-upgrade"
        }
        // check-update exits 100 when there are updates: that is not a failure.
        Family::Dnf => {
            "export LC_ALL=C; dnf -q -y makecache >/dev/null && \
                        { dnf -q check-update; rc=$?; [ $rc = 100 ] && exit 0; exit $rc; }"
        }
    }
}

/// On a dnf host, the installed versions of `names` (after a check).
pub fn rpm_versions_command(names: &[String]) -> Result<String, Unreadable> {
    Ok(format!(
        "LC_ALL=C rpm -q --qf '%{{NAME}} %{{VERSION}}-%{{RELEASE}}\\n' {}",
        quoted_names(names)?
    ))
}

/// apt-get's install, unattended, keeping the host's changed configuration files.
const APT_INSTALL: &str = "export LC_ALL=C DEBIAN_FRONTEND=noninteractive; apt-get -y -q \
     -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install";

/// Upgrades `names` (only those already installed).
pub fn install_command(family: Family, names: &[String]) -> Result<String, Unreadable> {
    let names = quoted_names(names)?;
    Ok(match family {
        Family::Apt => format!("{APT_INSTALL} --only-upgrade {names}"),
        Family::Dnf => format!("export LC_ALL=C; dnf -y upgrade {names}"),
    })
}

/// Lists the names of the installed packages, one per line.
pub fn installed_names_command(family: Family) -> &'static str {
    match family {
        Family::Apt => "LC_ALL=C dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n'",
        Family::Dnf => "LC_ALL=C rpm -qa --qf '%{NAME}\\n'",
    }
}

/// The installed package names in an [`installed_names_command`] answer.
pub fn parse_installed_names(family: Family, text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| match family {
            // `ii  name`: only packages installed and configured.
            Family::Apt => line
                .strip_prefix("ii ")
                .map(str::trim)
                .map(|name| name.split(':').next().unwrap_or(name)),
            Family::Dnf => Some(line.trim()),
        })
        .filter(|name| package_name(name))
        .map(str::to_string)
        .collect()
}

/// Installs `names` again at their installed version: redeploys the management software.
pub fn reinstall_command(family: Family, names: &[String]) -> Result<String, Unreadable> {
    let names = quoted_names(names)?;
    Ok(match family {
        Family::Apt => format!("{APT_INSTALL} --reinstall {names}"),
        Family::Dnf => format!("export LC_ALL=C; dnf -y reinstall {names}"),
    })
}

/// `Inst NAME [OLD] (NEW SUITE [ARCH])` lines of `apt-get -s dist-upgrade`; packages that
/// would be newly installed (no `[OLD]`) are not updates of installed ones.
pub fn parse_apt_simulation(text: &str) -> Vec<AvailableUpdate> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Inst ")?;
            let (name, rest) = rest.split_once(' ')?;
            let rest = rest.strip_prefix('[')?;
            let (current, rest) = rest.split_once(']')?;
            let rest = rest.trim_start().strip_prefix('(')?;
            let available = rest.split_whitespace().next()?;
            Some(AvailableUpdate {
                name: name.to_string(),
                current_version: current.to_string(),
                available_version: available.to_string(),
            })
        })
        .collect()
}

/// `dnf check-update`'s table: `name.arch  [epoch:]version-release  repo`, where a long name
/// pushes the rest onto the next line; the "Obsoleting Packages" part is not about updates.
/// Returns name -> available version (the epoch dropped, as `rpm -q` prints versions).
pub fn parse_dnf_check_update(text: &str) -> BTreeMap<String, String> {
    let mut updates = BTreeMap::new();
    let mut words: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Obsoleting Packages") {
            break;
        }
        if line.trim().is_empty()
            || line.starts_with("Last metadata")
            || line.starts_with(' ') && words.is_empty()
        {
            continue;
        }
        words.extend(line.split_whitespace());
        if words.len() < 3 {
            continue;
        }
        if let [name_arch, version, _repo, ..] = words.as_slice() {
            if let Some((name, _arch)) = name_arch.rsplit_once('.') {
                let version = version.split_once(':').map_or(*version, |(_, v)| v);
                updates.insert(name.to_string(), version.to_string());
            }
        }
        words.clear();
    }
    updates
}

/// `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n'` lines; "package X is not installed" lines
/// are skipped.
pub fn parse_rpm_versions(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|line| !line.contains(" is not installed"))
        .filter_map(|line| {
            let (name, version) = line.trim().split_once(' ')?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

/// Every domain of the host, each as `--uplift-domain` and its `virsh dominfo`.
pub fn list_domains_command(uri: &str) -> String {
    let uri = quote(uri);
    format!(
        "export LC_ALL=C; virsh -q -c {uri} list --all --name | while read -r d; do \
         [ -n \"$d\" ] || continue; echo --uplift-domain; virsh -q -c {uri} dominfo --domain \"$d\"; done"
    )
}

pub fn parse_domains(text: &str) -> Result<Vec<Domain>, Unreadable> {
    text.split("--uplift-domain")
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(parse_dominfo)
        .collect()
}

fn parse_dominfo(text: &str) -> Result<Domain, Unreadable> {
    let fields: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim(), value.trim()))
        .collect();
    let field = |key: &str| {
        fields
            .get(key)
            .copied()
            .ok_or_else(|| Unreadable(format!("virsh dominfo has no {key:?}")))
    };
    let name = field("Name")?.to_string();
    let status = match (field("State")?, fields.get("Managed save")) {
        ("running" | "idle" | "in shutdown" | "blocked", _) => VmStatus::Up,
        ("paused" | "pmsuspended", _) => VmStatus::Paused,
        // `virsh managedsave` (Uplift's Suspend) keeps the memory on disk.
        (_, Some(&"yes")) => VmStatus::Suspended,
        _ => VmStatus::Down,
    };
    let cpus = field("CPU(s)")?
        .parse()
        .map_err(|_| Unreadable("virsh dominfo's CPU(s) is not a number".into()))?;
    let memory_kib: u64 = field("Max memory")?
        .trim_end_matches("KiB")
        .trim()
        .parse()
        .map_err(|_| Unreadable("virsh dominfo's Max memory is not in KiB".into()))?;
    Ok(Domain {
        name,
        status,
        cpus,
        memory_mb: memory_kib / 1024,
    })
}

/// What the driver asks of libvirt for one VM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainAction {
    Start,
    Shutdown,
    Suspend,
}

impl DomainAction {
    /// virsh's command for it.
    pub fn verb(self) -> &'static str {
        match self {
            DomainAction::Start => "start",
            DomainAction::Shutdown => "shutdown",
            DomainAction::Suspend => "managedsave",
        }
    }
}

pub fn domain_command(uri: &str, action: DomainAction, vm: &str) -> String {
    format!(
        "LC_ALL=C virsh -q -c {} {} --domain {}",
        quote(uri),
        action.verb(),
        quote(vm)
    )
}

/// Whether a `virsh domstate` answer means the domain runs on that host.
pub fn runs(domstate: &str) -> bool {
    matches!(
        domstate.trim(),
        "running" | "idle" | "paused" | "blocked" | "in shutdown" | "pmsuspended"
    )
}

/// The domain's state on one host: `running`, `shut off`, … or failure when it has none.
pub fn domain_state_command(uri: &str, vm: &str) -> String {
    format!(
        "LC_ALL=C virsh -q -c {} domstate --domain {}",
        quote(uri),
        quote(vm)
    )
}

/// A live migration that moves the definition along: run on the source host. The memory goes
/// straight to the target's address (`--migrateuri`), not to whatever its host name resolves to.
pub fn migrate_command(uri: &str, vm: &str, destination_uri: &str, target_address: &str) -> String {
    format!(
        "LC_ALL=C virsh -q -c {} migrate --live --persistent --undefinesource --domain {} \
         --desturi {} --migrateuri {}",
        quote(uri),
        quote(vm),
        quote(destination_uri),
        quote(&format!("tcp://{}", bracketed(target_address)))
    )
}

/// An IPv6 address in brackets, as URIs need it.
fn bracketed(address: &str) -> String {
    if address.contains(':') {
        format!("[{address}]")
    } else {
        address.to_string()
    }
}

/// Where the source host reaches the target's libvirt: over SSH, as its own root.
pub fn destination_uri(user: &str, address: &str, port: u16) -> String {
    format!("qemu+ssh://{user}@{}:{port}/system", bracketed(address))
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
