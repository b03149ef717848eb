//! From environment and stdin to one plugin call, and from its outcome to stdout and an exit
//! code.
//!
//! The order of checks follows the Go library's wherever it has one, so a request with several
//! faults is reported by the same fault as a reference plugin reports it: required variables,
//! then stdin (JSON, `name`), then container ID and interface name, then the version (its JSON
//! type first). Two
//! things come earlier than in Go, because they make the rest meaningless: an unknown command
//! is refused before anything else is read, and VERSION is answered without reading stdin.

use std::io::{Read, Write};

use serde_json::Value;

use crate::error::CniError;
use crate::version::Version;

use super::command::Command;
use super::env::{self, EnvLookup, CNI_COMMAND};
use super::output;
use super::plugin::{CmdArgs, Plugin};
use super::stdin::{self, MAX_STDIN};

/// What a plugin tells the entry point about itself.
#[derive(Debug, Clone, Copy)]
pub struct PluginInfo<'a> {
    /// One line for a person who runs the binary by hand, such as `twill bridge v0.1.0`.
    pub about: &'a str,
    /// The configuration versions the plugin accepts. Requests at any other version fail with
    /// code 1.
    pub supported: &'a [Version],
}

/// What a successful run prints.
enum Success {
    /// No `CNI_COMMAND`: the about text, on stderr.
    About,
    /// A JSON document on stdout (ADD's result, VERSION's answer).
    Print(Value),
    /// Nothing (DEL, CHECK, GC, STATUS).
    Silent,
}

/// A failure, with the configuration's version when it was known by then.
struct Failure {
    err: CniError,
    version: Option<Version>,
}

impl From<CniError> for Failure {
    fn from(err: CniError) -> Failure {
        Failure { err, version: None }
    }
}

/// Runs one plugin invocation without touching the process: variables come from `env`, the
/// configuration from `stdin`, and everything printed goes to `stdout` and `stderr`.
///
/// Returns the exit code: 0 on success, 1 after printing the error object on stdout.
pub fn dispatch(
    plugin: &dyn Plugin,
    info: &PluginInfo<'_>,
    env: EnvLookup<'_>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let written = match execute(plugin, info, env, stdin) {
        Ok(Success::About) => output::write_about(stderr, info.about, info.supported),
        Ok(Success::Print(value)) => output::write_json(stdout, &value),
        Ok(Success::Silent) => Ok(()),
        Err(Failure { err, version }) => {
            return match output::write_error(stdout, &err, version) {
                Ok(()) => 1,
                Err(io) => {
                    // Nowhere else to report it; the exit code still says it failed.
                    let _ = writeln!(stderr, "{err}; writing the error to stdout failed: {io}");
                    1
                }
            };
        }
    };
    match written {
        Ok(()) => 0,
        Err(io) => {
            // The work is done but the runtime cannot see the result: that is a failure, and
            // stdout is the broken channel, so stderr is the only place to say why.
            let _ = writeln!(stderr, "writing the output failed: {io}");
            1
        }
    }
}

fn execute(
    plugin: &dyn Plugin,
    info: &PluginInfo<'_>,
    env: EnvLookup<'_>,
    input: &mut dyn Read,
) -> Result<Success, Failure> {
    let Some(name) = env::text(env, CNI_COMMAND)? else {
        return Ok(Success::About);
    };
    let command: Command = name.parse().map_err(|e: super::command::UnknownCommand| {
        CniError::invalid_environment(format!(
            "{e} (expected one of ADD, DEL, CHECK, GC, STATUS, VERSION)"
        ))
    })?;
    if command == Command::Version {
        return Ok(Success::Print(output::version_reply(info.supported)));
    }
    env::check_required(env, command)?;

    let bytes = stdin::read_capped(input, MAX_STDIN)?;
    let header = stdin::parse_header(&bytes)?;
    // Known from here on, so errors can carry it, even before it is checked against the
    // plugin's list.
    let known = header
        .version
        .as_ref()
        .ok()
        .and_then(|v| Version::parse_config(v).ok());
    let fail = |err: CniError| Failure {
        err,
        version: known,
    };

    let attachment = env::attachment(env, command).map_err(fail)?;
    let config_version = header.version.map_err(fail)?;
    let version = check_version(command, &config_version, info.supported).map_err(fail)?;

    let args = CmdArgs {
        command,
        container_id: attachment.container_id,
        netns: attachment.netns,
        netns_override: env::netns_override(env),
        ifname: attachment.ifname,
        args: attachment.args,
        path: env::search_path(env),
        stdin: bytes,
        config: header.value,
        name: header.name,
        version,
    };
    let outcome = match command {
        Command::Add => plugin
            .add(&args)
            .map(|result| Success::Print(fill_version(result, version))),
        Command::Del => plugin.del(&args).map(|()| Success::Silent),
        Command::Check => plugin.check(&args).map(|()| Success::Silent),
        Command::Gc => plugin.gc(&args).map(|()| Success::Silent),
        Command::Status => plugin.status(&args).map(|()| Success::Silent),
        // Answered above; kept total so a new command cannot fall through silently.
        Command::Version => Ok(Success::Print(output::version_reply(info.supported))),
    };
    outcome.map_err(|err| Failure {
        err,
        version: Some(version),
    })
}

