//! `twill`: cnitool's verbs, `twill run`, network management, listing and GC of attachments.
//!
//! Each subcommand is a function over a [`context::Ctx`] (where configurations, plugins,
//! cache and state live); failures travel up as `anyhow` errors and are printed once, here,
//! with the CNI code and a hint when there is one.

mod args;
mod cidr;
mod cmd;
mod container_id;
mod context;
mod default_net;
mod detach;
mod errors;
mod help;
mod netconf;
mod networks;
mod nsfs;
mod output;
mod run;
mod versions;

#[cfg(test)]
mod netconf_tests;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, NetCommand, OverlayCommand};
use context::Ctx;
use errors::{Report, Reported};

/// The exit status of `twill run` when twill itself failed (as podman and docker use it).
const RUN_FAILED: u8 = 125;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx::new(&cli.global);
    let outcome = match &cli.command {
        Command::Run(a) => match run::run(&ctx, a) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err((e, RUN_FAILED)),
        },
        other => dispatch(&ctx, other).map_err(|e| (e, 1)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err((e, code)) => {
            if e.downcast_ref::<Reported>().is_none() {
                report(&ctx, &e);
            }
            ExitCode::from(code)
        }
    }
}

fn dispatch(ctx: &Ctx, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Add(a) => cmd::cnitool::add(ctx, a),
        Command::Check(a) => cmd::cnitool::check(ctx, a),
        Command::Del(a) => cmd::cnitool::del(ctx, a),
        Command::Status(a) => cmd::cnitool::status(ctx, a),
        Command::Gc(a) => cmd::gc::gc(ctx, a),
        Command::Ls => cmd::ls::ls(ctx),
        Command::Plugins => cmd::plugins::plugins(ctx),
        Command::Overlay(OverlayCommand::Status(a)) => cmd::overlay::status(ctx, a),
        Command::Overlay(OverlayCommand::Ls(a)) => cmd::overlay::ls(ctx, a),
        Command::Net(NetCommand::Create(a)) => cmd::net::create(ctx, a),
        Command::Net(NetCommand::Ls) => cmd::net::ls(ctx),
        Command::Net(NetCommand::Inspect { name }) => cmd::net::inspect(ctx, name),
        Command::Net(NetCommand::Rm { name, force }) => cmd::net::rm(ctx, name, *force),
        // Handled before dispatch: it has its own exit codes.
        Command::Run(_) => Ok(()),
    }
}

/// Prints a failure: always in words on stderr; under `--json` also as an error object on
/// stdout, where a script reads.
fn report(ctx: &Ctx, e: &anyhow::Error) {
    let r = Report::of(e, &ctx.cni_path_str());
    let _ = std::io::stderr().lock().write_all(r.human().as_bytes());
    if ctx.json {
        let _ = output::print_json(&r.json());
    }
}
