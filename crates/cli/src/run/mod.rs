//! `twill run`: a command in a fresh network namespace, attached to networks, torn down when
//! the command ends.

pub mod child;
pub mod mode;
pub mod ports;
pub mod state;
pub mod teardown;

use std::io::Write;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use twill_kernel::{LinkId, NetNs};
use twill_runtime::{AddOptions, Attachment, NetworkList};

use crate::args::RunArgs;
use crate::context::Ctx;
use crate::default_net;
use crate::errors::advise;
use crate::networks;
use child::Signals;
use mode::NetMode;
use state::{RunAttachment, RunState};

/// Runs `twill run`; the exit code to leave with.
pub fn run(ctx: &Ctx, a: &RunArgs) -> Result<u8> {
    // First of all, before any thread exists: every later thread inherits the mask.
    let signals = Signals::block().context("blocking signals")?;
    let name = match &a.name {
        Some(n) => valid_name(n)?,
        None => random_name()?,
    };
    let ns_name = format!("twill-{name}");
    let mode = NetMode::of(a)?;
    let mut state = RunState {
        name: name.clone(),
        pid: std::process::id(),
        start_time: state::start_time(std::process::id())
            .context("reading this process's start time from /proc")?,
        container_id: ns_name.clone(),
        netns: ctx.netns().path(&ns_name)?,
        attachments: Vec::new(),
        owns_netns: true,
    };
    match &mode {
        NetMode::Networks(nets) => state.attachments = plan(ctx, a, nets)?,
        NetMode::None => {}
        NetMode::Host => {
            state.netns = format!("/proc/{}/ns/net", state.pid).into();
            state.owns_netns = false;
        }
        NetMode::Container(other) => {
            state.netns = mode::joined(ctx, other)?.netns;
            state.owns_netns = false;
        }
    }
    let path = RunState::path(&ctx.runs_dir(), &name);
    create_state(&state, &path)?;
    let netns = match open_netns(ctx, &state, &ns_name) {
        Ok(ns) => ns,
        Err(e) => {
            let _ = RunState::remove(&path);
            return Err(e);
        }
    };
    let outcome = attach_and_run(ctx, &state, &netns, &signals, &a.cmd);
    drop(netns);
    let torn = teardown::teardown(ctx, &state, &path);
    if let Err(e) = &torn {
        let _ = writeln!(
            std::io::stderr().lock(),
            "twill: {e:#}\n  hint: `twill gc` retries the teardown"
        );
    }
    match outcome {
        Ok(code) if torn.is_err() && code == 0 => Ok(125),
        other => other,
    }
}

/// The run's namespace: a new one named `ns_name` (with loopback up: `--net none` has
/// nothing else, and networks' plugins may bring it up again), or the one it joins.
fn open_netns(ctx: &Ctx, state: &RunState, ns_name: &str) -> Result<NetNs> {
    if !state.owns_netns {
        return NetNs::open(&state.netns)
            .with_context(|| format!("opening namespace {}", state.netns.display()));
    }
    let netns = match ctx.netns().create(ns_name) {
        Ok(ns) => ns,
        Err(e) if e.is_exists() => {
            return Err(advise(
                format!("namespace {} already exists", state.netns.display()),
                "choose another --name, or remove it with `ip netns delete`",
            ))
        }
        Err(e) => return Err(e).context("creating the network namespace"),
    };
    let lo_up = netns
        .netlink()
        .and_then(|mut nl| nl.link_set_up(LinkId::Name("lo")));
    if let Err(e) = lo_up {
        let _ = teardown::delete_netns(&state.netns);
        return Err(e).context("bringing loopback up in the new namespace");
    }
    Ok(netns)
}

