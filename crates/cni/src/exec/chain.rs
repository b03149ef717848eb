//! A minimal network-list runner: ADD through every plugin in order threading `prevResult`,
//! DEL in reverse. It reads only `name`, `cniVersion` and `plugins` from the list and passes
//! every other key through, so it serves demos and tests until the runtime crate (conf-dir
//! loading, capabilities, the attachment cache, result conversion) takes over.

use serde_json::{Map, Value};

use crate::error::CniError;
use crate::json::{self, Obj};
use crate::version::Version;

use super::env::RequestEnv;
use super::invoke::Invoker;
use super::output::AddResult;

/// The parts of a network list the runner needs.
#[derive(Debug)]
struct List<'a> {
    name: &'a str,
    version: Version,
    plugins: Vec<(String, &'a Map<String, Value>)>,
}

fn read_list(conflist: &Value) -> Result<List<'_>, CniError> {
    let root = Obj::root(conflist)?;
    let name = root.required_str("name")?;
    let version = Version::parse_config(root.str("cniVersion")?.unwrap_or_default())?;
    let items = root
        .array("plugins")?
        .filter(|p| !p.is_empty())
        .ok_or_else(|| CniError::invalid_config("plugins: required field is missing"))?;
    let plugins = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = json::index("plugins", i);
            let plugin_type = Obj::at(item, &path)?.required_str("type")?.to_owned();
            let map = item
                .as_object()
                .ok_or_else(|| CniError::decoding(path.clone()))?;
            Ok((plugin_type, map))
        })
        .collect::<Result<Vec<_>, CniError>>()?;
    Ok(List {
        name,
        version,
        plugins,
    })
}

/// One plugin's stdin: its own object with the list's `cniVersion` and `name` and the previous
/// result injected (replacing any spelling of those keys already there).
fn plugin_config(
    plugin: &Map<String, Value>,
    list: &List<'_>,
    prev_result: Option<&Value>,
) -> Result<Vec<u8>, CniError> {
    let mut map = plugin.clone();
    json::replace_key(&mut map, "cniVersion", list.version.as_str().into());
    json::replace_key(&mut map, "name", list.name.into());
    match prev_result {
        Some(prev) => json::replace_key(&mut map, "prevResult", prev.clone()),
        None => json::remove_key(&mut map, "prevResult"),
    }
    serde_json::to_vec(&Value::Object(map))
        .map_err(|e| CniError::decoding(format!("cannot encode plugin configuration: {e}")))
}

/// ADD through every plugin of `conflist` in order, each given the previous one's result;
/// stops at the first error, which names the plugin and network. Returns the last result.
/// Like libcni, a failed ADD is not undone here: the caller DELs, as the spec requires.
pub fn add_list(
    invoker: &Invoker<'_>,
    conflist: &Value,
    env: &RequestEnv,
) -> Result<AddResult, CniError> {
    let list = read_list(conflist)?;
    let invoker = invoker.with_network(list.name);
    let mut prev: Option<AddResult> = None;
    for (plugin_type, plugin) in &list.plugins {
        let stdin = plugin_config(plugin, &list, prev.as_ref().map(|r| &r.value))?;
        prev = Some(invoker.add(plugin_type, &stdin, env)?);
    }
    prev.ok_or_else(|| CniError::invalid_config("plugins: required field is missing"))
}

