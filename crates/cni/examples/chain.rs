//! A minimal network-list runner, for the demo:
//!
//! ```text
//! chain add CONFLIST NETNS CONTAINER-ID IFNAME
//! chain del CONFLIST NETNS CONTAINER-ID IFNAME [--result FILE]
//! ```
//!
//! ADD runs every plugin of the list in order and prints the final result; DEL runs them in
//! reverse, given the ADD result when `--result` names a file holding it. Plugins are looked up
//! in `CNI_PATH` (default `/opt/cni/bin`); `CNI_ARGS` is passed on. All the work is in
//! `twill_cni::exec::chain`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;
use twill_cni::exec::chain::{add_list, del_list};
use twill_cni::exec::{split_cni_path, Invoker, RealExec, RequestEnv};
use twill_cni::json;

const USAGE: &str =
    "usage: chain <add|del> CONFLIST NETNS CONTAINER-ID IFNAME [--result FILE (del only)]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("chain: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let (command, conflist, netns, container, ifname, result_file) = match args.as_slice() {
        [c, l, n, id, i] => (c, l, n, id, i, None),
        [c, l, n, id, i, flag, file] if flag == "--result" => (c, l, n, id, i, Some(file)),
        _ => return Err(USAGE.to_owned()),
    };
    let list = read_json(conflist)?;
    let cni_path =
        split_cni_path(&std::env::var("CNI_PATH").unwrap_or_else(|_| "/opt/cni/bin".to_owned()));
    let env = RequestEnv::new(container.as_str(), netns.as_str(), ifname.as_str())
        .with_args(std::env::var("CNI_ARGS").unwrap_or_default())
        .with_path(cni_path.clone());
    let exec = RealExec::default();
    let invoker = Invoker::new(&exec, &cni_path);

    match (command.as_str(), result_file) {
        ("add", None) => {
            let result = add_list(&invoker, &list, &env).map_err(|e| e.to_string())?;
            let text = serde_json::to_string_pretty(&result.value).map_err(|e| e.to_string())?;
            writeln!(std::io::stdout().lock(), "{text}").map_err(|e| e.to_string())
        }
        ("del", file) => {
            let prev = file.map(|f| read_json(f)).transpose()?;
            del_list(&invoker, &list, &env, prev.as_ref()).map_err(|e| e.to_string())
        }
        _ => Err(USAGE.to_owned()),
    }
}

fn read_json(file: &str) -> Result<Value, String> {
    let bytes = std::fs::read(PathBuf::from(file)).map_err(|e| format!("{file}: {e}"))?;
    json::parse(&bytes, file).map_err(|e| e.to_string())
}
