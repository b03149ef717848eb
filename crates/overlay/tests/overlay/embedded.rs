//! No etcd at all: the embedded file store and the built-in network. Two agents sharing one
//! store file are two nodes of one cluster.

use std::process::Stdio;

use twill_test_support::cluster::Cluster;

#[test]
fn zero_configuration_with_the_embedded_store() {
    let mut c = Cluster::new(2, r#"{"Network":"10.9.0.0/16"}"#);
    let store = c.world.tmp().join("store.json");
    for i in 0..2 {
        let h = &c.hosts[i];
        let log = std::fs::File::create(h.dir.join("twilld.log")).unwrap();
        let child = h
            .node
            .command(twill_test_support::binaries::binary("twilld"))
            .args(["--iface", "eth0", "--ip-masq", "--resync", "2"])
            .arg(format!("--store-file={}", store.display()))
            .arg(format!(
                "--subnet-file={}",
                h.dir.join("subnet.env").display()
            ))
            .arg(format!("--state-dir={}", h.dir.join("state").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        c.agents[i] = Some(child);
    }
    // etcd holds another network: the agents never looked at it.
    let env = c.wait_subnet_env(0);
    assert!(env.contains("FLANNEL_NETWORK=10.244.0.0/16"), "{env}");
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    assert!(
        a.node.ping(&b.ip.to_string(), 10),
        "{}\n{}",
        c.log(0),
        c.log(1)
    );
    let text = std::fs::read_to_string(&store).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["leases"].as_object().unwrap().len(), 2, "{text}");
    assert!(c.leases().is_empty(), "nothing went to etcd");
}
