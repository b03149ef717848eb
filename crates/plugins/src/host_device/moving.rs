//! Moving a device between the host and the container, each direction undone on failure.
//!
//! In: down (a device cannot be renamed while up on kernels before 6.2), alias = its host
//! name, into the container's namespace, renamed to `CNI_IFNAME` there, up. Out: down,
//! renamed to its host name, into the plugin's namespace (the host), alias and up state as
//! they were. A move fails with `EEXIST` when the name is taken on the other side; the
//! device is then left where it was, under the name it had.

use std::os::fd::AsFd;

use twill_cni::CniError;
use twill_kernel::{Link, LinkId, NetNs, Netlink};

use super::saved::Saved;
use crate::common::error::{internal, kernel};

/// Moves host link `dev` into the container (`cnl` is a socket there) as `ifname`, up.
/// Returns the link as the container sees it. On failure the device is back on the host
/// with its name, alias and up state.
pub fn move_in(
    host: &mut Netlink,
    cnl: &mut Netlink,
    container: &NetNs,
    dev: &Link,
    ifname: &str,
    saved: &Saved,
) -> Result<Link, CniError> {
    let id = LinkId::Index(dev.index);
    let moved = host
        .link_set_down(id)
        .and_then(|()| host.link_set_alias(id, &dev.name))
        .and_then(|()| host.link_set_netns(id, container.as_fd()));
    if let Err(e) = moved {
        restore_on_host(host, saved);
        return Err(internal(format!("failed to move link {:?}: {e}", dev.name)));
    }
    // The index may change with the namespace; the name does not.
    let inside = cnl.link_get(LinkId::Name(&dev.name)).map_err(kernel)?;
    let renamed = rename_and_up(cnl, inside.index, &dev.name, ifname);
    match renamed {
        Ok(link) => Ok(link),
        Err(e) => {
            let back = move_out(cnl, inside.index, &dev.name);
            restore_on_host(host, saved);
            match back {
                Ok(()) => Err(e),
                Err(b) => Err(internal(format!(
                    "{}; moving it back failed: {}",
                    e.msg, b.msg
                ))),
            }
        }
    }
}

fn rename_and_up(
    cnl: &mut Netlink,
    index: u32,
    name: &str,
    ifname: &str,
) -> Result<Link, CniError> {
    let id = LinkId::Index(index);
    if name != ifname {
        cnl.link_rename(id, ifname).map_err(|e| {
            internal(format!(
                "failed to rename device {name:?} to {ifname:?}: {e}"
            ))
        })?;
    }
    cnl.link_set_up(id).map_err(kernel)?;
    cnl.link_get(id).map_err(kernel)
}

/// Moves container link `index` back to the plugin's namespace as `original`. On failure
/// it keeps the name it had in the container, so a retried DEL finds it again.
pub fn move_out(cnl: &mut Netlink, index: u32, original: &str) -> Result<(), CniError> {
    let id = LinkId::Index(index);
    let current = cnl.link_get(id).map_err(kernel)?.name;
    cnl.link_set_down(id).map_err(kernel)?;
    if current != original {
        cnl.link_rename(id, original).map_err(|e| {
            internal(format!(
                "failed to restore {current:?} to original name {original:?}: {e}"
            ))
        })?;
    }
    let host = NetNs::current().map_err(kernel)?;
    if let Err(e) = cnl.link_set_netns(id, host.as_fd()) {
        if current != original {
            let _ = cnl.link_rename(id, &current);
        }
        return Err(internal(format!(
            "failed to move {original:?} to the host namespace: {e}"
        )));
    }
    Ok(())
}

/// On the host, device `saved.original` gets its alias and up state back. Best effort: what
/// fails goes to stderr (the device itself is back, which is what matters).
pub fn restore_on_host(host: &mut Netlink, saved: &Saved) {
    let id = LinkId::Name(&saved.original);
    let alias = saved.alias.as_deref().unwrap_or_default();
    if let Err(e) = host.link_set_alias(id, alias) {
        eprintln!(
            "host-device: restoring the alias of {:?}: {e}",
            saved.original
        );
    }
    if saved.up {
        if let Err(e) = host.link_set_up(id) {
            eprintln!("host-device: bringing {:?} up again: {e}", saved.original);
        }
    }
}

/// After the container's namespace is gone: the kernel hands a physical device of a
/// destroyed namespace back to the initial namespace (virtual ones, like veths, are
/// destroyed with it), named as it was in the container or `dev<N>` when that name is taken
/// there, alias kept. Finds it by MAC and alias in the plugin's namespace and gives it its
/// name back; returns whether it found it. Nothing found is no error: the device is gone, or
/// it landed in a namespace that is not this one.
pub fn recover_returned(host: &mut Netlink, saved: &Saved) -> Result<bool, CniError> {
    let links = host.link_list().map_err(kernel)?;
    let mut found = None;
    for l in links {
        let mac_matches = saved.mac.as_deref().is_some_and(|m| {
            l.mac
                .is_some_and(|lm| lm.to_string().eq_ignore_ascii_case(m))
        });
        if !mac_matches {
            continue;
        }
        if host
            .link_alias(LinkId::Index(l.index))
            .map_err(kernel)?
            .as_deref()
            == Some(saved.original.as_str())
        {
            found = Some(l);
            break;
        }
    }
    let Some(dev) = found else { return Ok(false) };
    if dev.name != saved.original {
        let id = LinkId::Index(dev.index);
        host.link_set_down(id).map_err(kernel)?;
        host.link_rename(id, &saved.original).map_err(|e| {
            internal(format!(
                "failed to restore {:?} to original name {:?}: {e}",
                dev.name, saved.original
            ))
        })?;
    }
    restore_on_host(host, saved);
    Ok(true)
}
