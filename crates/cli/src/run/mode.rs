//! The network modes of `twill run` beside attaching to networks, as Docker names them:
//! `--net none` (a namespace of the run's own with only loopback, up), `--net host` (no
//! namespace of its own: the command runs in twill's) and `--net container:NAME` (the
//! namespace of the running run NAME). Each stands alone: no other `--net`, no `-p`, `--ip`
//! or `--mac` (no plugin would act on them).

use anyhow::{bail, Result};

use crate::args::RunArgs;
use crate::context::Ctx;
use crate::errors::advise;
use crate::run::state::RunState;

/// How a run gets its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetMode {
    /// A namespace of its own, attached to these networks (the default network when empty).
    Networks(Vec<String>),
    /// A namespace of its own with only loopback.
    None,
    /// The namespace twill runs in.
    Host,
    /// The namespace of the running run of this name.
    Container(String),
}

impl NetMode {
    /// The mode `--net` asks for.
    pub fn of(a: &RunArgs) -> Result<NetMode> {
        let special = |n: &str| match n {
            "none" => Some(NetMode::None),
            "host" => Some(NetMode::Host),
            _ => n
                .strip_prefix("container:")
                .map(|c| NetMode::Container(c.to_owned())),
        };
        let Some(mode) = a.nets.iter().find_map(|n| special(n)) else {
            return Ok(NetMode::Networks(a.nets.clone()));
        };
        if a.nets.len() > 1 {
            bail!(
                "--net {}: none, host and container:NAME stand alone; this run names {} \
                 networks",
                a.nets.join(" --net "),
                a.nets.len()
            );
        }
        if let NetMode::Container(name) = &mode {
            if name.is_empty() {
                bail!("--net container:NAME: name the run whose namespace to join");
            }
        }
        for (given, flag) in [
            (!a.publish.is_empty(), "-p"),
            (!a.ips.is_empty(), "--ip"),
            (a.mac.is_some(), "--mac"),
        ] {
            if given {
                bail!(
                    "{flag} needs a network to act on it; --net {} attaches none",
                    a.nets.join("")
                );
            }
        }
        Ok(mode)
    }
}

/// The running run `name` whose namespace `--net container:NAME` joins.
pub fn joined(ctx: &Ctx, name: &str) -> Result<RunState> {
    let path = RunState::path(&ctx.runs_dir(), name);
    let other = RunState::read(&path).map_err(|_| {
        advise(
            format!("--net container:{name}: no run named {name:?}"),
            "start it first with `twill run --name NAME …`",
        )
    })?;
    if !other.owner_alive() {
        return Err(advise(
            format!("--net container:{name}: run {name:?} has ended"),
            "`twill gc` cleans up after it",
        ));
    }
    Ok(other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn mode(line: &[&str]) -> Result<NetMode> {
        let mut argv = vec!["twill", "run"];
        argv.extend_from_slice(line);
        argv.extend_from_slice(&["--", "true"]);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Run(a) => NetMode::of(&a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn modes() {
        assert_eq!(mode(&[]).unwrap(), NetMode::Networks(vec![]));
        assert_eq!(
            mode(&["--net", "a", "--net", "b"]).unwrap(),
            NetMode::Networks(vec!["a".into(), "b".into()])
        );
        assert_eq!(mode(&["--net", "none"]).unwrap(), NetMode::None);
        assert_eq!(mode(&["--net", "host"]).unwrap(), NetMode::Host);
        assert_eq!(
            mode(&["--net", "container:web"]).unwrap(),
            NetMode::Container("web".into())
        );
    }

    #[test]
    fn special_modes_stand_alone() {
        for (line, want) in [
            (&["--net", "none", "--net", "a"][..], "stand alone"),
            (
                &["--net", "host", "-p", "8080:80"][..],
                "-p needs a network",
            ),
            (
                &["--net", "none", "--ip", "10.0.0.2"][..],
                "--ip needs a network",
            ),
            (
                &["--net", "container:x", "--mac", "02:00:00:00:00:01"][..],
                "--mac needs",
            ),
            (&["--net", "container:"][..], "name the run"),
        ] {
            let e = format!("{:#}", mode(line).unwrap_err());
            assert!(e.contains(want), "{line:?}: {e}");
        }
    }
}
