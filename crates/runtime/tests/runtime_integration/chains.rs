//! A test host for plugin chains: a namespace playing the host (every plugin either runtime
//! starts enters it first), a configuration, data and cache directory, and a plugin
//! directory mixing our `twill-cni` with the reference plugins. Plus readers of the state a
//! chain leaves behind, normalized so two identical setups compare equal.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twill_kernel::NetNs;
use twill_runtime::{Attachment, ConfDir, NetworkList, Runtime};

use crate::support::{
    allocations, driver, enter_in_child, in_ns, reference_dir, twill_cni, write_conflist, NsExec,
    Sandbox, TempDir,
};

/// The plugin names a chain may use; each links to ours or to the reference plugin.
const PLUGINS: [&str; 8] = [
    "bridge",
    "ptp",
    "host-local",
    "static",
    "tuning",
    "portmap",
    "firewall",
    "loopback",
];

/// A plugin that never finishes an ADD: it marks that it started, then sleeps until it is
/// killed together with the runtime that started it. Every other command succeeds silently.
const SLEEPER: &str = "#!/bin/sh\n\
case \"$CNI_COMMAND\" in\n\
ADD) : > \"$(dirname \"$0\")/sleeper-started\"; exec sleep 60 ;;\n\
esac\n\
exit 0\n";

pub struct Host {
    pub root: TempDir,
    pub ns: NetNs,
    /// Where the host namespace is mounted, for another process to open.
    pub ns_path: std::path::PathBuf,
    pub name: String,
}

impl Host {
    /// A host running `conflist` (its `@DATA@` strings replaced by this host's data
    /// directory) with the plugins named in `ours` from `twill-cni` and the rest from
    /// /usr/lib/cni.
    pub fn new(sandbox: &mut Sandbox, tag: &str, conflist: &Value, ours: &[&str]) -> Host {
        let root = TempDir::new(tag);
        for d in ["conf", "data", "cache", "bin"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        let text = conflist
            .to_string()
            .replace("@DATA@", root.join("data").to_str().unwrap());
        let conflist: Value = serde_json::from_str(&text).unwrap();
        write_conflist(&root.join("conf"), &conflist);
        let reference = reference_dir();
        for name in PLUGINS {
            let target = if ours.contains(&name) {
                twill_cni()
            } else {
                reference.join(name)
            };
            assert!(
                target.is_file(),
                "{} is missing: run scripts/setup.sh (as root)",
                target.display()
            );
            std::os::unix::fs::symlink(target, root.join("bin").join(name)).unwrap();
        }
        let sleeper = root.join("bin/sleeper");
        std::fs::write(&sleeper, SLEEPER).unwrap();
        std::fs::set_permissions(&sleeper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (ns, ns_path) = sandbox.host(tag);
        let name = conflist["name"].as_str().unwrap().to_owned();
        Host {
            root,
            ns,
            ns_path,
            name,
        }
    }

    pub fn net(&self) -> NetworkList {
        ConfDir::new(self.root.join("conf"))
            .find(&self.name)
            .unwrap()
            .network
    }

    pub fn runtime(&self) -> Runtime<NsExec> {
        Runtime::new(NsExec::new(&self.ns), vec![self.root.join("bin")])
            .with_cache_dir(self.root.join("cache"))
    }

    /// The reference runtime on this host, passing `caps` as capability arguments.
    pub fn go(&self, caps: Option<&Value>) -> Go<'_> {
        Go {
            host: self,
            caps: caps.cloned(),
        }
    }

    /// host-local's reservations (addresses) for this network.
    pub fn reservations(&self) -> Vec<String> {
        allocations(&self.root.join("data"), &self.name)
    }

    /// The cache record of `cid`/eth0 with what differs between two hosts blanked; `None`
    /// when there is none. Its `config` must be this host's configuration file, byte for
    /// byte.
    pub fn cache_record(&self, cid: &str) -> Option<Value> {
        let file = self
            .root
            .join("cache/results")
            .join(format!("{}-{cid}-eth0", self.name));
        let bytes = std::fs::read(file).ok()?;
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        use base64::Engine as _;
        let config = base64::engine::general_purpose::STANDARD
            .decode(v["config"].as_str().unwrap())
            .unwrap();
        let conf_file = self.root.join(format!("conf/{}.conflist", self.name));
        assert_eq!(config, std::fs::read(conf_file).unwrap());
        let o = v.as_object_mut().unwrap();
        o.remove("config");
        // libcni 1.1.2 records no namespace; ours does (later libcni releases do too).
        o.remove("netns");
        if let Some(r) = o.get_mut("result") {
            *r = normalized(r.take());
        }
        Some(v)
    }

    /// The cached attachments' container IDs, sorted.
    pub fn cached(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .runtime()
            .cached_attachments(Some(&self.name))
            .unwrap()
            .attachments
            .into_iter()
            .map(|a| a.record.container_id)
            .collect();
        ids.sort();
        ids
    }

    /// The host namespace's packet filter, links, addresses and routes, normalized.
    pub fn state(&self) -> String {
        ns_state(&self.ns)
    }
}

/// The reference runtime (libcni through tools/libcni-driver) on one host.
pub struct Go<'a> {
    host: &'a Host,
    caps: Option<Value>,
}

