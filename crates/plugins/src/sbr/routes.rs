//! The work inside the container's namespace: rules and per-address tables on ADD (rolled
//! back on failure), their removal on DEL, and CHECK.
//!
//! ADD, as the reference does it: the first table id from 100 that no rule and no route
//! uses; per address, a rule `from <address> lookup <table>`, a default route via the
//! address's gateway in that table, and a copy there of the interface's main-table routes
//! that belong to the address (its subnet holds their source or gateway) or to no address
//! (neither set); the next address gets the next free table. Then the interface's routes
//! leave the main table — or, with `addSourceHints`, only those that are not subnet routes,
//! the subnet routes being given the address as preferred source. `gateways` replaces
//! `prevResult`'s gateways per family. With `table` set, only the rules are added, pointing
//! at it.

use std::collections::BTreeSet;

use twill_cni::CniError;
use twill_kernel::route::TABLE_MAIN;
use twill_kernel::rule::Rule;
use twill_kernel::{IpFamily, IpPrefix, LinkId, Netlink, Route, Scope};

use super::config::{SbrConf, SourceIp};
use crate::common::error::{all_done, internal, kernel};

/// The first table sbr numbers from (the reference's).
pub const FIRST_TABLE: u32 = 100;

/// A change made by ADD, for undoing it.
#[derive(Debug)]
enum Done {
    Rule(Rule),
    Route(Route),
    Removed(Route),
}

/// Undoes `done`, newest first; failures are ignored (the ADD's own error is reported).
fn undo(nl: &mut Netlink, done: Vec<Done>) {
    for step in done.into_iter().rev() {
        let _ = match step {
            Done::Rule(r) => nl.rule_delete(&r),
            Done::Route(r) => nl.route_delete(&r),
            Done::Removed(r) => nl.route_replace(&r),
        };
    }
}

/// The first table from `from` that no rule and no route uses.
fn next_free(from: u32, rules: &[Rule], routes: &[Route]) -> u32 {
    let used: BTreeSet<u32> = rules
        .iter()
        .map(|r| r.table)
        .chain(routes.iter().map(|r| r.table))
        .collect();
    (from..).find(|t| !used.contains(t)).unwrap_or(from)
}

/// Sets up source-based routing for `ips` of `ifname`.
pub fn add(
    nl: &mut Netlink,
    ifname: &str,
    ips: &[SourceIp],
    conf: &SbrConf,
) -> Result<(), CniError> {
    let mut done = Vec::new();
    let r = match conf.table {
        Some(table) => rules_only(nl, ips, table, &mut done),
        None => numbered(nl, ifname, ips, conf, &mut done),
    };
    if r.is_err() {
        undo(nl, done);
    }
    r
}

fn add_rule(
    nl: &mut Netlink,
    ip: &SourceIp,
    table: u32,
    done: &mut Vec<Done>,
) -> Result<(), CniError> {
    let rule = Rule::from_source(ip.host(), table);
    nl.rule_add(&rule).map_err(kernel)?;
    done.push(Done::Rule(rule));
    Ok(())
}

fn rules_only(
    nl: &mut Netlink,
    ips: &[SourceIp],
    table: u32,
    done: &mut Vec<Done>,
) -> Result<(), CniError> {
    for ip in ips {
        add_rule(nl, ip, table, done)?;
    }
    Ok(())
}

