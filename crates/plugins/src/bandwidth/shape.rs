//! The kernel side: installing the shaping (with roll-back of a partial install), checking
//! it, and removing the ifb.
//!
//! Ingress (towards the container): a tbf as the root qdisc of the host end, handle `1:`.
//! Egress (from the container, which the host end receives): an ingress qdisc on the host
//! end whose u32 filter (priority 1, every protocol, class `1:1`) redirects every packet to
//! an ifb named after the network and container, whose root tbf shapes it. Names, handles,
//! priority and parameters are the reference's, so either implementation's DEL removes the
//! other's ifb.

use sha2::{Digest, Sha512};
use twill_cni::CniError;
use twill_kernel::tc::{
    handle, Action, Filter, IfbLink, Mirred, NewIfb, Qdisc, QdiscKind, ETH_P_ALL, INGRESS_HANDLE,
};
use twill_kernel::{LinkId, Netlink};

use super::config::{BandwidthConf, Limit};
use super::host::HostEnd;
use crate::common::error::{internal, kernel};
use crate::common::unlink;

/// Prefix of the ifb names (the reference's).
pub const IFB_PREFIX: &str = "bwp";
/// Prefix of the alias marking an ifb as ours, followed by the network and container ID.
pub const ALIAS_PREFIX: &str = "twill-bandwidth";
/// The handle of the root tbfs.
pub const TBF_HANDLE: u32 = handle(1, 0);
/// The priority of the redirecting filter.
pub const FILTER_PRIORITY: u16 = 1;

/// The ifb's name: `bwp` and the first 12 hex digits of SHA-512 over network name and
/// container ID, as the reference names it.
pub fn ifb_name(network: &str, container_id: &str) -> String {
    let digest = Sha512::new()
        .chain_update(network.as_bytes())
        .chain_update(container_id.as_bytes())
        .finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{IFB_PREFIX}{hex}")
}

/// The alias recording which attachment an ifb belongs to, for GC; `None` when it would
/// not fit the kernel's 255 bytes (GC then leaves that ifb to DEL).
pub fn alias(network: &str, container_id: &str) -> Option<String> {
    let a = format!("{ALIAS_PREFIX} {network} {container_id}");
    (a.len() <= twill_kernel::tc::ifb::MAX_ALIAS_LEN).then_some(a)
}

/// Reads an alias written by [`alias`]: network and container ID.
pub fn parse_alias(alias: &str) -> Option<(&str, &str)> {
    let mut parts = alias.split(' ');
    if parts.next()? != ALIAS_PREFIX {
        return None;
    }
    let (net, id) = (parts.next()?, parts.next()?);
    parts.next().is_none().then_some((net, id))
}

/// What an ADD has installed so far, for rolling back.
#[derive(Debug, Default)]
struct Installed {
    root_tbf: Option<Qdisc>,
    ifb: Option<String>,
    ingress: Option<Qdisc>,
}

impl Installed {
    /// Removes everything, newest first; failures are ignored (the ADD's error is the one
    /// that counts, and a later DEL removes the ifb again).
    fn undo(self, nl: &mut Netlink) {
        if let Some(q) = self.ingress {
            let _ = nl.qdisc_delete(&q);
        }
        if let Some(name) = self.ifb {
            let _ = nl.link_delete(LinkId::Name(&name));
        }
        if let Some(q) = self.root_tbf {
            let _ = nl.qdisc_delete(&q);
        }
    }
}

/// Installs the shaping on `host`; returns the ifb when egress is shaped. On failure,
/// what was installed is removed again.
pub fn install(
    nl: &mut Netlink,
    host: &HostEnd,
    conf: &BandwidthConf,
    network: &str,
    container_id: &str,
) -> Result<Option<IfbLink>, CniError> {
    let mut done = Installed::default();
    match install_steps(nl, host, conf, network, container_id, &mut done) {
        Ok(ifb) => Ok(ifb),
        Err(e) => {
            done.undo(nl);
            Err(e)
        }
    }
}

