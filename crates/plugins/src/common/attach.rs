//! ADD's tail for a plugin whose result has one interface, `CNI_IFNAME` in the container:
//! the result's interface, the IPAM's addresses, routes and DNS taken into it, and those
//! addresses and routes configured on the interface.

use twill_cni::result::{IpConfig, V1Interface, V1Result};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::{Link, LinkId, NetNs, Netlink};

use super::configure::{self, IfaceSysctls};
use super::error::{internal, kernel};
use super::ipam;

/// A result naming only `CNI_IFNAME` in `sandbox`, with `link`'s MAC.
pub fn result_for(args: &CmdArgs, link: &Link, sandbox: String) -> V1Result {
    let mut result = V1Result::new();
    let mut iface = V1Interface::new(&args.ifname).in_sandbox(sandbox);
    if let Some(mac) = link.mac {
        iface = iface.with_mac(mac.to_string());
    }
    result.add_interface(iface);
    result
}

/// IPAM ADD, its addresses (all on the result's first interface), routes and DNS put into
/// `result`. Sets `reserved` once the IPAM's ADD succeeded, so a failure after it releases
/// the reservation; an IPAM result without addresses is refused.
pub fn take_ipam(
    ipam_type: &str,
    args: &CmdArgs,
    result: &mut V1Result,
    reserved: &mut bool,
) -> Result<(), CniError> {
    let from_ipam = ipam::add(ipam_type, args)?;
    *reserved = true;
    if from_ipam.ips.is_empty() {
        return Err(internal("IPAM plugin returned missing IP config"));
    }
    result.ips = from_ipam.ips;
    for ip in &mut result.ips {
        ip.interface = Some(0);
    }
    result.routes = from_ipam.routes;
    result.dns = from_ipam.dns;
    Ok(())
}

/// The result's addresses and routes on interface `index` (`CNI_IFNAME`), after its
/// sysctls are written in `container`; `set_up` brings the link up before its carrier is
/// read. Duplicate address detection needs a carrier to finish (a cable unplugged, a peer
/// down, a tap no program holds open): without one it is not waited for (the reference
/// waits its 10 s and goes on regardless).
pub fn configure_addresses(
    args: &CmdArgs,
    container: &NetNs,
    cnl: &mut Netlink,
    index: u32,
    result: &V1Result,
    set_up: bool,
) -> Result<(), CniError> {
    let ips: Vec<&IpConfig> = result.ips.iter().collect();
    let sysctls = IfaceSysctls {
        ifname: &args.ifname,
        dad: None,
        arp_notify: false,
        ipv6: ips.iter().any(|ip| ip.address.addr().is_ipv6()),
    };
    container
        .run(|| configure::write_sysctls(&sysctls))
        .map_err(kernel)?
        .map_err(internal)?;
    let id = LinkId::Index(index);
    if set_up {
        cnl.link_set_up(id).map_err(kernel)?;
    }
    let settle = cnl.link_get(id).map_err(kernel)?.has_carrier();
    configure::configure_iface(cnl, index, &args.ifname, &ips, &result.routes, settle)
}