fn numbered(
    nl: &mut Netlink,
    ifname: &str,
    ips: &[SourceIp],
    conf: &SbrConf,
    done: &mut Vec<Done>,
) -> Result<(), CniError> {
    let rules = nl.rule_list(None).map_err(kernel)?;
    let routes = nl.route_list(None, None).map_err(kernel)?;
    let link = nl.link_get(LinkId::Name(ifname)).map_err(|e| {
        if e.is_not_found() {
            internal(format!(
                "cannot find network interface {ifname} in CNI_NETNS"
            ))
        } else {
            kernel(e)
        }
    })?;
    let own: Vec<Route> = routes
        .iter()
        .filter(|r| r.table == TABLE_MAIN && r.oif == Some(link.index))
        .cloned()
        .collect();
    let mut table = next_free(FIRST_TABLE, &rules, &routes);
    for ip in ips {
        add_rule(nl, ip, table, done)?;
        if let Some(gw) = conf.gateway_for(ip) {
            let default = Route::new(IpPrefix::default_route(IpFamily::of(&gw)))
                .via(gw)
                .dev(link.index)
                .table(table);
            nl.route_add(&default).map_err(kernel)?;
            done.push(Done::Route(default));
        }
        for r in &own {
            let belongs = r.prefsrc.is_some_and(|s| ip.contains(&s))
                || r.gateway.is_some_and(|g| ip.contains(&g))
                || (r.prefsrc.is_none() && r.gateway.is_none());
            // A configured gateway is the table's default route: the main table's default
            // (via prevResult's gateway) must not replace it, as it does in the reference.
            let configured = conf.gateway_for(ip) != ip.gateway;
            if !belongs || (configured && r.dst.is_empty()) {
                continue;
            }
            let mut copy = r.clone();
            copy.table = table;
            // The kernel refuses some flags of routes it made itself when they are added.
            copy.onlink = false;
            nl.route_replace(&copy).map_err(kernel)?;
            done.push(Done::Route(copy));
        }
        table = next_free(table.saturating_add(1), &rules, &routes);
    }
    if conf.source_hints {
        for ip in ips {
            let mut hint = Route::new(ip.net.network())
                .dev(link.index)
                .scope(Scope::LINK);
            hint.prefsrc = Some(ip.net.addr());
            // An IPv4 subnet route the kernel made has the same destination, table and
            // metric (none): it is replaced, and put back on failure. IPv6's has metric 256
            // and stays beside the hint until it leaves the main table below, as in the
            // reference.
            let previous = own
                .iter()
                .find(|r| r.dst == hint.dst && r.priority.is_none())
                .cloned();
            nl.route_replace(&hint).map_err(kernel)?;
            done.push(match previous {
                Some(p) => Done::Removed(p),
                None => Done::Route(hint),
            });
        }
    }
    // Only now: several addresses of one subnet each need the routes while being set up.
    for r in own {
        if conf.source_hints && r.scope == Some(Scope::LINK) {
            continue;
        }
        nl.route_delete(&r).map_err(kernel)?;
        done.push(Done::Removed(r));
    }
    Ok(())
}

/// Removes the rules whose source is an address of `ifname` (in `fixed` only, when set)
/// and, for sbr's own tables, the routes of `ifname` left in them. Gone interface:
/// nothing to do. Continues past failures and reports them all.
pub fn del(nl: &mut Netlink, ifname: &str, fixed: Option<u32>) -> Result<(), CniError> {
    let link = match nl.link_get(LinkId::Name(ifname)) {
        Ok(l) => l,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(kernel(e)),
    };
    let addrs: Vec<std::net::IpAddr> = nl
        .addr_list(None, Some(link.index))
        .map_err(kernel)?
        .into_iter()
        .map(|a| a.prefix.addr())
        .collect();
    let rules = nl.rule_list(None).map_err(kernel)?;
    let mut failures = Vec::new();
    let mut emptied = BTreeSet::new();
    for rule in &rules {
        let ours = rule.src.is_some_and(|s| addrs.contains(&s.addr()))
            && fixed.map_or(true, |t| rule.table == t);
        if !ours {
            continue;
        }
        match nl.rule_delete(rule) {
            Ok(()) => {
                emptied.insert(rule.table);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => failures.push(e.to_string()),
        }
    }
    if fixed.is_none() {
        let remaining = nl.rule_list(None).map_err(kernel)?;
        emptied.retain(|t| *t >= FIRST_TABLE && *t != 253 && *t != 254 && *t != 255);
        emptied.retain(|t| !remaining.iter().any(|r| r.table == *t));
        if !emptied.is_empty() {
            for r in nl.route_list(None, None).map_err(kernel)? {
                if emptied.contains(&r.table) && r.oif == Some(link.index) {
                    match nl.route_delete(&r) {
                        Err(e) if !e.is_not_found() => failures.push(e.to_string()),
                        _ => {}
                    }
                }
            }
        }
    }
    all_done(failures)
}

/// Checks that each address has its rule and, with sbr's numbering and a gateway, that the
/// rule's table has the default route via the gateway.
pub fn check(nl: &mut Netlink, ips: &[SourceIp], conf: &SbrConf) -> Result<(), CniError> {
    let fixed = conf.table;
    let rules = nl.rule_list(None).map_err(kernel)?;
    let routes = nl.route_list(None, None).map_err(kernel)?;
    for ip in ips {
        let host = ip.host();
        let rule = rules
            .iter()
            .find(|r| r.src == Some(host) && fixed.map_or(true, |t| r.table == t))
            .ok_or_else(|| {
                internal(format!(
                    "no rule routes traffic from {} by its source",
                    ip.net.addr()
                ))
            })?;
        if let (None, Some(gw)) = (fixed, conf.gateway_for(ip)) {
            let found = routes
                .iter()
                .any(|r| r.table == rule.table && r.dst.is_empty() && r.gateway == Some(gw));
            if !found {
                return Err(internal(format!(
                    "table {} of {} has no default route via {gw}",
                    rule.table,
                    ip.net.addr()
                )));
            }
        }
    }
    Ok(())
}
