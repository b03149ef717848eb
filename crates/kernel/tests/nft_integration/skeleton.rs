//! The skeleton: installed once, verified with one request, repaired when it drifts, and
//! never touching elements.

use std::net::Ipv4Addr;

use twill_kernel::nft::expr::Verdict;
use twill_kernel::nft::*;

use crate::common::Sandbox;
use crate::fixtures::{nft, nft_json, objects, skeleton, T};

#[test]
fn ensure_installs_once_then_verifies() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft_sock = Nftables::open_in(&ns.ns).unwrap();
    let sk = skeleton(Family::Inet);
    assert_eq!(nft_sock.ensure(&sk).unwrap(), Ensured::Installed);
    let first = nft(&ns, &["list", "ruleset"]);
    let generation = nft_sock.generation().unwrap();
    assert_eq!(nft_sock.ensure(&sk).unwrap(), Ensured::Verified);
    assert_eq!(nft(&ns, &["list", "ruleset"]), first);
    assert_eq!(
        nft_sock.generation().unwrap(),
        generation,
        "verification changed nothing"
    );

    // A second socket (another plugin process) sees the same.
    let mut other = Nftables::open_in(&ns.ns).unwrap();
    assert_eq!(other.ensure(&sk).unwrap(), Ensured::Verified);

    // The marker's host-order `mark` key prints as the version itself (the set's userdata
    // carries the key's byte order), not byte-swapped.
    let listing = nft_json(&ns);
    let marker = objects(&listing, "set")
        .into_iter()
        .find(|s| s["name"] == MARKER_SET)
        .unwrap();
    assert_eq!(marker["elem"], serde_json::json!([sk.version()]));
}

#[test]
fn ensure_repairs_drift_and_keeps_elements_and_admin_rules() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft_sock = Nftables::open_in(&ns.ns).unwrap();
    let sk = skeleton(Family::Inet);
    nft_sock.ensure(&sk).unwrap();
    let pristine = nft(&ns, &["list", "ruleset"]);

    // Per-pod state and an operator's admin rule.
    let blocked = SetRef::new(Family::Inet, T, "blocked");
    let admin = Rule::new(Family::Inet, T, "admin")
        .match_value(
            Field::IpSaddr,
            &Value::Ipv4(Ipv4Addr::new(10, 9, 9, 9)),
            false,
        )
        .verdict(Verdict::Drop);
    let mut batch = Batch::new();
    batch
        .add_elements(&blocked, &[Element::new(&[Value::Port(53)])])
        .add_rule(&admin);
    nft_sock.apply(&batch).unwrap();

    // Someone deletes a skeleton rule and the marker.
    let fwd = nft_sock
        .list_rules(Family::Inet, T, Some("forward"))
        .unwrap();
    let mut batch = Batch::new();
    batch
        .delete_rule(Family::Inet, T, "forward", fwd[1].handle.unwrap())
        .flush_set(&sk.marker_set());
    nft_sock.apply(&batch).unwrap();

    let repaired = nft_sock.ensure(&sk).unwrap();
    assert_eq!(
        repaired,
        Ensured::Repaired {
            chains: vec!["forward".into()]
        }
    );
    assert_eq!(nft_sock.ensure(&sk).unwrap(), Ensured::Verified);
    assert_eq!(nft_sock.list_elements(&blocked).unwrap().len(), 1);
    let admin_rules = nft_sock.list_rules(Family::Inet, T, Some("admin")).unwrap();
    assert!(admin_rules.len() == 1 && admin_rules[0].same_as(&admin));

    // Without the per-pod element and the admin rule, the ruleset is the pristine one.
    let mut batch = Batch::new();
    batch
        .flush_set(&blocked)
        .delete_rule(Family::Inet, T, "admin", admin_rules[0].handle.unwrap());
    nft_sock.apply(&batch).unwrap();
    assert_eq!(nft(&ns, &["list", "ruleset"]), pristine);
}

#[test]
fn a_new_skeleton_version_replaces_changed_chains_only() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let mut nft_sock = Nftables::open_in(&ns.ns).unwrap();
    nft_sock.ensure(&skeleton(Family::Inet)).unwrap();
    let mut v2 = skeleton(Family::Inet);
    let fwd = v2
        .chains
        .iter_mut()
        .find(|c| c.chain.name == "forward")
        .unwrap();
    fwd.rules.as_mut().unwrap().push(
        Rule::new(Family::Inet, T, "forward")
            .match_ct_state(expr::CT_STATE_ESTABLISHED | expr::CT_STATE_RELATED)
            .verdict(Verdict::Accept),
    );
    assert_eq!(
        nft_sock.ensure(&v2).unwrap(),
        Ensured::Repaired {
            chains: vec!["forward".into()]
        }
    );
    assert_eq!(nft_sock.ensure(&v2).unwrap(), Ensured::Verified);
    assert_eq!(
        nft_sock
            .list_rules(Family::Inet, T, Some("forward"))
            .unwrap()
            .len(),
        3
    );
    let text = nft(&ns, &["list", "chain", "inet", T, "forward"]);
    assert!(
        text.contains("ct state established,related accept"),
        "{text}"
    );
}

#[test]
fn concurrent_installers_leave_one_skeleton() {
    let mut sb = Sandbox::new();
    let ns = sb.ns();
    let sk = skeleton(Family::Inet);
    let outcomes: Vec<Ensured> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let mut sock = Nftables::open_in(&ns.ns).unwrap();
                let sk = &sk;
                s.spawn(move || sock.ensure(sk).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(outcomes.contains(&Ensured::Installed), "{outcomes:?}");
    let mut nft_sock = Nftables::open_in(&ns.ns).unwrap();
    let rules = nft_sock.list_rules(Family::Inet, T, None).unwrap();
    assert_eq!(
        rules.len(),
        4,
        "rules were installed exactly once: {outcomes:?}"
    );
}
