//! CHECK: the IPAM reservation (delegated), then what ADD created against the kernel: the
//! container's veth with the addresses and routes of `prevResult` and the point-to-point
//! routes, and its host end with the gateway addresses and the routes back to the pod.

use twill_cni::result::{IpConfig, V1Interface};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::route::{Route, TABLE_MAIN};
use twill_kernel::{Link, Netlink};

use super::config::PtpConf;
use super::routing;
use crate::common::check::{self, check_ips_and_routes, checked_veth, Begun, PREV_MISSING};
use crate::common::configure::addresses_for;
use crate::common::error::{internal, kernel};
use crate::common::{masq, netns};

/// Runs CHECK.
pub fn check(args: &CmdArgs) -> Result<(), CniError> {
    let conf = PtpConf::parse(args)?;
    let missing = format!("ptp: {PREV_MISSING}");
    let Begun {
        path,
        container,
        result,
    } = check::begin(
        args,
        Some(conf.ipam.as_str()),
        conf.net.plugin.prev_result.as_ref(),
        &missing,
    )?;
    if conf.ip_masq {
        masq::check(args, &result.ips)?;
    }
    let cont_entry = check::own_entry(args, path, &result)?;

    let (mut nl, ()) = netns::enter(&container, path, || ())?;
    let cont = checked_veth(&mut nl, &cont_entry, "Container")?;
    check_ips_and_routes(&mut nl, &args.ifname, cont.index, &result)?;
    let mine: Vec<&IpConfig> = addresses_for(&result, &args.ifname)?;
    let gatewayed = routing::gatewayed(&mine)?;
    let wanted = routing::container_routes(&gatewayed, cont.index);
    expect_routes(&mut nl, &wanted, "in the container")?;

    let mut host = Netlink::open().map_err(kernel)?;
    let host_end = find_host_end(&mut host, &result.interfaces, &cont)?;
    let have = host.addr_list(None, Some(host_end.index)).map_err(kernel)?;
    for a in routing::host_addresses(&gatewayed, host_end.index) {
        if !have.iter().any(|h| h.prefix == a.prefix) {
            return Err(internal(format!(
                "gateway address {} not found on {}",
                a.prefix, host_end.name
            )));
        }
    }
    let wanted = routing::host_routes(&gatewayed, host_end.index);
    expect_routes(&mut host, &wanted, "on the host")
}

/// The host end of the container's veth among the result's host-side interfaces.
fn find_host_end(
    host: &mut Netlink,
    interfaces: &[V1Interface],
    cont: &Link,
) -> Result<Link, CniError> {
    for entry in interfaces.iter().filter(|i| i.sandbox.is_empty()) {
        let veth = checked_veth(host, entry, "Host")?;
        // Peers name each other's index (in the other namespace): both must agree.
        if veth.link == Some(cont.index) && cont.link == Some(veth.index) {
            return Ok(veth);
        }
    }
    Err(internal(format!(
        "ptp: the host end of {} was not found in prevResult",
        cont.name
    )))
}

/// Each route of `wanted` is in the main table (same destination, gateway and interface).
fn expect_routes(nl: &mut Netlink, wanted: &[Route], place: &str) -> Result<(), CniError> {
    let routes = nl.route_list(None, Some(TABLE_MAIN)).map_err(kernel)?;
    for w in wanted {
        let found = routes
            .iter()
            .any(|r| r.dst == w.dst && r.gateway == w.gateway && r.oif == w.oif);
        if !found {
            return Err(internal(format!(
                "Expected Route {w} not found in routing table {place}"
            )));
        }
    }
    Ok(())
}
