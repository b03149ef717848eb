//! Skeleton versions and repair plans.

use crate::nft::expr::Verdict;
use crate::nft::*;

fn skeleton(port: u16) -> Skeleton {
    let t = "twill";
    let fwd = Chain::base(
        Family::Inet,
        t,
        "forward",
        ChainType::Filter,
        Hook::Forward,
        0,
    );
    let rule = Rule::new(Family::Inet, t, "forward")
        .match_value(Field::ThDport, &Value::Port(port), false)
        .verdict(Verdict::Drop);
    Skeleton::new(Table::new(Family::Inet, t))
        .chain(fwd, vec![rule])
        .unmanaged_chain(Chain::regular(Family::Inet, t, "admin"))
        .set(Set::new(Family::Inet, t, "pods", &[DataType::Ipv4Addr]))
}

#[test]
fn version_is_stable_and_follows_every_change() {
    assert_eq!(skeleton(53).version(), skeleton(53).version());
    assert_ne!(skeleton(53).version(), skeleton(54).version());
    let more = skeleton(53).set(Set::new(Family::Inet, "twill", "x", &[DataType::Mark]));
    assert_ne!(more.version(), skeleton(53).version());
}

#[test]
fn install_ends_with_an_exclusive_marker() {
    let sk = skeleton(53);
    let batch = sk.install_batch();
    let ops: Vec<&str> = batch.entries.iter().map(|e| e.op).collect();
    assert_eq!(
        ops,
        [
            "add table",
            "add chain",
            "add chain",
            "add set",
            "add rule",
            "add set",
            "create element in set"
        ]
    );
    assert!(batch.entries[6].object.contains(MARKER_SET));
}

#[test]
fn repair_replaces_only_chains_whose_rules_differ() {
    let sk = skeleton(53);
    let current: Vec<Rule> = sk.chains[0].rules.clone().unwrap();
    let (batch, chains) = sk.repair_batch(&current);
    assert!(chains.is_empty());
    assert!(!batch
        .entries
        .iter()
        .any(|e| e.op == "add rule" || e.op == "flush chain"));

    let (batch, chains) = skeleton(54).repair_batch(&current);
    assert_eq!(chains, ["forward"]);
    let ops: Vec<&str> = batch.entries.iter().map(|e| e.op).collect();
    assert!(ops.contains(&"flush chain") && ops.contains(&"add rule"));
    // The unmanaged chain is created when missing but its rules are never touched.
    let mut hand = current.clone();
    hand.push(Rule::new(Family::Inet, "twill", "admin").verdict(Verdict::Accept));
    let (_, chains) = sk.repair_batch(&hand);
    assert!(chains.is_empty());
}