impl Go<'_> {
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let h = self.host;
        let mut cmd = Command::new(driver());
        cmd.args(args)
            .env("DRIVER_CNI_PATH", h.root.join("bin"))
            .env("DRIVER_CACHE_DIR", h.root.join("cache"))
            .env("DRIVER_CNI_ARGS", "")
            .env(
                "DRIVER_CAP_ARGS",
                self.caps.as_ref().map(Value::to_string).unwrap_or_default(),
            );
        for var in ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"] {
            cmd.env_remove(var);
        }
        use std::os::fd::AsFd;
        enter_in_child(&mut cmd, h.ns.as_fd().try_clone_to_owned().unwrap());
        let out = cmd.output().unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `add`, `check` or `del` of `cid`/eth0 in the namespace at `netns`.
    pub fn op(&self, cmd: &str, cid: &str, netns: &str) -> Result<String, String> {
        let conf = self.host.root.join("conf");
        self.run(&[
            cmd,
            conf.to_str().unwrap(),
            &self.host.name,
            cid,
            netns,
            "eth0",
        ])
    }

    /// GC keeping the attachments `valid` (`CID/IFNAME`).
    pub fn gc(&self, valid: &[&str]) -> Result<(), String> {
        let conf = self.host.root.join("conf");
        let mut args = vec!["gc", conf.to_str().unwrap(), &self.host.name];
        args.extend_from_slice(valid);
        self.run(&args).map(drop)
    }
}

