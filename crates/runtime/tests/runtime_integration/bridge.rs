//! bridge + host-local + loopback, the reference plugins, run inside test namespaces: each
//! runtime gets a namespace playing the host (every plugin it starts enters it first) and
//! namespaces playing containers.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use twill_kernel::NetNs;
use twill_runtime::{Attachment, ConfDir, NetworkList, Runtime};

use crate::support::{
    allocations, reference_dir, write_conflist, DriverRun, NsExec, Sandbox, TempDir,
};

struct Host {
    root: TempDir,
    ns: NetNs,
}

impl Host {
    fn new(sandbox: &mut Sandbox, tag: &str) -> Host {
        let root = TempDir::new(tag);
        for d in ["conf", "data", "cache"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        write_conflist(
            &root.join("conf"),
            &json!({
                "cniVersion": "1.0.0", "name": "br",
                "plugins": [
                    {"type": "bridge", "bridge": "cnirt0", "isGateway": true, "ipMasq": false,
                     "ipam": {"type": "host-local", "dataDir": root.join("data"),
                              "ranges": [[{"subnet": "10.88.0.0/24"}]],
                              "routes": [{"dst": "0.0.0.0/0"}]}},
                    {"type": "loopback"}
                ]
            }),
        );
        let (ns, _) = sandbox.host(tag);
        Host { root, ns }
    }

    fn net(&self) -> NetworkList {
        ConfDir::new(self.root.join("conf"))
            .find("br")
            .unwrap()
            .network
    }

    fn runtime(&self) -> Runtime<NsExec> {
        Runtime::new(NsExec::new(&self.ns), vec![reference_dir()])
            .with_cache_dir(self.root.join("cache"))
    }

    fn go(&self) -> DriverRun<'_> {
        DriverRun {
            confdir: leak(self.root.join("conf")),
            cache: leak(self.root.join("cache")),
            cap_args: None,
            cni_args: "",
            host: Some(&self.ns),
        }
    }

    fn ips(&self) -> Vec<String> {
        allocations(&self.root.join("data"), "br")
    }
}

fn leak(p: PathBuf) -> &'static Path {
    Box::leak(p.into_boxed_path())
}

/// The result with what differs between two identical setups (random MACs and veth names,
/// namespace paths) blanked.
fn normalized(mut v: Value) -> Value {
    for iface in v["interfaces"].as_array_mut().unwrap() {
        iface["mac"] = json!("");
        if iface.get("sandbox").is_some() {
            iface["sandbox"] = json!("");
        }
        if iface["name"].as_str().unwrap().starts_with("veth") {
            iface["name"] = json!("veth");
        }
    }
    v
}

fn links(ns: &NetNs) -> Vec<String> {
    let mut nl = ns.netlink().unwrap();
    let mut names: Vec<String> = nl
        .link_list()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    names.sort();
    names
}

#[test]
fn bridge_chain_matches_libcni_and_interoperates_through_the_cache() {
    let mut sandbox = Sandbox::new();
    let ours = Host::new(&mut sandbox, "h-ours");
    let theirs = Host::new(&mut sandbox, "h-go");
    let (c1, c1_path) = sandbox.ns("c1");
    let (c2, c2_path) = sandbox.ns("c2");
    let (c3, c3_path) = sandbox.ns("c3");
    let c1_str = c1_path.to_str().unwrap();

    let rt = ours.runtime();
    let net = ours.net();
    let att = Attachment::new("ctr1", c1_str, "eth0");
    let a = rt.add(&net, &att).unwrap();
    let out = theirs
        .go()
        .op("add", "br", "ctr1", c2_path.to_str().unwrap(), "eth0")
        .unwrap();
    let go: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        normalized(a.value.clone()),
        normalized(go),
        "ours: {}",
        a.value
    );
    assert_eq!(a.value["ips"][0]["address"], "10.88.0.2/24");
    assert_eq!(links(&c1), ["eth0", "lo"]);
    assert!(links(&ours.ns).contains(&"cnirt0".to_owned()));

    // Both runtimes CHECK what we added, reading our cache.
    rt.check(&net, &att).unwrap();
    ours.go().op("check", "br", "ctr1", c1_str, "eth0").unwrap();

    // libcni adds a second container on our host; we CHECK and DEL it from its cache.
    let c3_str = c3_path.to_str().unwrap();
    ours.go().op("add", "br", "ctr3", c3_str, "eth0").unwrap();
    assert_eq!(ours.ips(), ["10.88.0.2", "10.88.0.3"]);
    let att3 = Attachment::new("ctr3", c3_str, "eth0");
    rt.check(&net, &att3).unwrap();
    rt.del(&net, &att3).unwrap();
    assert_eq!(links(&c3), ["lo"]);

    // And libcni deletes ours.
    ours.go().op("del", "br", "ctr1", c1_str, "eth0").unwrap();
    assert_eq!(links(&c1), ["lo"]);
    assert!(ours.ips().is_empty());
    assert!(rt.cached_attachments(None).unwrap().attachments.is_empty());

    theirs
        .go()
        .op("del", "br", "ctr1", c2_path.to_str().unwrap(), "eth0")
        .unwrap();
    assert_eq!(links(&c2), ["lo"]);
    assert!(theirs.ips().is_empty());
}

#[test]
fn del_without_a_namespace_still_releases_the_address() {
    let mut sandbox = Sandbox::new();
    let host = Host::new(&mut sandbox, "h-nonetns");
    let (_c, c_path) = sandbox.ns("c");
    let rt = host.runtime();
    let net = host.net();
    rt.add(
        &net,
        &Attachment::new("ctr", c_path.to_str().unwrap(), "eth0"),
    )
    .unwrap();
    assert_eq!(host.ips(), ["10.88.0.2"]);
    // The container is gone and the runtime no longer knows its namespace.
    rt.del(&net, &Attachment::new("ctr", "", "eth0")).unwrap();
    assert!(host.ips().is_empty());
}
