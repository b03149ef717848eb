//! The CNI result a lease makes, read as the reference reads it: the address with the
//! router as its gateway; routes from option 121 when the server sent any (RFC 3442: then
//! options 3 and 33 are ignored for routing), otherwise option 33's routes plus a default
//! route via the router. The reference reports no DNS, so neither does this.

use std::net::{IpAddr, Ipv4Addr};

use twill_cni::result::{IpConfig, IpNet, V1Result, V1Route};

use super::client::Lease;
use super::options::{classless_routes, code, static_routes, OptionRoute};

fn route(r: OptionRoute) -> Option<V1Route> {
    let dst = IpNet::new(IpAddr::V4(r.dst), r.prefix_len).ok()?;
    let route = V1Route::new(dst);
    // An on-link route (router 0.0.0.0) has no next hop.
    Some(if r.router.is_unspecified() {
        route
    } else {
        route.via(IpAddr::V4(r.router))
    })
}

/// The result for `lease`.
pub fn result(lease: &Lease) -> V1Result {
    let mut out = V1Result::default();
    // The prefix length came from a checked mask, so it is at most 32.
    if let Ok(address) = IpNet::new(IpAddr::V4(lease.address), lease.prefix_len) {
        let mut ip = IpConfig::new(address);
        if let Some(gw) = lease.gateway() {
            ip = ip.with_gateway(IpAddr::V4(gw));
        }
        out.ips.push(ip);
    }
    let classless = classless_routes(
        lease
            .options
            .get(code::CLASSLESS_ROUTES)
            .unwrap_or_default(),
    );
    if !classless.is_empty() {
        out.routes = classless.into_iter().filter_map(route).collect();
        return out;
    }
    out.routes = static_routes(lease.options.get(code::STATIC_ROUTES).unwrap_or_default())
        .into_iter()
        .filter_map(route)
        .collect();
    if let Some(gw) = lease.gateway() {
        out.routes.extend(route(OptionRoute {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix_len: 0,
            router: gw,
        }));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::dhcp::options::Options;

    fn lease(opts: &[(u8, Vec<u8>)]) -> Lease {
        let mut options = Options::default();
        for (c, v) in opts {
            options.push(*c, v.clone());
        }
        Lease {
            address: Ipv4Addr::new(10, 9, 0, 50),
            prefix_len: 24,
            server: Ipv4Addr::new(10, 9, 0, 1),
            bound_at: 0,
            renew_at: 1,
            rebind_at: 2,
            expires_at: 3,
            options,
        }
    }

    fn text(r: &V1Result) -> String {
        twill_cni::result::CniResult::from_latest(r.clone(), twill_cni::Version::V1_0_0)
            .unwrap()
            .to_json()
            .to_string()
    }

    #[test]
    fn router_gives_gateway_and_default_route() {
        let r = result(&lease(&[(code::ROUTER, vec![10, 9, 0, 1])]));
        assert_eq!(
            text(&r),
            r#"{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.50/24","gateway":"10.9.0.1"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.9.0.1"}],"dns":{}}"#
        );
    }

    #[test]
    fn classless_routes_replace_router_and_static_routes() {
        let r = result(&lease(&[
            (code::ROUTER, vec![10, 9, 0, 1]),
            (code::STATIC_ROUTES, vec![10, 1, 0, 0, 10, 9, 0, 2]),
            (
                code::CLASSLESS_ROUTES,
                vec![16, 10, 20, 10, 9, 0, 3, 24, 10, 30, 0, 0, 0, 0, 0],
            ),
        ]));
        let dsts: Vec<String> = r.routes.iter().map(|x| x.dst.to_string()).collect();
        assert_eq!(dsts, ["10.20.0.0/16", "10.30.0.0/24"]);
        assert_eq!(r.routes[0].gw, Some(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 3))));
        assert_eq!(r.routes[1].gw, None);
        assert_eq!(
            r.ips[0].gateway,
            Some(IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1)))
        );
    }

    #[test]
    fn static_routes_come_before_the_default_route() {
        let r = result(&lease(&[
            (code::ROUTER, vec![10, 9, 0, 1]),
            (code::STATIC_ROUTES, vec![10, 1, 0, 0, 10, 9, 0, 2]),
        ]));
        let dsts: Vec<String> = r.routes.iter().map(|x| x.dst.to_string()).collect();
        assert_eq!(dsts, ["10.1.0.0/8", "0.0.0.0/0"]);
        let none = result(&lease(&[]));
        assert!(none.routes.is_empty() && none.ips[0].gateway.is_none());
    }
}
