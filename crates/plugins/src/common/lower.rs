//! What the plugins that give a container a child of a parent device (macvlan, ipvlan) share:
//! their common keys (`master`, `mtu`, `linkInContainer`), finding the parent — named, or the
//! interface of the default route — and holding the MTU to the parent's.

use twill_cni::json::{FieldError, Obj};
use twill_cni::CniError;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::{IpFamily, LinkId, Netlink};

use super::error::{internal, kernel};
use super::netconf;

/// The keys every child-of-a-parent plugin reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowerKeys {
    /// `master`: the parent's name; `None` for the interface of the default route.
    pub master: Option<String>,
    /// `mtu`: the child's MTU; `None` (absent or 0) for the parent's.
    pub mtu: Option<u32>,
    /// `linkInContainer`: the parent lives in the container's namespace, not the host's.
    pub link_in_container: bool,
}

impl LowerKeys {
    /// Reads the keys; a malformed one is refused naming it.
    pub fn parse(o: &Obj<'_>) -> Result<LowerKeys, CniError> {
        let master = match o.str("master")? {
            None | Some("") => None,
            Some(m) => {
                twill_kernel::link::check_name(m)
                    .map_err(|why| CniError::from(FieldError::invalid("master", why)))?;
                Some(m.to_owned())
            }
        };
        Ok(LowerKeys {
            master,
            mtu: netconf::mtu(o)?,
            link_in_container: o.bool("linkInContainer")?.unwrap_or(false),
        })
    }
}

/// A parent device, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// Its name.
    pub name: String,
    /// Its index in the namespace it was found in.
    pub index: u32,
    /// Its MTU.
    pub mtu: u32,
}

/// Finds the parent on `nl` (a socket in the namespace that holds it): `master`, or the
/// interface of the first default route of the main table (IPv4 before IPv6, as the
/// reference finds it). Checks `mtu` against the parent's: a child cannot be larger.
pub fn find_parent(
    nl: &mut Netlink,
    master: Option<&str>,
    mtu: Option<u32>,
) -> Result<Parent, CniError> {
    let name = match master {
        Some(m) => m.to_owned(),
        None => default_route_interface(nl)?,
    };
    let link = nl.link_get(LinkId::Name(&name)).map_err(|e| {
        if e.is_not_found() {
            CniError::from(FieldError::invalid(
                "master",
                format!("failed to lookup master {name:?}: no such interface"),
            ))
        } else {
            kernel(e)
        }
    })?;
    if let Some(m) = mtu.filter(|&m| m > link.mtu) {
        return Err(FieldError::invalid(
            "mtu",
            format!(
                "invalid MTU {m}, must be [0, master MTU({})] (master {name:?})",
                link.mtu
            ),
        )
        .into());
    }
    Ok(Parent {
        name,
        index: link.index,
        mtu: link.mtu,
    })
}

/// The name of the interface of the first default route in the main table. Without one the
/// configuration must name its parent: refused with code 7 naming `master`.
pub fn default_route_interface(nl: &mut Netlink) -> Result<String, CniError> {
    for family in [IpFamily::V4, IpFamily::V6] {
        let routes = nl
            .route_list(Some(family), Some(TABLE_MAIN))
            .map_err(kernel)?;
        let found = routes
            .iter()
            .filter(|r| r.dst.is_empty())
            .find_map(|r| r.oif);
        if let Some(index) = found {
            return nl
                .link_get(LinkId::Index(index))
                .map(|l| l.name)
                .map_err(kernel);
        }
    }
    Err(FieldError::invalid(
        "master",
        "not set, and no default route interface found to use instead",
    )
    .into())
}

/// The error for a child whose name is taken in the container.
pub fn name_taken(ifname: &str) -> CniError {
    internal(format!(
        "container interface name provided ({ifname}) already exists"
    ))
}
