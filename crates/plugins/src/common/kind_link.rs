//! A container interface that is a link of its own kind (dummy, vlan): made by the plugin
//! straight in the container's namespace as `CNI_IFNAME`, then IPAM and the addresses and
//! routes; any failure after it exists releases the address and deletes it. DEL deletes a
//! link of that name only when it is of the plugin's kind; CHECK looks at it the same way.

use serde_json::Value;
use twill_cni::result::CniResult;
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::{Link, LinkId, NetNs, Netlink};

use super::attach;
use super::check::{self, check_ips_and_routes, mac_matches, Inside, PREV_MISSING};
use super::error::{internal, kernel};
use super::{ipam, netns, unlink};
use twill_cni::result::Dns;

/// What ADD needs besides the link itself.
#[derive(Debug, Clone, Copy)]
pub struct Attach<'a> {
    /// The plugin's name, for messages.
    pub plugin: &'static str,
    /// `ipam.type` (the plugins using this require one).
    pub ipam: &'a str,
    /// `dns` of the configuration.
    pub dns: Option<&'a Dns>,
}

/// ADD after `create` made `CNI_IFNAME` in the container (it gets the host socket, the
/// container's namespace and a socket inside it).
pub fn add(
    args: &CmdArgs,
    at: Attach<'_>,
    create: impl FnOnce(&mut Netlink, &NetNs, &mut Netlink) -> Result<(), CniError>,
) -> Result<Value, CniError> {
    let path = netns::path(args)?;
    let container = netns::open(args)?;
    let mut host = Netlink::open().map_err(kernel)?;
    let (mut cnl, ()) = netns::enter(&container, path, || ())?;
    create(&mut host, &container, &mut cnl)?;
    let link = cnl.link_get(LinkId::Name(&args.ifname)).map_err(kernel)?;
    let mut reserved = false;
    let sandbox = path.to_string_lossy().into_owned();
    configure(
        args,
        at,
        &container,
        &mut cnl,
        &link,
        sandbox,
        &mut reserved,
    )
    .inspect_err(|_| {
        if reserved {
            if let Err(e) = ipam::del(at.ipam, args) {
                eprintln!(
                    "{}: releasing the IPAM reservation after a failed ADD: {e}",
                    at.plugin
                );
            }
        }
        if let Err(e) = cnl.link_delete(LinkId::Index(link.index)) {
            eprintln!(
                "{}: deleting {:?} after a failed ADD: {e}",
                at.plugin, args.ifname
            );
        }
    })
}

fn configure(
    args: &CmdArgs,
    at: Attach<'_>,
    container: &NetNs,
    cnl: &mut Netlink,
    link: &Link,
    sandbox: String,
    reserved: &mut bool,
) -> Result<Value, CniError> {
    let mut result = attach::result_for(args, link, sandbox);
    attach::take_ipam(at.ipam, args, &mut result, reserved)?;
    if let Some(d) = at.dns {
        result.dns = d.clone();
    }
    // A dummy always has a carrier, a vlan has its parent's.
    attach::configure_addresses(args, container, cnl, link.index, &result, true)?;
    Ok(CniResult::from_latest(result, args.version)?.to_json())
}

/// DEL: IPAM DEL (no namespace needed), then `CNI_IFNAME` when it is of `kind`. Succeeds
/// when the namespace, the link or the reservation are gone, and on repeats.
pub fn del(
    args: &CmdArgs,
    plugin: &str,
    ipam_type: Option<&str>,
    kind: &str,
) -> Result<(), CniError> {
    let released = match ipam_type {
        Some(t) => ipam::del(t, args),
        None => Ok(()),
    };
    if let Some(path) = args.netns.as_deref() {
        if let Some((_ns, mut nl, watch)) = netns::open_for_unlink(path)? {
            match nl.link_get(LinkId::Name(&args.ifname)) {
                Ok(l) if l.kind.as_deref() == Some(kind) => {
                    match unlink::container_link(nl, watch, &args.ifname) {
                        Err(e) if !e.is_not_found() => return Err(kernel(e)),
                        _ => {}
                    }
                }
                Ok(_) => eprintln!("{plugin}: {:?} is not a {kind}; left alone", args.ifname),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(kernel(e)),
            }
        }
    }
    released
}

/// CHECK's common part: IPAM CHECK, `prevResult`'s interface in this sandbox, the link of
/// `kind` with its MAC, the result's addresses and routes. Returns the link and a socket in
/// the container for the plugin's own checks.
pub fn check(
    args: &CmdArgs,
    prev: Option<&Value>,
    ipam_type: &str,
    kind: &str,
) -> Result<(Link, Netlink), CniError> {
    let Inside {
        mut nl,
        result,
        entry,
    } = check::enter(args, Some(ipam_type), prev, PREV_MISSING)?;
    let link = check::container_link(&mut nl, &args.ifname)?;
    check::check_kind(&link, &args.ifname, kind)?;
    if !mac_matches(&entry, &link) {
        return Err(internal(format!(
            "Interface {} Mac {} doesn't match container Mac",
            args.ifname, entry.mac
        )));
    }
    check_ips_and_routes(&mut nl, &args.ifname, link.index, &result)?;
    Ok((link, nl))
}
