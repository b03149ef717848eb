//! CHECK for the plugins that give a container a child of a parent device (macvlan,
//! ipvlan): the IPAM reservation (delegated), then the container's interface against
//! `prevResult` — a child of the configured kind, mode and parent, with its MAC, addresses
//! and routes.

use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::{Link, LinkId, Netlink};

use super::check::{self, check_ips_and_routes, Inside, PREV_MISSING};
use super::child::Kind;
use super::error::{internal, kernel};
use super::lower::{self, LowerKeys};

/// What CHECK compares against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The plugin's name, for messages.
    pub plugin: &'static str,
    /// `master`, `linkInContainer`.
    pub lower: &'a LowerKeys,
    /// The child's kind and mode.
    pub kind: Kind,
    /// `ipam.type`, if any.
    pub ipam: Option<&'a str>,
    /// The configuration's `prevResult`.
    pub prev: Option<&'a serde_json::Value>,
    /// Whether the parent can be known from the configuration: named, or always the
    /// default route's interface. A chained ipvlan without `master` took the previous
    /// plugin's interface, which CHECK's `prevResult` (the ipvlan's own) no longer names.
    pub parent_known: bool,
}

/// Runs CHECK.
pub fn check(args: &CmdArgs, want: Expected<'_>) -> Result<(), CniError> {
    let missing = format!("{}: {PREV_MISSING}", want.plugin);
    let Inside {
        nl: mut inside,
        result,
        entry,
    } = check::enter(args, want.ipam, want.prev, &missing)?;
    let parent = match (want.parent_known, want.lower.link_in_container) {
        (false, _) => None,
        (true, true) => Some(lower::find_parent(
            &mut inside,
            want.lower.master.as_deref(),
            None,
        )?),
        (true, false) => {
            let mut host = Netlink::open().map_err(kernel)?;
            Some(lower::find_parent(
                &mut host,
                want.lower.master.as_deref(),
                None,
            )?)
        }
    };
    let msg = inside
        .link_get_message(LinkId::Name(&args.ifname))
        .map_err(|e| check::not_found(&args.ifname, e))?;
    let (macvlan_mode, ipvlan_mode) = (msg.macvlan_mode, msg.ipvlan_mode);
    let link =
        Link::from_message(msg).map_err(|e| internal(format!("reading {}: {e}", args.ifname)))?;
    let (kind, have, wanted) = match want.kind {
        Kind::Macvlan(m) => ("macvlan", macvlan_mode.map(|h| h.name()), m.name()),
        Kind::Ipvlan(m) => ("ipvlan", ipvlan_mode.map(|h| h.name()), m.name()),
    };
    check::check_kind(&link, &args.ifname, kind)?;
    if have != Some(wanted) {
        return Err(internal(format!(
            "Container {kind} mode {} does not match expected value: {wanted}",
            have.unwrap_or("unknown")
        )));
    }
    // The parent's index, as the container sees it: in its own namespace with
    // `linkInContainer`, else in another one (then the kernel reports a link-netnsid).
    let same_ns = link.link_netnsid.is_none();
    if let Some(parent) = parent {
        if link.link != Some(parent.index) || same_ns != want.lower.link_in_container {
            return Err(internal(format!(
                "Container interface {} is not a child of master {:?}",
                args.ifname, parent.name
            )));
        }
    }
    check::check_mac(&entry, &link, &args.ifname)?;
    check_ips_and_routes(&mut inside, &args.ifname, link.index, &result)
}
