//! What the host-device tests share: a "host device" (one end of a veth pair in the
//! sandbox's host namespace, with a fixed MAC), its state as JSON, and a plugin wrapper that
//! runs a plugin with sysfs mounted for the host namespace (as on a real host, where the
//! plugin's namespace is the one sysfs shows; a test's host namespace is not).

#![allow(dead_code)]

use std::path::Path;

use serde_json::{json, Value};
use twill_kernel::{LinkId, MacAddr, NewLink};
use twill_test_support::plugins::script;

use crate::support::{Ns, Sandbox};

/// The test device's MAC.
pub const MAC: &str = "02:00:5e:10:00:01";

/// Creates `name` (peer `<name>p`, up) in the host namespace with [`MAC`], down. With its
/// peer up the device has a carrier once it is up, so IPv6 duplicate address detection
/// finishes (both implementations wait for it).
pub fn device(sb: &mut Sandbox, name: &str) {
    let peer = format!("{name}p");
    let mac: MacAddr = MAC.parse().unwrap();
    sb.host
        .nl
        .link_add(&NewLink::veth(name, &peer).mac(mac))
        .unwrap();
    sb.host.nl.link_set_up(LinkId::Name(&peer)).unwrap();
}

/// The device `name` in `ns`: present, up, MAC, alias; `null` when absent.
pub fn link_state(ns: &mut Ns, name: &str) -> Value {
    let Ok(l) = ns.nl.link_get(LinkId::Name(name)) else {
        return Value::Null;
    };
    let alias = ns.nl.link_alias(LinkId::Index(l.index)).unwrap();
    json!({"up": l.is_up(), "mac": l.mac.map(|m| m.to_string()), "alias": alias})
}

/// A plugin `name` in the sandbox's plugin directory that runs `target` in a mount namespace
/// of its own with sysfs mounted afresh, so `/sys` shows the host namespace's interfaces
/// (what `ip netns exec` does). The machine's mounts are untouched: the new mount namespace
/// is private.
pub fn with_own_sysfs(sb: &Sandbox, name: &str, target: &Path) {
    let body = format!(
        "#!/bin/sh\nexec /usr/bin/unshare --mount --propagation private /bin/sh -c \
         '/bin/mount -t sysfs sysfs /sys && exec \"$0\"' {}\n",
        target.display()
    );
    script(&sb.bin_dir(), name, &body);
}
