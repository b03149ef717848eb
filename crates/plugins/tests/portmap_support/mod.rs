//! The portmap tests' world: a host namespace with a bridge network (bridge + host-local,
//! ipMasq off), pods on it, and an "outside" namespace joined to the host by a veth
//! (host 198.18.0.1/24, outside 198.18.0.2/24); TCP servers in pods answering with their
//! name and the peer address they see; the host's ruleset as `nft -j` prints it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use twill_kernel::{Address, IpPrefix, LinkId, NewLink};

use crate::support::{Ns, Sandbox};

/// The host's address on the outside link.
pub const HOST: &str = "198.18.0.1";
/// The outside namespace's address.
pub const OUTSIDE: &str = "198.18.0.2";

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The bridge network's configuration: isDefaultGateway, so pods route back via the host;
/// hairpinMode, as podman sets it, because with `br_netfilter` loaded a pod's connection to
/// its own host port is DNAT'd at the bridge and bridged back out of the port it came in.
pub fn bridge_conf(sb: &Sandbox) -> Value {
    sb.conf(json!({
        "cniVersion": "1.0.0", "name": "testnet", "type": "bridge", "bridge": "br-pm",
        "isDefaultGateway": true, "hairpinMode": true,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.0.0/24"}]]},
    }))
}

/// portmap's configuration for `mappings` after `prev`.
pub fn portmap_conf(sb: &Sandbox, prev: &Value, mappings: Value, extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.0.0", "name": "testnet", "type": "portmap",
        "dataDir": sb.tmp.join("portmap").to_string_lossy(),
        "runtimeConfig": {"portMappings": mappings},
        "prevResult": prev,
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// A pod on the bridge; returns its namespace and the bridge result.
pub fn pod(sb: &mut Sandbox, name: &str) -> (Ns, Value) {
    let ns = sb.pod(name);
    let r = sb
        .twill("bridge", "ADD", name, &ns.path, &bridge_conf(sb))
        .ok();
    (ns, r)
}

/// The outside namespace, joined to the host.
pub fn outside(sb: &mut Sandbox) -> Ns {
    let mut out = sb.pod("outside");
    let link = NewLink::veth("to-out", "eth-out").peer_netns(out.ns.as_fd());
    sb.host.nl.link_add(&link).unwrap();
    let hi = sb.host.nl.link_index("to-out").unwrap();
    let prefix = |a: &str| IpPrefix::new(ip(a), 24).unwrap();
    sb.host
        .nl
        .addr_add(&Address::new(hi, prefix(HOST)))
        .unwrap();
    sb.host.nl.link_set_up(LinkId::Index(hi)).unwrap();
    let oi = out.nl.link_index("eth-out").unwrap();
    out.nl.addr_add(&Address::new(oi, prefix(OUTSIDE))).unwrap();
    out.nl.link_set_up(LinkId::Index(oi)).unwrap();
    out.nl.link_set_up(LinkId::Index(1)).unwrap();
    out
}

/// A TCP server on port `port` of every address in `ns`, answering each connection with
/// `"<tag> <peer address>"`, for at most `secs` seconds.
pub fn serve(ns: &Ns, port: u16, tag: &str, secs: u64) -> JoinHandle<()> {
    let any = SocketAddr::new(ip("0.0.0.0"), port);
    let listener = ns.ns.run(move || TcpListener::bind(any)).unwrap().unwrap();
    listener.set_nonblocking(true).unwrap();
    let tag = tag.to_owned();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, peer)) => {
                    let _ = s.write_all(format!("{tag} {}", peer.ip()).as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}

/// One connection from `ns` to `addr:port`: what the server answered.
pub fn fetch_once(ns: &Ns, addr: &str, port: u16) -> Result<String, String> {
    let target = SocketAddr::new(ip(addr), port);
    let stream = ns
        .ns
        .run(move || TcpStream::connect_timeout(&target, Duration::from_millis(700)))
        .map_err(|e| e.to_string())?;
    let mut s = stream.map_err(|e| format!("connect {target} from {}: {e}", ns.name))?;
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// Like [`fetch_once`], retried for a few seconds (neighbour resolution, a server thread
/// still starting).
pub fn fetch(ns: &Ns, addr: &str, port: u16) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..10 {
        match fetch_once(ns, addr, port) {
            Ok(t) if !t.is_empty() => return Ok(t),
            Ok(_) => last = "empty answer".into(),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}

/// `nft -j list ruleset` in namespace `path` (tests only: plugins never exec).
pub fn ruleset(path: &Path) -> Value {
    let out = Command::new("nsenter")
        .arg(format!("--net={}", path.display()))
        .args(["nft", "-j", "list", "ruleset"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The elements of map or set `name` of the portmap table of `family` (`ip`, `ip6`).
pub fn elements(path: &Path, family: &str, name: &str) -> Vec<Value> {
    let rs = ruleset(path);
    for o in rs["nftables"].as_array().unwrap() {
        let set = if o.get("map").is_some() {
            &o["map"]
        } else {
            &o["set"]
        };
        if set["family"] == family && set["table"] == "twill_portmap" && set["name"] == name {
            return set["elem"].as_array().cloned().unwrap_or_default();
        }
    }
    Vec::new()
}