/// Waits until `ns` has `n` veth links: the kernel tears a deleted namespace down
/// asynchronously, so a gone container's host-side veth may outlive it for a moment.
pub fn wait_for_veths(ns: &NetNs, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let links = in_ns(ns, "ip", &["-o", "link"]);
        if links.lines().filter(|l| l.contains("veth")).count() == n {
            return;
        }
        assert!(Instant::now() < deadline, "expected {n} veths:\n{links}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An attachment of `cid`/eth0 in the namespace at `netns`.
pub fn att(cid: &str, netns: &Path, caps: Option<&Value>) -> Attachment {
    let a = Attachment::new(cid, netns.to_str().unwrap(), "eth0");
    match caps {
        Some(c) => a.with_capability_args(c.as_object().cloned().unwrap()),
        None => a,
    }
}

/// A namespace's packet filters (iptables-save and ip6tables-save: every table), links, IPv4 addresses and
/// routes, normalized by [`normalize`].
pub fn ns_state(ns: &NetNs) -> String {
    let mut out = String::new();
    for (program, args) in [
        ("iptables-save", &[][..]),
        ("ip6tables-save", &[][..]),
        ("ip", &["-o", "link"][..]),
        ("ip", &["-br", "-4", "addr"][..]),
        ("ip", &["-4", "route"][..]),
    ] {
        out += &normalize(&in_ns(ns, program, args));
        out.push('\n');
    }
    out
}

/// Lines that differ between two identical setups made equal: comments and packet counters
/// of iptables-save, random veth names and MACs, peer link indices, link carrier state.
pub fn normalize(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let l = match l.find(" [") {
                Some(i) if l.starts_with(':') => &l[..i],
                _ => l,
            };
            // Carrier and operational state follow the kernel's link watch a moment after
            // ADD returns, on its own schedule: the same setup may show either.
            let l = l.replace("NO-CARRIER,", "");
            // Runs of spaces collapse: `ip -br` pads the state column to the state's width.
            let mut words: Vec<String> = l.split(' ').filter(|w| !w.is_empty()).map(word).collect();
            for i in 0..words.len() {
                let after_state = i > 0 && words[i - 1] == "state";
                // `ip -br` prints the operational state as a word of its own.
                let oper = matches!(
                    words[i].as_str(),
                    "UP" | "DOWN" | "LOWERLAYERDOWN" | "UNKNOWN"
                );
                if after_state || oper {
                    words[i] = "*".to_owned();
                }
            }
            words.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn word(w: &str) -> String {
    let is_hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    let mut w = w.to_owned();
    if w.len() >= 12 && w.starts_with("veth") && is_hex(&w[4..12]) {
        w.replace_range(4..12, "*");
    }
    if let Some(i) = w.find("@if") {
        let end = w[i + 3..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(w.len(), |e| i + 3 + e);
        w.replace_range(i..end, "");
    }
    let b = w.as_bytes();
    if w.len() == 17 && (0..6).all(|k| is_hex(&w[k * 3..k * 3 + 2])) && b[2] == b':' {
        w = "MAC".to_owned();
    }
    w
}

/// A result with the random parts (MACs, veth names, namespace paths) blanked.
pub fn normalized(mut v: Value) -> Value {
    if let Some(ifaces) = v["interfaces"].as_array_mut() {
        for iface in ifaces {
            iface["mac"] = json!("");
            if iface.get("sandbox").is_some() {
                iface["sandbox"] = json!("");
            }
            if iface["name"].as_str().unwrap().starts_with("veth") {
                iface["name"] = json!("veth");
            }
        }
    }
    v
}

/// The packet-filter chains that exist for one container: chains jumped to from rules that
/// name it (its ID in a comment) or its address, other than the shared CNI chains.
pub fn container_chains(state: &str, cid: &str, ip: &str) -> Vec<String> {
    let shared = [
        "CNI-HOSTPORT-DNAT",
        "CNI-HOSTPORT-SETMARK",
        "CNI-HOSTPORT-MASQ",
        "CNI-FORWARD",
        "CNI-ADMIN",
    ];
    let mut chains: Vec<String> = container_lines(state, cid, ip)
        .iter()
        .filter_map(|l| l.split(" -j ").nth(1))
        .map(|t| t.split(' ').next().unwrap().to_owned())
        .filter(|c| c.starts_with("CNI-") && !shared.contains(&c.as_str()))
        .collect();
    chains.sort();
    chains.dedup();
    chains
}

/// The rules that name a container: its ID (`id: "<cid>"` comments) or its address.
pub fn container_lines(state: &str, cid: &str, ip: &str) -> Vec<String> {
    // iptables-save escapes the quotes inside comments: `id: \"ctr1\"`.
    let id = format!("\\\"{cid}\\\"");
    let addr = format!("{ip}/32");
    state
        .lines()
        .filter(|l| l.starts_with("-A ") && (l.contains(&id) || l.contains(&addr)))
        .map(str::to_owned)
        .collect()
}

/// Asserts that nothing of a container is left in `state`: no rule naming it and none of
/// `chains` (what it had).
pub fn assert_gone(state: &str, cid: &str, ip: &str, chains: &[String]) {
    let lines = container_lines(state, cid, ip);
    assert!(lines.is_empty(), "{cid} left rules behind: {lines:#?}");
    for c in chains {
        assert!(
            !state.contains(c.as_str()),
            "{cid} left {c} behind:\n{state}"
        );
    }
}
