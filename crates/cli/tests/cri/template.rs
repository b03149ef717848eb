//! containerd's `conf_template`: the kubelet hands the node's pod CIDRs over with
//! UpdateRuntimeConfig, containerd renders the template into
//! `<conf_dir>/10-containerd-net.conflist`, and twill serves pods from it.

use twill_test_support::cri::{CriNode, NodePaths, Plugins, PodSpec};

use crate::common::{addresses, ping, Snapshot};

/// The template of containerd's documentation, with twill's plugins and the test's paths.
fn template(p: &NodePaths) -> String {
    format!(
        r#"{{
  "cniVersion": "1.0.0",
  "name": "{net}",
  "plugins": [
    {{
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "ipam": {{
        "type": "host-local",
        "dataDir": "{ipam}",
        "ranges": [{{{{range $i, $range := .PodCIDRRanges}}}}{{{{if $i}}}}, {{{{end}}}}[{{"subnet": "{{{{$range}}}}"}}]{{{{end}}}}],
        "routes": [{{{{range $i, $route := .Routes}}}}{{{{if $i}}}}, {{{{end}}}}{{"dst": "{{{{$route}}}}"}}{{{{end}}}}]
      }}
    }},
    {{"type": "portmap", "capabilities": {{"portMappings": true}}, "dataDir": "{portmap}"}}
  ]
}}
"#,
        net = p.network,
        ipam = p.ipam().display(),
        portmap = p.data("portmap").display()
    )
}

#[test]
fn a_conf_template_rendered_from_the_pod_cidr_serves_pods() {
    let mut node = CriNode::with(
        Plugins::Twill,
        |c| {
            let tpl = c.conf_dir.with_file_name("cni.template");
            c.conf_template = Some(tpl);
        },
        |p| {
            std::fs::write(p.dir.join("cni.template"), template(p)).unwrap();
            serde_json::Value::Null
        },
    );
    // No pod CIDR yet: no configuration, the network is not ready and pods fail.
    let (ready, _) = node.containerd.cri().condition("NetworkReady");
    assert!(!ready);
    let err = node
        .containerd
        .try_run(&PodSpec::new("early"), std::time::Duration::from_secs(20))
        .unwrap_err();
    assert!(err.message().contains("cni"), "{err}");

    // The kubelet's UpdateRuntimeConfig with a dual-stack pod CIDR.
    node.containerd
        .cri()
        .update_pod_cidr("10.23.0.0/24,fd00:23::/64")
        .unwrap();
    node.containerd.wait_network_ready();
    // containerd kept the failed sandbox (NOTREADY: its cleanup DEL could not run without a
    // configuration, so the namespace was kept); a kubelet stops and removes it, and now
    // that a configuration exists the DEL runs.
    let failed = node.containerd.cri().list_pod_sandbox().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].state, 1, "NOTREADY: {failed:?}");
    node.containerd.stop_and_remove(&failed[0].id);
    let p = node.paths();
    let written = std::fs::read(p.conf.join("10-containerd-net.conflist")).unwrap();
    let list: serde_json::Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(
        list["plugins"][0]["ipam"]["ranges"],
        serde_json::json!([[{"subnet": "10.23.0.0/24"}], [{"subnet": "fd00:23::/64"}]])
    );
    // twill's own reading of the rendered file accepts it.
    twill_cni::config::NetConfList::from_bytes(&written).unwrap();

    let a = node.containerd.run_pod(&PodSpec::new("a"));
    let b = node.containerd.run_pod(&PodSpec::new("b"));
    assert_eq!(a.ips.len(), 2, "{:?}", a.ips);
    assert!(a.ipv4().to_string().starts_with("10.23.0."), "{:?}", a.ips);
    assert!(a.ipv6().unwrap().to_string().starts_with("fd00:23::"));
    let on_eth0 = addresses(&a.ns.ns, "eth0");
    assert!(on_eth0
        .iter()
        .any(|x| x.starts_with(&format!("{}/24", a.ipv4()))));
    assert!(ping(&a.ns.ns, b.ipv4()));
    assert!(ping(&a.ns.ns, b.ipv6().unwrap()));
    for id in [a.id.clone(), b.id.clone()] {
        node.containerd.stop_and_remove(&id);
    }
    drop((a, b));
    Snapshot::of(&node).assert_empty("after the pods");
}
