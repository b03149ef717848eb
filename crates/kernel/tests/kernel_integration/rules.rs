//! Routing rules against the kernel: from-source rules in a small and a large table, both
//! families, "exists" on a repeat with the same preference, and deletion of exactly the listed rule.

use twill_kernel::rule::Rule;
use twill_kernel::IpFamily;

use crate::common::Sandbox;

#[test]
fn source_rules_round_trip() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let before = a.nl.rule_list(None).unwrap();
    let v4 = Rule::from_source("198.18.5.5/32".parse().unwrap(), 100);
    let v6 = Rule::from_source("2001:db8:5::5/128".parse().unwrap(), 70_000);
    for r in [&v4, &v6] {
        a.nl.rule_add(r).unwrap();
    }
    let listed = a.nl.rule_list(None).unwrap();
    // Without a preference a repeat is another rule (the kernel picks the next lower
    // preference); with the preference it is the same one.
    for r in listed.iter().filter(|r| r.src.is_some()) {
        assert!(a.nl.rule_add(r).unwrap_err().is_exists(), "{r}");
    }
    for want in [&v4, &v6] {
        let got = listed.iter().find(|r| r.src == want.src).unwrap();
        assert_eq!((got.table, got.family), (want.table, want.family));
        // The kernel chose the preference just below main's.
        assert_eq!(got.priority, Some(32765));
    }
    assert_eq!(
        a.nl.rule_list(Some(IpFamily::V6))
            .unwrap()
            .iter()
            .filter(|r| r.src.is_some())
            .count(),
        1
    );
    let listed_v4 = listed.iter().find(|r| r.src == v4.src).unwrap().clone();
    a.nl.rule_delete(&listed_v4).unwrap();
    assert!(a.nl.rule_delete(&listed_v4).unwrap_err().is_not_found());
    a.nl.rule_delete(&v6).unwrap();
    assert_eq!(a.nl.rule_list(None).unwrap(), before);
}
