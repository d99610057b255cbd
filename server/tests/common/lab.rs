//! Real test hosts for the `ssh` driver's tests, made by `.ci/testhosts`: each a network
//! namespace with its own Debian root, a real sshd, apt and dpkg, reached over a veth pair.
//! The one stand-in is the reboot (see `.ci/testhosts`). Needs root, as namespaces do.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Which package manager a host has and which repository it installs from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repo {
    /// apt: vdsm and vdsm-cli 1.1, and an unmonitored package 1.1.
    Good,
    /// apt: the same, but vdsm 1.1's post-installation script fails.
    Broken,
    /// dnf (Debian's dnf and rpm; the host names itself like Fedora): the same as `Good`.
    DnfGood,
    /// dnf: vdsm 1.1's pre-installation scriptlet fails.
    DnfBroken,
}

impl Repo {
    fn kind(self) -> &'static str {
        match self {
            Repo::Good | Repo::DnfGood => "good",
            Repo::Broken | Repo::DnfBroken => "broken",
        }
    }
    fn family(self) -> &'static str {
        match self {
            Repo::Good | Repo::Broken => "apt",
            Repo::DnfGood | Repo::DnfBroken => "dnf",
        }
    }
}

/// Address blocks 10.199.N.0/24; each host of this test process takes the next.
static NEXT: AtomicU32 = AtomicU32::new(1);

pub struct TestHost {
    /// The name Uplift knows it by.
    pub name: String,
    pub address: String,
    /// The host's name in `.ci/testhosts` (and its namespace's).
    slot: String,
}

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub hosts: Vec<TestHost>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/testhosts")
}

fn testhosts(args: &[&str]) -> String {
    let output = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .expect("bash runs .ci/testhosts");
    assert!(
        output.status.success(),
        ".ci/testhosts {args:?} failed (test hosts need root and `.ci/install`):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

impl Lab {
    /// Starts one host per `(name, repository)`, each trusting the public key `public_key`.
    pub fn start(hosts: &[(&str, Repo)], public_key: &Path) -> Lab {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
        let root = path(dir.path());
        for kind in ["good", "broken"] {
            if hosts.iter().any(|(_, r)| r.kind() == kind) {
                testhosts(&["repo", &format!("{root}/repo-{kind}"), kind]);
            }
        }
        let mut lab = Lab {
            dir,
            hosts: Vec::new(),
        };
        for (name, repo) in hosts {
            let index = NEXT.fetch_add(1, Ordering::SeqCst);
            assert!(index < 250, "a test process has room for 249 test hosts");
            let slot = format!("t{index}");
            let address = testhosts(&[
                "up",
                &slot,
                &index.to_string(),
                &root,
                &path(public_key),
                &format!("{root}/repo-{}", repo.kind()),
                repo.family(),
            ]);
            lab.hosts.push(TestHost {
                name: name.to_string(),
                address,
                slot,
            });
        }
        lab
    }

    fn host(&self, name: &str) -> &TestHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .expect("a host of the lab")
    }

    fn root(&self) -> String {
        self.dir.path().to_str().expect("utf-8 path").to_string()
    }

    /// The fleet file of real hosts for this lab: one cluster, every host in it.
    pub fn fleet(&self, key_file: &Path, libvirt_uri: Option<&str>) -> String {
        let mut text = format!(
            "[driver]\nkind = \"ssh\"\nkey_file = {:?}\nsurvey_seconds = 1\n\n\
             [[cluster]]\nname = \"Lab\"\ncompatibility_version = \"4.7\"\n",
            key_file.display().to_string()
        );
        for host in &self.hosts {
            text.push_str(&format!(
                "\n[[host]]\nname = {:?}\ncluster = \"Lab\"\naddress = {:?}\nport = 22\n",
                host.name, host.address
            ));
            if let Some(uri) = libvirt_uri {
                text.push_str(&format!("libvirt_uri = {uri:?}\n"));
            }
        }
        text
    }

    /// The version of `package` dpkg says the host has installed.
    pub fn installed(&self, host: &str, package: &str) -> String {
        let slot = &self.host(host).slot;
        testhosts(&["installed", slot, &self.root(), package])
    }

    pub fn stop_sshd(&self, host: &str) {
        testhosts(&["stop-sshd", &self.host(host).slot, &self.root()]);
    }

    pub fn start_sshd(&self, host: &str) {
        testhosts(&["start-sshd", &self.host(host).slot, &self.root()]);
    }

    /// The host gets new SSH host keys (as a reinstalled host, or an impostor, would).
    pub fn new_host_key(&self, host: &str) {
        testhosts(&["new-host-key", &self.host(host).slot, &self.root()]);
    }

    /// `virsh ARGS` on the host's libvirt (QEMU; KVM when this machine has /dev/kvm).
    pub fn virsh(&self, host: &str, args: &[&str]) -> String {
        let mut all = vec!["virsh", self.host(host).slot.as_str()];
        let root = self.root();
        all.push(&root);
        all.extend_from_slice(args);
        testhosts(&all)
    }

    /// Defines and starts a tiny guest (64 MiB, one vCPU, no disk) on the host.
    pub fn tiny_vm(&self, host: &str, vm: &str) {
        testhosts(&["tiny-vm", &self.host(host).slot, &self.root(), vm]);
    }

    /// How long the host's (stand-in) reboot keeps sshd down.
    pub fn set_reboot_seconds(&self, host: &str, seconds: u32) {
        let file = self
            .dir
            .path()
            .join(&self.host(host).slot)
            .join("reboot-seconds");
        std::fs::write(file, format!("{seconds}\n")).expect("the host's reboot-seconds file");
    }

    /// How many times the host rebooted.
    pub fn reboots(&self, host: &str) -> usize {
        let file = self.dir.path().join(&self.host(host).slot).join("reboots");
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// How many SSH logins the host's sshd accepted so far (its log).
    pub fn logins(&self, host: &str) -> usize {
        let log = self.dir.path().join(&self.host(host).slot).join("sshd.log");
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .matches("Accepted publickey for root")
            .count()
    }

    /// The host's boot id, as its (stand-in) reboot leaves it.
    pub fn boot_id(&self, host: &str) -> String {
        testhosts(&["boot-id", &self.host(host).slot, &self.root()])
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let root = self.root();
        for host in &self.hosts {
            let _ = Command::new("bash")
                .arg(script())
                .args(["down", &host.slot, &root])
                .output();
        }
    }
}
