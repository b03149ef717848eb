//! The configurations `twill net create` writes.

use std::net::IpAddr;
use std::path::Path;

use anyhow::{bail, Result};
use serde_json::{json, Value};
use twill_cni::Version;
use twill_runtime::NetworkList;

use crate::args::{Driver, NetCreateArgs};
use crate::cidr::Cidr;
use crate::default_net;
use crate::errors::advise;

/// Subnets and bridge names other networks use.
#[derive(Debug, Default)]
pub struct Taken {
    /// host-local subnets.
    pub subnets: Vec<(String, Cidr)>,
    /// Bridge names.
    pub bridges: Vec<String>,
}

impl Taken {
    /// What `nets` and the embedded default network use.
    pub fn of(nets: &[NetworkList]) -> Taken {
        let mut t = Taken::default();
        if let Ok(c) = default_net::SUBNET.parse() {
            t.subnets.push((default_net::NAME.to_owned(), c));
        }
        t.bridges.push(default_net::BRIDGE.to_owned());
        for net in nets {
            for p in net.plugins() {
                if let Some(b) = p.raw.get("bridge").and_then(Value::as_str) {
                    t.bridges.push(b.to_owned());
                }
                let Some(ipam) = &p.ipam else { continue };
                let mut subnets: Vec<&Value> = ipam.raw.get("subnet").into_iter().collect();
                if let Some(sets) = ipam.raw.get("ranges").and_then(Value::as_array) {
                    for set in sets.iter().filter_map(Value::as_array) {
                        subnets.extend(set.iter().filter_map(|r| r.get("subnet")));
                    }
                }
                for s in subnets.into_iter().filter_map(Value::as_str) {
                    if let Ok(c) = s.parse() {
                        t.subnets.push((net.name().to_owned(), c));
                    }
                }
            }
        }
        t
    }

    fn clash(&self, c: &Cidr) -> Option<&str> {
        self.subnets
            .iter()
            .find(|(_, s)| s.overlaps(c))
            .map(|(n, _)| n.as_str())
    }
}

/// The plugin types a network of `driver` runs (for the version to write).
pub fn plugin_types(driver: Driver) -> [&'static str; 2] {
    [main_type(driver), "host-local"]
}

fn main_type(driver: Driver) -> &'static str {
    match driver {
        Driver::Bridge => "bridge",
        Driver::Ptp => "ptp",
        Driver::Macvlan => "macvlan",
        Driver::Ipvlan => "ipvlan",
    }
}

/// The modes each parent-device driver takes, its default first.
fn modes(driver: Driver) -> &'static [&'static str] {
    match driver {
        Driver::Macvlan => &["bridge", "private", "vepa", "passthru"],
        Driver::Ipvlan => &["l2", "l3", "l3s"],
        Driver::Bridge | Driver::Ptp => &[],
    }
}

/// The mode to write for a parent-device driver: `--mode`, or private for macvlan with
/// `--isolate`, or the default.
fn mode(a: &NetCreateArgs) -> Option<&str> {
    match (a.driver, a.mode.as_deref()) {
        (Driver::Macvlan, None) if a.isolate => Some("private"),
        (d, m) => m.or(modes(d).first().copied()),
    }
}

/// A pod subnet and its gateway, when one was given.
pub type Subnet = (Cidr, Option<IpAddr>);

/// Checks the flags against each other and what is taken; returns the pod subnets (IPv4 or
/// the given one first, then --ipv6) and the bridge name.
pub fn check(a: &NetCreateArgs, taken: &Taken) -> Result<(Vec<Subnet>, String)> {
    let on_parent = matches!(a.driver, Driver::Macvlan | Driver::Ipvlan);
    if a.masq && on_parent {
        bail!("--masq applies to the bridge and ptp drivers: macvlan and ipvlan pods sit on the host's own network");
    }
    if a.isolate && a.driver == Driver::Ipvlan {
        bail!("--isolate: ipvlan has no private mode; use the macvlan driver");
    }
    if let Some(m) = &a.mode {
        let known = modes(a.driver);
        if known.is_empty() {
            bail!("--mode applies to the macvlan and ipvlan drivers only");
        }
        if !known.contains(&m.as_str()) {
            bail!(
                "--mode {m}: the {} driver's modes are {}",
                main_type(a.driver),
                known.join(", ")
            );
        }
        if a.isolate && m != "private" {
            bail!("--isolate is macvlan's private mode; it contradicts --mode {m}");
        }
    }
    if a.isolate && a.driver == Driver::Ptp {
        bail!("--isolate: ptp pods are routed, each on its own link, so they are isolated at layer 2 already");
    }
    if a.bridge.is_some() && a.driver != Driver::Bridge {
        bail!("--bridge applies to the bridge driver only");
    }
    if a.master.is_some() && !on_parent {
        bail!("--master/--parent applies to the macvlan and ipvlan drivers only");
    }
    if let Some(mtu) = a.mtu.filter(|m| !(68..=65535).contains(m)) {
        bail!("--mtu {mtu}: must be 68 to 65535");
    }
    let mut subnets = Vec::new();
    let main = match &a.subnet {
        Some(s) => {
            let c = network(s, "--subnet")?;
            let gw = gateway(a.gateway.as_deref(), &c)?;
            (c, gw)
        }
        None => (free_subnet(taken)?, None),
    };
    subnets.push(main);
    if let Some(v6) = &a.ipv6 {
        let c = network(v6, "--ipv6")?;
        if !c.addr.is_ipv6() {
            bail!("--ipv6 {v6}: not an IPv6 subnet");
        }
        subnets.push((c, None));
    }
    for (c, _) in &subnets {
        if let Some(other) = taken.clash(c) {
            return Err(advise(
                format!("subnet {c} overlaps a subnet of network {other:?}"),
                "choose another --subnet; `twill net ls` lists the networks",
            ));
        }
    }
    let bridge = match &a.bridge {
        Some(b) if b.is_empty() || b.len() > 15 || b.contains(['/', ' ', ':']) => {
            bail!("--bridge {b:?}: not a valid interface name (1 to 15 characters)")
        }
        Some(b) => b.clone(),
        None => (1..1000)
            .map(|n| format!("twill{n}"))
            .find(|b| !taken.bridges.contains(b))
            .unwrap_or_else(|| "twill999".to_owned()),
    };
    Ok((subnets, bridge))
}

