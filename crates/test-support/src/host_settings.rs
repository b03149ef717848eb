//! The sysctls a test's host namespace starts with.
//!
//! A new network namespace is not a clean slate: with `net.core.devconf_inherit_init_net = 0`
//! (the kernel's default) it copies the machine's IPv4 `all` and `default` settings —
//! `ip_forward`, `rp_filter`, the ARP knobs — so a test that reads them back without setting
//! them tests the machine, not the plugin. Every test host namespace is therefore made
//! through [`HostSettings::apply`] with the settings of a real container host, which is also
//! the hostile case for a plugin: forwarding already on, strict reverse-path filtering,
//! bridged frames passed through the firewall hooks where `br_netfilter` is there.
//!
//! These are written inside the test's own namespace only, never the machine's. Setting
//! `TWILL_TEST_HOST_SETTINGS=inherit` leaves the defaults out (for debugging against the
//! machine's own values); what a test asks for with [`HostSettings::with`] is still set.

use twill_kernel::{sysctl, NetNs};

/// The environment variable that turns the real-host defaults off: `inherit`.
pub const ENV: &str = "TWILL_TEST_HOST_SETTINGS";

/// What a real container host has on: forwarding for both families (a runtime's first
/// bridge or ptp network turns it on, and it stays on), strict reverse-path filtering (the
/// default of systemd's 50-default.conf and of most distributions), and — where the bridge
/// netfilter module is present — bridged IPv4, IPv6 and ARP frames through the firewall
/// hooks (Kubernetes requires `bridge-nf-call-iptables = 1`).
pub const REAL_HOST: [(&str, &str); 7] = [
    ("net/ipv4/ip_forward", "1"),
    ("net/ipv6/conf/all/forwarding", "1"),
    ("net/ipv4/conf/all/rp_filter", "1"),
    ("net/ipv4/conf/default/rp_filter", "1"),
    ("net/bridge/bridge-nf-call-iptables", "1"),
    ("net/bridge/bridge-nf-call-ip6tables", "1"),
    ("net/bridge/bridge-nf-call-arptables", "1"),
];

/// Keys under this prefix exist only while `br_netfilter` is loaded (per namespace since
/// Linux 5.3); where it is not, there is nothing to set and frames skip the hooks anyway.
const BRIDGE_NF: &str = "net/bridge/";

/// The sysctls to write into a host namespace, in order (a later value of a key wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    sysctls: Vec<(String, String)>,
}

impl Default for HostSettings {
    /// [`HostSettings::real_host`], unless [`ENV`] is `inherit`.
    fn default() -> Self {
        match std::env::var(ENV).as_deref() {
            Ok("inherit") => HostSettings::inherited(),
            Ok("" | "real-host") | Err(_) => HostSettings::real_host(),
            Ok(other) => panic!("{ENV}={other:?}: expected `inherit` or `real-host`"),
        }
    }
}

impl HostSettings {
    /// A real container host's settings: [`REAL_HOST`].
    pub fn real_host() -> HostSettings {
        HostSettings {
            sysctls: REAL_HOST
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Nothing written: the namespace keeps what it inherited from the machine.
    pub fn inherited() -> HostSettings {
        HostSettings {
            sysctls: Vec::new(),
        }
    }

    /// These settings with `key` (slash or dotted form) set to `value` as well: what a test
    /// that depends on a value asks for, so that it holds on any machine.
    pub fn with(mut self, key: &str, value: &str) -> HostSettings {
        let key = sysctl_key(key);
        self.sysctls.retain(|(k, _)| *k != key);
        self.sysctls.push((key, value.to_owned()));
        self
    }

    /// These settings with IPv4 and IPv6 forwarding both `on` or both off: for tests of a
    /// plugin that turns forwarding on (it must start off, or the test could not fail).
    pub fn forwarding(self, on: bool) -> HostSettings {
        let v = if on { "1" } else { "0" };
        self.with("net/ipv4/ip_forward", v)
            .with("net/ipv6/conf/all/forwarding", v)
    }

    /// The keys and values to write, in order.
    pub fn sysctls(&self) -> &[(String, String)] {
        &self.sysctls
    }

    /// Writes the settings inside `ns` (one thread in the namespace for all of them) and
    /// reads each back; bridge netfilter keys are skipped where the kernel has none.
    pub fn apply(&self, ns: &NetNs) {
        let sysctls = self.sysctls.clone();
        let result = ns.run(move || -> Result<(), String> {
            for (key, value) in &sysctls {
                let present = std::path::Path::new("/proc/sys").join(key).exists();
                if key.starts_with(BRIDGE_NF) && !present {
                    continue;
                }
                sysctl::write(key, value).map_err(|e| e.to_string())?;
                let now = sysctl::read(key).map_err(|e| e.to_string())?;
                if now != *value {
                    return Err(format!("{key} is {now:?} after writing {value:?}"));
                }
            }
            Ok(())
        });
        if let Err(e) = result.map_err(|e| e.to_string()).and_then(|r| r) {
            panic!("setting up a test host namespace: {e}");
        }
    }
}

/// Whether the kernel has `br_netfilter` in namespace `ns` (its sysctls are there): tests
/// of bridged traffic through the firewall hooks run both ways where it has, and the
/// "without" way where it has not — loading the module would change the machine.
pub fn bridge_netfilter(ns: &NetNs) -> bool {
    sysctl::read_in(ns, "net/bridge/bridge-nf-call-iptables").is_ok()
}

/// The slash form of a sysctl key (`net.ipv4.ip_forward` → `net/ipv4/ip_forward`).
fn sysctl_key(key: &str) -> String {
    if key.contains('/') {
        key.to_owned()
    } else {
        key.replace('.', "/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_asked_for_replaces_the_default_in_either_form() {
        let s = HostSettings::real_host().with("net.ipv4.ip_forward", "0");
        let forward: Vec<_> = s
            .sysctls()
            .iter()
            .filter(|(k, _)| k == "net/ipv4/ip_forward")
            .collect();
        assert_eq!(
            forward,
            [&("net/ipv4/ip_forward".to_owned(), "0".to_owned())]
        );
        assert_eq!(s.sysctls().len(), REAL_HOST.len());
    }

    #[test]
    fn inherited_writes_only_what_is_asked_for() {
        let s = HostSettings::inherited().with("net/ipv4/conf/all/rp_filter", "2");
        assert_eq!(
            s.sysctls(),
            [("net/ipv4/conf/all/rp_filter".to_owned(), "2".to_owned())]
        );
    }
}
