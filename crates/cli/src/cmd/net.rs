//! `twill net create|ls|inspect|rm`.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use twill_runtime::NetworkList;

use crate::args::{Driver, NetCreateArgs};
use crate::context::Ctx;
use crate::detach::{del_cached, label};
use crate::errors::advise;
use crate::netconf::{self, Taken};
use crate::output::{self, Table};
use crate::{default_net, networks, versions};

/// `twill net create`.
pub fn create(ctx: &Ctx, a: &NetCreateArgs) -> Result<()> {
    valid_name(&a.name)?;
    let (nets, _) = networks::load_all(ctx)?;
    if let Some(n) = nets.iter().find(|n| n.name() == a.name) {
        return Err(advise(
            format!(
                "network {:?} already exists ({})",
                a.name,
                networks::source_of(n).display()
            ),
            format!(
                "choose another name, or remove it first with `twill net rm {}`",
                a.name
            ),
        ));
    }
    let dir = ctx.primary_conf_dir();
    let path = dir.join(format!("{}.conflist", a.name));
    if path.exists() {
        bail!(
            "{} exists (but does not load: `twill net ls` says why)",
            path.display()
        );
    }
    let (subnets, bridge) = netconf::check(a, &Taken::of(&nets))?;
    let runtime = ctx.quiet_runtime();
    let version = versions::newest_common(&runtime, &netconf::plugin_types(a.driver))
        .map_err(|e| missing_driver(e, a.driver, ctx))?;
    let conf = netconf::build(
        a,
        &subnets,
        &bridge,
        version,
        ctx.ipam_data_dir().as_deref(),
    );
    let text = format!("{}\n", output::pretty(&conf, b"  "));
    let net = NetworkList::from_bytes(text.as_bytes())?;
    runtime.validate(&net)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    twill_runtime::cache::atomic::write(&path, text.as_bytes(), 0o644)
        .with_context(|| format!("writing {}", path.display()))?;
    if ctx.json {
        output::print_json(&json!({"name": a.name, "file": path, "config": conf}))?;
    } else {
        let nets: Vec<String> = subnets
            .iter()
            .map(|(c, gw)| format!("{c} gateway {}", gw.unwrap_or_else(|| c.first_host())))
            .collect();
        output::print(&format!(
            "created network {} ({}, {}) in {}\n",
            a.name,
            main_description(a.driver, &bridge),
            nets.join(" and "),
            path.display()
        ))?;
    }
    Ok(())
}

fn main_description(d: Driver, bridge: &str) -> String {
    match d {
        Driver::Bridge => format!("bridge {bridge}"),
        Driver::Ptp => "ptp".to_owned(),
        Driver::Macvlan => "macvlan".to_owned(),
        Driver::Ipvlan => "ipvlan".to_owned(),
    }
}

/// A driver whose plugin is not on CNI_PATH: say where it comes from.
fn missing_driver(e: anyhow::Error, d: Driver, ctx: &Ctx) -> anyhow::Error {
    let missing = format!("{e:#}").contains("failed to find plugin");
    if missing && d != Driver::Bridge {
        let name = format!("{d:?}").to_lowercase();
        return advise(
            format!("{e:#}"),
            format!(
                "`twill-cni` provides {name}: install it with a `{name}` symlink (`make \
                 install`) into a directory of --cni-path (now: {})",
                ctx.cni_path_str()
            ),
        );
    }
    e
}

/// A network name as the spec allows it (it also names the file).
fn valid_name(n: &str) -> Result<()> {
    let first = n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest = n
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first && rest {
        Ok(())
    } else {
        bail!("network name {n:?}: use letters, digits, `_`, `.` and `-`, starting with a letter or digit")
    }
}

/// `twill net ls`.
pub fn ls(ctx: &Ctx) -> Result<()> {
    let (nets, errors) = networks::load_all(ctx)?;
    let mut rows: Vec<Value> = nets.iter().map(row).collect();
    if !nets.iter().any(|n| n.name() == default_net::NAME) {
        let file = default_net::file(ctx);
        let mut r = json!({
            "name": default_net::NAME,
            "plugins": ["bridge", "portmap", "firewall", "tuning"],
            "file": file,
            "embeddedDefault": true,
        });
        if let Ok(net) = twill_runtime::ConfDir::new(ctx.default_net_dir()).find(default_net::NAME)
        {
            r = row(&net.network);
            crate::output::set(&mut r, "embeddedDefault", true);
        }
        rows.push(r);
    }
    let broken: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if ctx.json {
        output::print_json(&json!({"networks": rows, "errors": broken}))?;
        return Ok(());
    }
    let mut t = Table::new(&["NAME", "VERSION", "PLUGINS", "FILE"]);
    for r in &rows {
        let plugins: Vec<&str> = r["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut file = r["file"].as_str().unwrap_or_default().to_owned();
        if r["embeddedDefault"] == true {
            file = format!("(embedded default) {file}");
        }
        t.row(vec![
            r["name"].as_str().unwrap_or_default().to_owned(),
            r["cniVersion"].as_str().unwrap_or("-").to_owned(),
            plugins.join(","),
            file,
        ]);
    }
    output::print(&t.render())?;
    networks::warn_all(&errors);
    Ok(())
}

fn row(n: &NetworkList) -> Value {
    let plugins: Vec<&str> = n.plugins().iter().map(|p| p.plugin_type.as_str()).collect();
    json!({
        "name": n.name(),
        "cniVersion": n.version().as_str(),
        "plugins": plugins,
        "file": networks::source_of(n),
    })
}

/// `twill net inspect`: the configuration, as runtimes see it.
pub fn inspect(ctx: &Ctx, name: &str) -> Result<()> {
    let net = networks::find(ctx, name)?;
    let v: Value = serde_json::from_slice(&net.bytes).context("re-reading the configuration")?;
    output::print_json(&v)?;
    Ok(())
}

/// `twill net rm`.
pub fn rm(ctx: &Ctx, name: &str, force: bool) -> Result<()> {
    let net = networks::find(ctx, name)?;
    let Some(file) = net.source.clone() else {
        bail!("network {name:?} has no file to remove");
    };
    let runtime = ctx.runtime();
    let attached = runtime.cached_attachments(Some(name))?.attachments;
    if !attached.is_empty() && !force {
        let list: Vec<String> = attached
            .iter()
            .map(|c| format!("{} in {}", label(c), c.record.netns))
            .collect();
        return Err(advise(
            format!(
                "network {name:?} has {} attachment(s): {}",
                attached.len(),
                list.join(", ")
            ),
            format!(
                "detach them (`twill del {name} NETNS --container-id ID -i IFNAME`), or \
                 `twill net rm {name} --force` to DEL them first"
            ),
        ));
    }
    let mut detached = Vec::new();
    for c in &attached {
        del_cached(&runtime, c, Some(&net))
            .with_context(|| format!("detaching {}; the network was not removed", label(c)))?;
        detached.push(label(c));
    }
    twill_runtime::cache::atomic::remove(&file)
        .with_context(|| format!("removing {}", file.display()))?;
    if ctx.json {
        output::print_json(&json!({"name": name, "file": file, "detached": detached}))?;
    } else {
        let mut text = String::new();
        for d in &detached {
            text.push_str(&format!("detached {d}\n"));
        }
        text.push_str(&format!("removed network {name} ({})\n", file.display()));
        output::print(&text)?;
    }
    Ok(())
}
