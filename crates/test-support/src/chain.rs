//! A chain of plugin configurations run in libcni's order: ADD front to back, each plugin
//! given the previous one's result as `prevResult`; DEL back to front, each given the
//! chain's result. How a plugin is run (which implementation, traps, environment) is the
//! caller's closure.

use serde_json::Value;

/// ADDs through `confs` with `add`; the last plugin's result.
pub fn add(confs: &[Value], mut add: impl FnMut(&Value) -> Value) -> Value {
    let mut prev: Option<Value> = None;
    for conf in confs {
        let mut c = conf.clone();
        if let Some(p) = prev.take() {
            c["prevResult"] = p;
        }
        prev = Some(add(&c));
    }
    prev.unwrap_or(Value::Null)
}

/// Runs `run` (a DEL) over `confs` from the last to the first, each given `result` as
/// `prevResult`.
pub fn del(confs: &[Value], result: &Value, mut run: impl FnMut(&Value)) {
    for conf in confs.iter().rev() {
        let mut c = conf.clone();
        c["prevResult"] = result.clone();
        run(&c);
    }
}
