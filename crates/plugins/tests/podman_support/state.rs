//! What podman and the plugins leave in the sandbox, read from the test's side: links and
//! addresses over netlink, nf_tables with `nft -j`, files in the directories bound on /run
//! and /var/lib.

use std::path::PathBuf;

use serde_json::Value;
use twill_kernel::{NetNs, Netlink};

use super::{files, Podman};

impl Podman {
    /// The container's network namespace, through its init process.
    pub fn container_netns(&self, name: &str) -> NetNs {
        let pid = self.inspect(name)["State"]["Pid"].as_i64().unwrap();
        assert!(pid > 0, "{name} has no process");
        NetNs::open(&PathBuf::from(format!("/proc/{pid}/ns/net"))).unwrap()
    }

    /// A netlink socket in podman's host namespace.
    pub fn host_netlink(&self) -> Netlink {
        self.ns.net.netlink().unwrap()
    }

    /// `nft -j list ruleset` in podman's host namespace.
    pub fn ruleset(&self) -> Value {
        let out = self.host("nft", &["-j", "list", "ruleset"]);
        serde_json::from_str(out.ok()).unwrap()
    }

    /// Addresses host-local holds for `network`.
    pub fn reservations(&self, network: &str) -> Vec<String> {
        let mut names = files::list(&self.files.ipam_dir(network));
        names.retain(|n| n != "lock" && !n.starts_with("last_reserved_ip"));
        names
    }

    /// The records twill's plugins keep per attachment (masq, portmap, …) and host-local's
    /// owner index.
    pub fn plugin_records(&self, network: &str) -> Vec<String> {
        let mut v = files::files_below(&self.files.plugin_records());
        let index = self.files.ipam_dir(network).join(".twill-owners");
        v.extend(
            files::files_below(&index)
                .into_iter()
                .map(|f| format!(".twill-owners/{f}")),
        );
        v
    }

    /// libcni's cached results.
    pub fn cached_results(&self) -> Vec<String> {
        files::list(&self.files.cni_cache())
    }

    /// podman's network namespace bind mounts (files under its /run/netns).
    pub fn netns_entries(&self) -> Vec<String> {
        files::list(&self.files.netns_dir())
    }

    /// Names of the links enslaved to `bridge` in the host namespace.
    pub fn bridge_ports(&self, bridge: &str) -> Vec<String> {
        let mut nl = self.host_netlink();
        let links = nl.link_list().unwrap();
        let Some(br) = links.iter().find(|l| l.name == bridge) else {
            return Vec::new();
        };
        links
            .iter()
            .filter(|l| l.master == Some(br.index))
            .map(|l| l.name.clone())
            .collect()
    }

    /// Whether a link named `name` exists in the host namespace.
    pub fn has_link(&self, name: &str) -> bool {
        let mut nl = self.host_netlink();
        nl.link_list().unwrap().iter().any(|l| l.name == name)
    }
}