fn network(s: &str, flag: &str) -> Result<Cidr> {
    let c: Cidr = s.parse().map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    if !c.is_network() {
        bail!(
            "{flag} {s}: not a network address; did you mean {}?",
            c.network()
        );
    }
    Ok(c)
}

fn gateway(g: Option<&str>, subnet: &Cidr) -> Result<Option<IpAddr>> {
    let Some(g) = g else { return Ok(None) };
    let ip: IpAddr = g
        .parse()
        .map_err(|_| anyhow::anyhow!("--gateway {g}: not an IP address"))?;
    if !subnet.contains(ip) || ip == subnet.addr {
        bail!("--gateway {g}: must be a host address inside {subnet}");
    }
    Ok(Some(ip))
}

/// The first 10.89.N.0/24 no other network uses.
fn free_subnet(taken: &Taken) -> Result<Cidr> {
    (0..=255u8)
        .filter_map(|n| format!("10.89.{n}.0/24").parse::<Cidr>().ok())
        .find(|c| taken.clash(c).is_none())
        .ok_or_else(|| advise("no free subnet in 10.89.0.0/16", "give one with --subnet"))
}

/// The configuration of a new network.
pub fn build(
    a: &NetCreateArgs,
    subnets: &[Subnet],
    bridge: &str,
    version: Version,
    data_dir: Option<&Path>,
) -> Value {
    let ranges: Vec<Value> = subnets
        .iter()
        .map(|(c, gw)| {
            let mut r = json!({"subnet": c.to_string()});
            if let Some(g) = gw {
                crate::output::set(&mut r, "gateway", g.to_string());
            }
            json!([r])
        })
        .collect();
    let routes: Vec<Value> = subnets
        .iter()
        .filter(|_| !a.no_default_route && !a.internal)
        .map(|(c, _)| json!({"dst": if c.addr.is_ipv4() { "0.0.0.0/0" } else { "::/0" }}))
        .collect();
    let mut ipam = json!({"type": "host-local", "ranges": ranges, "routes": routes});
    if let Some(dir) = data_dir {
        crate::output::set(&mut ipam, "dataDir", dir.to_string_lossy().into_owned());
    }
    let mut plugin = json!({"type": main_type(a.driver)});
    match a.driver {
        Driver::Bridge => {
            crate::output::set(&mut plugin, "bridge", bridge);
            crate::output::set(&mut plugin, "isGateway", true);
            crate::output::set(&mut plugin, "hairpinMode", !a.isolate);
            if a.isolate {
                crate::output::set(&mut plugin, "portIsolation", true);
            }
        }
        Driver::Ptp => {}
        Driver::Macvlan | Driver::Ipvlan => {
            if let Some(m) = &a.master {
                crate::output::set(&mut plugin, "master", m.clone());
            }
            if let Some(m) = mode(a) {
                crate::output::set(&mut plugin, "mode", m);
            }
        }
    }
    if a.masq {
        crate::output::set(&mut plugin, "ipMasq", true);
    }
    if let Some(mtu) = a.mtu {
        crate::output::set(&mut plugin, "mtu", mtu);
    }
    let caps = match a.driver {
        Driver::Ptp | Driver::Ipvlan => json!({"ips": true}),
        Driver::Bridge | Driver::Macvlan => json!({"ips": true, "mac": true}),
    };
    crate::output::set(&mut plugin, "capabilities", caps);
    crate::output::set(&mut plugin, "ipam", ipam);
    json!({"cniVersion": version.as_str(), "name": a.name, "plugins": [plugin]})
}
