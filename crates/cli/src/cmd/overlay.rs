//! `twill overlay status|ls`: what this node's twilld knows, read from the status file it
//! rewrites after every reconcile (`<agent state dir>/status.json`), so the CLI needs neither
//! etcd credentials nor the agent's health port.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::args::OverlayArgs;
use crate::context::Ctx;
use crate::output::{self, Table};

fn load(dir: &Path) -> Result<Value> {
    let file = dir.join("status.json");
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "{}: no status from twilld (is it running with --state-dir {}?)",
            file.display(),
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{}: not JSON", file.display()))
}

/// A member of an object, `null` when absent.
fn f<'v>(v: &'v Value, key: &str) -> &'v Value {
    v.get(key).unwrap_or(&Value::Null)
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn age(v: &Value) -> String {
    let Some(t) = v.as_f64() else {
        return "never".into();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    format!("{:.0}s ago", (now - t).max(0.0))
}

/// `twill overlay status`.
pub fn status(ctx: &Ctx, a: &OverlayArgs) -> Result<()> {
    let s = load(&a.agent_dir)?;
    if ctx.json {
        return Ok(output::print_json(&s)?);
    }
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<16}{v}\n"));
    line("healthy", text(f(&s, "healthy")));
    line("lease", text(f(&s, "lease")));
    line("backend", text(f(&s, "backend")));
    line("peers", text(f(&s, "peers")));
    line("store reachable", text(f(&s, "storeReachable")));
    line("last reconcile", age(f(&s, "lastReconcile")));
    line("reconciles", text(f(&s, "reconciles")));
    line("errors", text(f(&s, "reconcileErrors")));
    line("last error", text(f(&s, "lastError")));
    if let Some(u) = f(&s, "unroutable").as_array().filter(|u| !u.is_empty()) {
        for (i, why) in u.iter().enumerate() {
            line(if i == 0 { "unroutable" } else { "" }, text(why));
        }
    }
    Ok(output::print(&out)?)
}

/// `twill overlay ls`.
pub fn ls(ctx: &Ctx, a: &OverlayArgs) -> Result<()> {
    let s = load(&a.agent_dir)?;
    let leases = f(&s, "leases").as_array().cloned().unwrap_or_default();
    if ctx.json {
        return Ok(output::print_json(&Value::Array(leases))?);
    }
    let mut t = Table::new(&[
        "SUBNET",
        "IPV6 SUBNET",
        "PUBLIC IP",
        "BACKEND",
        "VTEP MAC",
        "EXPIRES",
        "",
    ]);
    for l in &leases {
        let expires = match f(l, "ttl").as_i64() {
            None => "never (reserved)".to_owned(),
            Some(n) if n < 0 => "kept alive".to_owned(),
            Some(n) => format!("in {n}s"),
        };
        let public = match (f(l, "publicIP"), f(l, "publicIPv6")) {
            (Value::Null, v6) => text(v6),
            (v4, _) => text(v4),
        };
        t.row(vec![
            text(f(l, "subnet")),
            text(f(l, "ipv6Subnet")),
            public,
            text(f(l, "backend")),
            text(f(l, "vtepMAC")),
            expires,
            if f(l, "self").as_bool() == Some(true) {
                "(this node)".into()
            } else {
                String::new()
            },
        ]);
    }
    Ok(output::print(&t.render())?)
}
