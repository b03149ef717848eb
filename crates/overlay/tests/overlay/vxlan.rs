//! The vxlan backend end to end.

use std::time::Duration;

use crate::support::{Cluster, PREFIX};

const VXLAN: &str = r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#;

#[test]
fn pods_on_two_hosts_talk_over_vxlan_and_etcd_reads_like_flannel() {
    let mut c = Cluster::new(2, VXLAN);
    c.start_all(&[]);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    assert_ne!(c.subnet(0), c.subnet(1));
    // Pod to pod across hosts, both ways.
    assert!(
        a.node.ping(&b.ip.to_string(), 10),
        "a → b\n{}\n{}",
        c.log(0),
        c.log(1)
    );
    assert!(b.node.ping(&a.ip.to_string(), 10), "b → a");
    // Pod to the other host's underlay address.
    assert!(a.node.ping("198.18.0.2", 5), "a → host 2");
    // The leases read as flannel's.
    let leases = c.leases();
    assert_eq!(leases.len(), 2, "{leases:?}");
    for (key, v) in &leases {
        assert!(key.ends_with("-24"), "{key}");
        assert_eq!(v["BackendType"], "vxlan");
        assert_eq!(v["BackendData"]["VNI"], 1);
        assert!(v["BackendData"]["VtepMAC"].as_str().unwrap().len() == 17);
        assert!(v["PublicIP"].as_str().unwrap().starts_with("198.18.0."));
    }
    // The device is flannel's shape: vxlan id 1, port 8472, nolearning, MTU 1450.
    let link = c.hosts[0]
        .node
        .run("ip", &["-d", "link", "show", "twill.1"]);
    assert!(link.contains("vxlan id 1"), "{link}");
    assert!(link.contains("dstport 8472"), "{link}");
    assert!(link.contains("nolearning"), "{link}");
    assert!(link.contains("mtu 1450"), "{link}");
    let env = c.wait_subnet_env(0);
    assert!(env.contains("FLANNEL_NETWORK=10.244.0.0/16"), "{env}");
    assert!(env.contains("FLANNEL_MTU=1450"), "{env}");
    assert!(env.contains("FLANNEL_IPMASQ=true"), "{env}");
    c.del(&a);
    c.del(&b);
    let _ = PREFIX;
    let _ = Duration::ZERO;
}
