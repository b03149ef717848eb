//! The gateway of a VLAN: with `isGateway` and `vlan`, the pods' gateway addresses cannot go
//! on the bridge itself (its own port is in VLAN 1), so, as the reference does, they go on
//! `<bridge>.<vlan>`: one end of a veth pair in the host whose other end (`veth%08x`) is a
//! bridge port of that VLAN (PVID, untagged). Made once and shared by every pod of the VLAN;
//! like the bridge, never deleted by DEL.

use twill_cni::CniError;
use twill_kernel::{Link, LinkId, NetNs, Netlink};

use super::config::BridgeConf;
use super::vlan;
use crate::common::error::{internal, kernel};
use crate::common::veth::{self, PortSpec};

/// `<bridge>.<vlan>`, found or made, up. A link of that name that is not a veth is an
/// error.
pub fn ensure(
    host: &mut Netlink,
    conf: &BridgeConf,
    bridge: u32,
    vid: u16,
) -> Result<Link, CniError> {
    let name = format!("{}.{vid}", conf.bridge);
    let fail = |why: String| internal(format!("failed to create vlan interface: {why}"));
    match host.link_get(LinkId::Name(&name)) {
        Ok(link) if link.kind.as_deref() == Some("veth") => {
            if !link.is_up() {
                host.link_set_up(LinkId::Index(link.index))
                    .map_err(kernel)?;
            }
            return Ok(link);
        }
        Ok(_) => return Err(fail(format!("{name:?} exists and is not a veth"))),
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    twill_kernel::link::check_name(&name).map_err(fail)?;
    let here = NetNs::current().map_err(kernel)?;
    let spec = PortSpec {
        ifname: &name,
        master: Some(bridge),
        mtu: conf.mtu,
        container_mac: None,
    };
    let port = veth::create_port(host, &here, &spec)?;
    let index = host.link_index(&port.host_name).map_err(kernel)?;
    let only_this = vlan::Vlans {
        access: Some(vid),
        ..conf.vlans.clone()
    };
    vlan::apply(host, index, &port.host_name, &only_this)?;
    host.link_set_up(LinkId::Name(&name)).map_err(kernel)?;
    host.link_get(LinkId::Name(&name)).map_err(kernel)
}