/// The attachments to make: one per network, eth0, eth1, …, with the capability arguments
/// from the flags. Refuses flags no plugin of the chain would act on.
fn plan(ctx: &Ctx, a: &RunArgs, nets: &[String]) -> Result<Vec<RunAttachment>> {
    let names = if nets.is_empty() {
        vec![default_net::NAME.to_owned()]
    } else {
        nets.to_vec()
    };
    if names.len() > 1 && (!a.ips.is_empty() || a.mac.is_some()) {
        bail!(
            "--ip and --mac apply to one network; this run has {}",
            names.len()
        );
    }
    let ports: Vec<Value> = a
        .publish
        .iter()
        .map(|p| ports::parse(p))
        .collect::<Result<_>>()?;
    let runtime = ctx.runtime();
    let mut out = Vec::new();
    let mut port_capable = false;
    for (i, name) in names.iter().enumerate() {
        let net = networks::find(ctx, name)?;
        let caps = runtime.validate(&net)?;
        let mut args = Map::new();
        if !ports.is_empty() && caps.iter().any(|c| c == "portMappings") {
            port_capable = true;
            args.insert("portMappings".into(), Value::Array(ports.clone()));
        }
        if !a.ips.is_empty() {
            require(&caps, "ips", "--ip", &net)?;
            args.insert("ips".into(), a.ips.clone().into());
        }
        if let Some(mac) = &a.mac {
            require(&caps, "mac", "--mac", &net)?;
            args.insert("mac".into(), mac.clone().into());
        }
        out.push(RunAttachment {
            network: net.name().to_owned(),
            ifname: format!("eth{i}"),
            config: serde_json::from_slice(&net.bytes).context("re-reading the configuration")?,
            capability_args: args,
        });
    }
    if !ports.is_empty() && !port_capable {
        return Err(advise(
            format!(
                "-p needs a plugin with the portMappings capability, and network(s) {} have \
                 none: port mappings need the portmap plugin, which comes with twill's \
                 nftables work",
                names.join(", ")
            ),
            "leave out -p and reach the command at its address (`twill ls` shows it), or \
             use a network whose chain has portmap (e.g. with the reference plugins)",
        ));
    }
    Ok(out)
}

fn require(caps: &[String], cap: &str, flag: &str, net: &NetworkList) -> Result<()> {
    if caps.iter().any(|c| c == cap) {
        return Ok(());
    }
    Err(advise(
        format!(
            "{flag} needs a plugin with the {cap:?} capability, and network {:?} has none",
            net.name()
        ),
        format!("add \"capabilities\": {{\"{cap}\": true}} to the plugin that should act on it"),
    ))
}

fn create_state(state: &RunState, path: &std::path::Path) -> Result<()> {
    match state.create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let running = RunState::read(path).map(|s| (s.owner_alive(), s.pid));
            Err(match running {
                Ok((true, pid)) => advise(
                    format!("a run named {:?} is running (pid {pid})", state.name),
                    "choose another --name",
                ),
                _ => advise(
                    format!("a run named {:?} ended without cleaning up", state.name),
                    "`twill gc` cleans it up; or choose another --name",
                ),
            })
        }
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

/// ADD of every attachment, then the command. Returns the command's exit code; a signal
/// during setup ends the run before the command starts.
fn attach_and_run(
    ctx: &Ctx,
    state: &RunState,
    netns: &NetNs,
    signals: &Signals,
    argv: &[String],
) -> Result<u8> {
    let runtime = ctx.runtime();
    let rollback = AddOptions { rollback: true };
    for a in &state.attachments {
        if let Some(sig) = signals.pending() {
            return Ok(interrupted(sig));
        }
        let net = NetworkList::from_bytes(a.config.to_string().as_bytes())?;
        let att = Attachment::new(
            &state.container_id,
            state.netns.to_string_lossy(),
            &a.ifname,
        )
        .with_capability_args(a.capability_args.clone());
        runtime
            .add_with(&net, &att, rollback)
            .with_context(|| format!("attaching {} to network {:?}", a.ifname, a.network))?;
    }
    if let Some(sig) = signals.pending() {
        return Ok(interrupted(sig));
    }
    let mut child = match child::spawn(argv, netns, signals) {
        Ok(c) => c,
        Err(e) => {
            let program = argv.first().map_or("", String::as_str);
            let _ = writeln!(
                std::io::stderr().lock(),
                "twill: cannot run {program:?}: {e}"
            );
            return Ok(child::spawn_failure_code(&e));
        }
    };
    let status = signals
        .supervise(&mut child)
        .context("waiting for the command")?;
    Ok(child::exit_code(status))
}

fn interrupted(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(255)
}

/// A run name must be usable in a file name, a namespace name and a container ID.
fn valid_name(n: &str) -> Result<String> {
    let ok_first = n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = n
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok_first || !ok_rest || n.len() > 200 {
        bail!(
            "--name {n:?}: use letters, digits, `_`, `.` and `-`, starting with a letter or \
             digit (at most 200)"
        );
    }
    Ok(n.to_owned())
}

/// Eight random hex digits.
fn random_name() -> Result<String> {
    let mut buf = [0u8; 4];
    // SAFETY: getrandom(2) writes at most buf.len() bytes into the buffer we own.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if usize::try_from(n).ok() != Some(buf.len()) {
        return Err(std::io::Error::last_os_error()).context("getrandom");
    }
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("web-1.a_b").is_ok());
        for bad in ["", "-x", "a/b", "a b", "../x"] {
            assert!(valid_name(bad).is_err(), "{bad}");
        }
        let r = random_name().unwrap();
        assert_eq!(r.len(), 8);
        assert!(valid_name(&r).is_ok());
    }
}