fn install_steps(
    nl: &mut Netlink,
    host: &HostEnd,
    conf: &BandwidthConf,
    network: &str,
    container_id: &str,
    done: &mut Installed,
) -> Result<Option<IfbLink>, CniError> {
    if let Some(l) = conf.ingress {
        let q = Qdisc::root_tbf(host.index, TBF_HANDLE, l.tbf());
        nl.qdisc_add(&q).map_err(kernel)?;
        done.root_tbf = Some(q);
    }
    let Some(l) = conf.egress else {
        return Ok(None);
    };
    let tunables = nl
        .link_tunables(LinkId::Index(host.index))
        .map_err(kernel)?;
    let name = ifb_name(network, container_id);
    let alias = alias(network, container_id);
    let spec = NewIfb {
        name: &name,
        mtu: Some(tunables.mtu),
        txqlen: Some(tunables.txqlen),
        up: true,
        alias: alias.as_deref(),
    };
    nl.ifb_add(&spec).map_err(kernel)?;
    done.ifb = Some(name.clone());
    let ifb = nl
        .ifb_get(&name)
        .map_err(kernel)?
        .ok_or_else(|| internal(format!("ifb {name:?} vanished right after its creation")))?;
    let ingress = Qdisc::ingress(host.index);
    nl.qdisc_add(&ingress).map_err(kernel)?;
    done.ingress = Some(ingress);
    nl.filter_add(&redirect(host.index, ifb.index))
        .map_err(kernel)?;
    nl.qdisc_add(&Qdisc::root_tbf(ifb.index, TBF_HANDLE, l.tbf()))
        .map_err(kernel)?;
    Ok(Some(ifb))
}

/// The filter sending everything the host end receives to the ifb.
fn redirect(host: u32, ifb: u32) -> Filter {
    Filter::u32_match_all(
        host,
        INGRESS_HANDLE,
        FILTER_PRIORITY,
        ETH_P_ALL,
        Some(handle(1, 1)),
        vec![Action::Mirred(Mirred::egress_redirect(ifb))],
    )
}

/// Checks that the shaping `conf` asks for is in place.
pub fn check(
    nl: &mut Netlink,
    host: &HostEnd,
    conf: &BandwidthConf,
    network: &str,
    container_id: &str,
) -> Result<(), CniError> {
    if let Some(l) = conf.ingress {
        check_tbf(nl, host.index, &host.name, l, "ingressRate")?;
    }
    let Some(l) = conf.egress else {
        return Ok(());
    };
    let name = ifb_name(network, container_id);
    let ifb = nl
        .ifb_get(&name)
        .map_err(kernel)?
        .ok_or_else(|| internal(format!("egressRate: the ifb {name:?} does not exist")))?;
    let qdiscs = nl.qdisc_list(Some(host.index)).map_err(kernel)?;
    if !qdiscs.iter().any(|q| q.kind == QdiscKind::Ingress) {
        return Err(internal(format!(
            "egressRate: {:?} has no ingress qdisc",
            host.name
        )));
    }
    let filters = nl.filter_list(host.index, INGRESS_HANDLE).map_err(kernel)?;
    let redirects = filters.iter().any(|f| {
        f.u32.as_ref().is_some_and(|u| {
            u.has_selector
                && u.actions.first() == Some(&Action::Mirred(Mirred::egress_redirect(ifb.index)))
        })
    });
    if !redirects {
        return Err(internal(format!(
            "egressRate: no filter on {:?} redirects its traffic to {name:?}",
            host.name
        )));
    }
    check_tbf(nl, ifb.index, &name, l, "egressRate")
}

fn check_tbf(
    nl: &mut Netlink,
    index: u32,
    name: &str,
    l: Limit,
    key: &str,
) -> Result<(), CniError> {
    let want = l.tbf();
    let qdiscs = nl.qdisc_list(Some(index)).map_err(kernel)?;
    match qdiscs.iter().find(|q| q.is_root()).map(|q| &q.kind) {
        Some(QdiscKind::Tbf(have)) if *have == want => Ok(()),
        Some(QdiscKind::Tbf(have)) => Err(internal(format!(
            "{key}: the tbf of {name:?} has rate {} B/s, buffer {} ticks, limit {} B; configured: rate {} B/s, buffer {} ticks, limit {} B",
            have.rate, have.buffer, have.limit, want.rate, want.buffer, want.limit
        ))),
        Some(other) => Err(internal(format!(
            "{key}: the root qdisc of {name:?} is {}, not tbf",
            other.name()
        ))),
        None => Err(internal(format!("{key}: {name:?} has no root qdisc"))),
    }
}

/// Deletes the ifb named `name` when it exists and is an ifb; returns once it is gone, not
/// when the kernel has finished reclaiming it (`common::unlink`).
pub fn remove_ifb(nl: &mut Netlink, name: &str) -> Result<(), CniError> {
    let Some(ifb) = nl.ifb_get(name).map_err(kernel)? else {
        return Ok(());
    };
    match unlink::host_index(ifb.index) {
        Err(e) if !e.is_not_found() => Err(kernel(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ifb_names_are_the_references() {
        // The reference named the ifb of network "bwnet", container "abc123" this way.
        assert_eq!(ifb_name("bwnet", "abc123"), "bwp13229d9cfd25");
    }

    #[test]
    fn aliases_round_trip() {
        let a = alias("net", "cid-1").unwrap();
        assert_eq!(parse_alias(&a), Some(("net", "cid-1")));
        assert_eq!(parse_alias("someone else's"), None);
        assert_eq!(alias("n", &"x".repeat(300)), None);
    }
}