/// DEL through every plugin of `conflist` in reverse order; stops at the first error.
/// `prev_result` is the final ADD result when the caller kept it; it is given to the plugins
/// from spec 0.4.0 on, the first version whose DEL takes one.
pub fn del_list(
    invoker: &Invoker<'_>,
    conflist: &Value,
    env: &RequestEnv,
    prev_result: Option<&Value>,
) -> Result<(), CniError> {
    let list = read_list(conflist)?;
    let invoker = invoker.with_network(list.name);
    let prev = prev_result.filter(|_| list.version >= Version::V0_4_0);
    for (plugin_type, plugin) in list.plugins.iter().rev() {
        let stdin = plugin_config(plugin, &list, prev)?;
        invoker.del(plugin_type, &stdin, env)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use crate::exec::fake::{output, FakeExec};
    use serde_json::json;

    fn list() -> Value {
        json!({
            "cniVersion": "1.0.0",
            "name": "net",
            "plugins": [
                {"type": "bridge", "bridge": "br0", "Name": "stale", "prevResult": {"old": 1}},
                {"type": "portmap", "capabilities": {"portMappings": true}}
            ]
        })
    }

    fn env() -> RequestEnv {
        RequestEnv::new("c1", "/run/netns/a", "eth0")
    }

    /// Each plugin answers with its own name added to the `prevResult` it got.
    fn threading_fake() -> FakeExec {
        FakeExec::new(|call| {
            let conf = call.stdin_json();
            let mut seen = conf["prevResult"]["seen"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            seen.push(conf["type"].clone());
            Ok(output(
                0,
                &json!({"cniVersion": "1.0.0", "seen": seen}).to_string(),
            ))
        })
    }

    #[test]
    fn add_threads_prev_result_and_injects_name_and_version() {
        let fake = threading_fake();
        let result = add_list(&Invoker::new(&fake, &[]), &list(), &env()).unwrap();
        assert_eq!(result.value["seen"], json!(["bridge", "portmap"]));
        let calls = fake.calls();
        let first = calls[0].stdin_json();
        assert_eq!(
            first,
            json!({"type": "bridge", "bridge": "br0", "cniVersion": "1.0.0", "name": "net"})
        );
        let second = calls[1].stdin_json();
        assert_eq!(
            second["prevResult"],
            json!({"cniVersion": "1.0.0", "seen": ["bridge"]})
        );
        assert_eq!(second["capabilities"], json!({"portMappings": true}));
    }

    #[test]
    fn add_stops_at_the_first_error_naming_plugin_and_network() {
        let fake = FakeExec::new(|_| Ok(output(1, r#"{"code":11,"msg":"busy"}"#)));
        let err = add_list(&Invoker::new(&fake, &[]), &list(), &env()).unwrap_err();
        assert_eq!(err.code, Code::TRY_AGAIN_LATER);
        assert_eq!(
            err.msg,
            "plugin type=\"bridge\" name=\"net\" failed (add): busy"
        );
        assert_eq!(fake.calls().len(), 1);
    }

    #[test]
    fn del_runs_in_reverse_with_the_result_from_0_4_0_on() {
        let fake = FakeExec::answering(0, "");
        let prev = json!({"cniVersion": "1.0.0", "ips": []});
        del_list(&Invoker::new(&fake, &[]), &list(), &env(), Some(&prev)).unwrap();
        let types: Vec<_> = fake
            .calls()
            .iter()
            .map(|c| c.stdin_json()["type"].clone())
            .collect();
        assert_eq!(types, [json!("portmap"), json!("bridge")]);
        assert!(fake
            .calls()
            .iter()
            .all(|c| c.stdin_json()["prevResult"] == prev));

        let fake = FakeExec::answering(0, "");
        let mut old = list();
        old["cniVersion"] = json!("0.3.1");
        del_list(&Invoker::new(&fake, &[]), &old, &env(), Some(&prev)).unwrap();
        assert!(fake
            .calls()
            .iter()
            .all(|c| c.stdin_json().get("prevResult").is_none()));
    }

    #[test]
    fn bad_lists_are_refused_before_anything_runs() {
        let fake = FakeExec::answering(0, "{}");
        let inv = Invoker::new(&fake, &[]);
        for (bad, code, needle) in [
            (
                json!({"cniVersion": "1.0.0", "plugins": [{"type": "x"}]}),
                7,
                "name",
            ),
            (json!({"name": "n", "plugins": []}), 7, "plugins"),
            (
                json!({"name": "n", "plugins": [{"Type": 3}]}),
                6,
                "plugins[0].type",
            ),
            (
                json!({"name": "n", "plugins": [{}, {"ipam": {}}]}),
                7,
                "plugins[0].type",
            ),
            (
                json!({"name": "n", "cniVersion": "7.0.0", "plugins": [{"type": "x"}]}),
                1,
                "7.0.0",
            ),
            (json!([]), 6, "object"),
        ] {
            let err = add_list(&inv, &bad, &env()).unwrap_err();
            assert_eq!(err.code, Code(code), "{bad}: {err:?}");
            assert!(err.msg.contains(needle), "{bad}: {}", err.msg);
            assert!(del_list(&inv, &bad, &env(), None).is_err());
        }
        assert!(fake.calls().is_empty());
    }
}
