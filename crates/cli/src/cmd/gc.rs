//! `twill gc`: dead runs, attachments whose namespace is gone, then GC to the plugins.

use std::collections::BTreeSet;

use anyhow::Result;
use serde_json::json;
use twill_runtime::{GcAttachment, NetworkList};

use crate::args::GcArgs;
use crate::context::Ctx;
use crate::detach::{del_cached, label};
use crate::errors::Reported;
use crate::nsfs::netns_exists;
use crate::output;
use crate::run::{state, teardown};
use crate::{default_net, networks};

/// What a GC did.
#[derive(Debug, Default)]
struct Done {
    runs: Vec<String>,
    released: Vec<String>,
    gc_networks: Vec<String>,
    notes: Vec<String>,
    errors: Vec<String>,
}

/// Runs `twill gc`.
pub fn gc(ctx: &Ctx, a: &GcArgs) -> Result<()> {
    let runtime = ctx.runtime();
    let mut done = Done::default();
    // Attachments of runs still going: never released, and valid for the plugins' GC (an
    // ADD in progress is not in the cache yet).
    let mut live: BTreeSet<(String, GcAttachment)> = BTreeSet::new();
    for (path, st) in state::list(&ctx.runs_dir()) {
        match st {
            Ok(s) if s.owner_alive() => {
                for att in &s.attachments {
                    let key = GcAttachment::new(&s.container_id, &att.ifname);
                    live.insert((att.network.clone(), key));
                }
            }
            Ok(s) => match teardown::teardown(ctx, &s, &path) {
                Ok(()) => done.runs.push(s.name.clone()),
                Err(e) => done.errors.push(format!("{e:#}")),
            },
            Err(e) => done.errors.push(format!("{e:#}")),
        }
    }

    let (mut nets, load_errors) = networks::load_all(ctx)?;
    networks::warn_all(&load_errors);
    if !nets.iter().any(|n| n.name() == default_net::NAME) && default_net::file(ctx).exists() {
        nets.push(default_net::ensure(ctx)?);
    }

    let listing = runtime.cached_attachments(a.net.as_deref())?;
    for c in &listing.attachments {
        let r = &c.record;
        let key = (
            r.network_name.clone(),
            GcAttachment::new(&r.container_id, &r.ifname),
        );
        let gone = netns_exists(&r.netns) == Some(false) && !live.contains(&key);
        if !(a.all || gone) {
            continue;
        }
        let current = nets.iter().find(|n| n.name() == r.network_name);
        match del_cached(&runtime, c, current) {
            Ok(()) => done.released.push(label(c)),
            Err(e) => done.errors.push(format!("DEL of {}: {e:#}", label(c))),
        }
    }

    let scope: Vec<&NetworkList> = match &a.net {
        Some(name) => {
            let found: Vec<&NetworkList> = nets.iter().filter(|n| n.name() == name).collect();
            if found.is_empty() {
                done.notes.push(format!(
                    "network {name:?} is not configured: its plugins were not asked to GC"
                ));
            }
            found
        }
        None => nets.iter().collect(),
    };
    for net in scope {
        let live_here: Vec<GcAttachment> = live
            .iter()
            .filter(|(n, _)| !a.all && n == net.name())
            .map(|(_, k)| k.clone())
            .collect();
        // Everything still cached is valid: the releases above are done. Decided under the
        // network's lock, so an ADD completing meanwhile is kept, not released.
        let decide = |cached: &[twill_runtime::cache::CachedAttachment]| {
            let mut valid: BTreeSet<GcAttachment> = live_here.iter().cloned().collect();
            valid.extend(
                cached
                    .iter()
                    .map(|c| GcAttachment::new(&c.record.container_id, &c.record.ifname)),
            );
            valid.into_iter().collect()
        };
        match runtime.gc_with(net, decide) {
            Ok(()) => done.gc_networks.push(net.name().to_owned()),
            Err(e) => done
                .errors
                .push(format!("GC of network {:?}: {e:#}", net.name())),
        }
    }
    print(ctx, &done)?;
    if done.errors.is_empty() {
        Ok(())
    } else {
        Err(Reported.into())
    }
}

fn print(ctx: &Ctx, d: &Done) -> Result<()> {
    if ctx.json {
        output::print_json(&json!({
            "runs": d.runs,
            "released": d.released,
            "gcNetworks": d.gc_networks,
            "notes": d.notes,
            "errors": d.errors,
        }))?;
        return Ok(());
    }
    let mut text = String::new();
    for r in &d.runs {
        text.push_str(&format!("removed run {r} (its twill process is gone)\n"));
    }
    for r in &d.released {
        text.push_str(&format!("released {r}\n"));
    }
    for n in &d.notes {
        text.push_str(&format!("note: {n}\n"));
    }
    if d.gc_networks.is_empty() {
        text.push_str("GC: no network\n");
    } else {
        text.push_str(&format!("GC: {}\n", d.gc_networks.join(", ")));
    }
    output::print(&text)?;
    let mut err = String::new();
    for e in &d.errors {
        err.push_str(&format!("twill: gc: {e}\n"));
    }
    if !err.is_empty() {
        use std::io::Write;
        let _ = std::io::stderr().lock().write_all(err.as_bytes());
    }
    Ok(())
}
