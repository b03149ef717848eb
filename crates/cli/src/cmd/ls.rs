//! `twill ls`: the attachments in the cache.

use std::io::Write;

use anyhow::Result;
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::detach::addresses;
use crate::nsfs::netns_exists;
use crate::output::{self, Table};

/// Lists every cached attachment with its addresses and whether its namespace exists.
pub fn ls(ctx: &Ctx) -> Result<()> {
    let listing = ctx.runtime().cached_attachments(None)?;
    {
        let mut err = std::io::stderr().lock();
        for (path, why) in &listing.unreadable {
            let _ = writeln!(
                err,
                "twill: warning: unreadable cache file {}: {why}",
                path.display()
            );
        }
    }
    let rows: Vec<Value> = listing
        .attachments
        .iter()
        .map(|c| {
            let r = &c.record;
            json!({
                "network": r.network_name,
                "containerId": r.container_id,
                "ifname": r.ifname,
                "netns": r.netns,
                "addresses": addresses(r.result.as_ref()),
                "netnsExists": netns_exists(&r.netns),
            })
        })
        .collect();
    if ctx.json {
        output::print_json(&Value::Array(rows))?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "NETWORK",
        "CONTAINER",
        "IFNAME",
        "NETNS",
        "ADDRESSES",
        "ALIVE",
    ]);
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
        let addrs: Vec<&str> = r["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let alive = match r["netnsExists"].as_bool() {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        t.row(vec![
            s("network"),
            s("containerId"),
            s("ifname"),
            s("netns"),
            addrs.join(","),
            alive.to_owned(),
        ]);
    }
    output::print(&t.render())?;
    Ok(())
}
