//! Unit tests of the operations, with a fake executor.

mod add_del;
mod check_gc;

use serde_json::{json, Map, Value};

use crate::testing::{FakeExec, TempDir};
use crate::{NetworkList, Runtime};

/// Three plugins: `a` wants port mappings, `b` nothing, `c` bandwidth.
fn list(version: &str) -> Value {
    json!({
        "cniVersion": version,
        "name": "net",
        "plugins": [
            {"type": "a", "capabilities": {"portMappings": true, "mac": false}},
            {"type": "b"},
            {"type": "c", "capabilities": {"bandwidth": true}}
        ]
    })
}

fn net(v: Value) -> NetworkList {
    NetworkList::from_bytes(v.to_string().as_bytes()).unwrap()
}

fn caps() -> Map<String, Value> {
    json!({
        "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
        "bandwidth": {"ingressRate": 1000, "ingressBurst": 100},
        "mac": "0a:58:0a:00:00:02"
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn runtime(fake: FakeExec, dir: &TempDir) -> Runtime<FakeExec> {
    Runtime::new(fake, vec!["/fake".into()]).with_cache_dir(&dir.0)
}