/// Checks the configuration's version: a published one (code 1 otherwise), new enough for the
/// command (CHECK from 0.4.0, GC and STATUS from 1.1.0; code 1), and supported by the plugin
/// (code 1, with the details naming both sides).
pub fn check_version(
    command: Command,
    config_version: &str,
    supported: &[Version],
) -> Result<Version, CniError> {
    let incompatible = || {
        let list: Vec<&str> = output::normalise(supported)
            .iter()
            .map(|v| v.as_str())
            .collect();
        CniError::incompatible_version("incompatible CNI versions").with_details(format!(
            "config is {config_version:?}, plugin supports [{}]",
            list.join(", ")
        ))
    };
    let version = Version::parse_config(config_version).map_err(|_| incompatible())?;
    let floor = match command {
        Command::Check => Some(Version::V0_4_0),
        Command::Gc | Command::Status => Some(Version::V1_1_0),
        Command::Add | Command::Del | Command::Version => None,
    };
    if let Some(floor) = floor.filter(|f| version < *f) {
        return Err(CniError::incompatible_version(format!(
            "config version {version} does not allow {command} (needs {floor} or later)"
        )));
    }
    if !supported.contains(&version) {
        return Err(incompatible());
    }
    Ok(version)
}

/// Gives a result object without `cniVersion` the configuration's, which the spec requires the
/// result to carry.
fn fill_version(mut result: Value, version: Version) -> Value {
    if let Value::Object(map) = &mut result {
        if crate::json::find_key(map, "cniVersion").is_none() {
            map.insert("cniVersion".into(), version.as_str().into());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use serde_json::json;

    #[test]
    fn version_checks() {
        let all = Version::ALL;
        assert_eq!(check_version(Command::Add, "", &all), Ok(Version::V0_1_0));
        assert_eq!(
            check_version(Command::Del, "1.1.0", &all),
            Ok(Version::V1_1_0)
        );
        for (cmd, v) in [
            (Command::Add, "9.9.9"),
            (Command::Add, "banana"),
            (Command::Check, "0.3.1"),
            (Command::Check, "banana"),
            (Command::Gc, "1.0.0"),
            (Command::Status, "0.4.0"),
        ] {
            let e = check_version(cmd, v, &all).unwrap_err();
            assert_eq!(e.code, Code::INCOMPATIBLE_VERSION, "{cmd} {v}");
        }
        let e =
            check_version(Command::Add, "1.1.0", &[Version::V0_4_0, Version::V1_0_0]).unwrap_err();
        assert_eq!(e.msg, "incompatible CNI versions");
        assert_eq!(
            e.details,
            r#"config is "1.1.0", plugin supports [0.4.0, 1.0.0]"#
        );
        let e = check_version(Command::Check, "0.3.1", &all).unwrap_err();
        assert!(
            e.msg.contains("0.3.1") && e.msg.contains("CHECK"),
            "{}",
            e.msg
        );
    }

    #[test]
    fn results_get_the_config_version_only_when_missing() {
        assert_eq!(
            fill_version(json!({"ips": []}), Version::V1_0_0),
            json!({"ips": [], "cniVersion": "1.0.0"})
        );
        assert_eq!(
            fill_version(json!({"CNIVersion": "0.3.1"}), Version::V1_0_0),
            json!({"CNIVersion": "0.3.1"})
        );
        assert_eq!(fill_version(json!([1]), Version::V1_0_0), json!([1]));
    }
}
