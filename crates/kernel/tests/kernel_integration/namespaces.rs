//! Named namespaces, running work inside one, sockets that stay in their namespace,
//! per-namespace sysctls.

use std::panic::{catch_unwind, AssertUnwindSafe};

use twill_kernel::{sysctl, NetNs, NewLink};

use crate::common::Sandbox;

#[test]
fn create_list_open_delete() {
    let mut sb = Sandbox::new();
    let name = sb.unique_name();
    let ns = sb.dir().create(&name).unwrap();
    sb.adopt(&name);
    assert!(sb.dir().list().unwrap().contains(&name));
    let again = sb.dir().open(&name).unwrap();
    assert_eq!(ns.identity().unwrap(), again.identity().unwrap());
    assert_ne!(
        ns.identity().unwrap(),
        NetNs::current().unwrap().identity().unwrap()
    );

    let e = sb.dir().create(&name).unwrap_err();
    assert!(e.is_exists());
    assert_eq!(
        e.to_string(),
        format!("create network namespace {name:?}: File exists (os error 17)")
    );

    sb.dir().delete(&name).unwrap();
    assert!(!sb.dir().list().unwrap().contains(&name));
    assert!(sb.dir().delete(&name).unwrap_err().is_not_found());
    assert!(sb.dir().open(&name).unwrap_err().is_not_found());
    assert!(sb.dir().create("../escape").is_err());
}

#[test]
fn run_inside_returns_and_never_moves_the_caller() {
    let mut sb = Sandbox::new();
    let a = sb.ns();
    let home = NetNs::current().unwrap().identity().unwrap();
    let target = a.ns.identity().unwrap();

    let inside =
        a.ns.run(|| NetNs::current().unwrap().identity().unwrap())
            .unwrap();
    assert_eq!(inside, target);
    assert_eq!(NetNs::current().unwrap().identity().unwrap(), home);

    // A panic inside is resumed here, and the caller still has its own namespace.
    let caught = catch_unwind(AssertUnwindSafe(|| a.ns.run(|| panic!("inside"))));
    assert!(caught.is_err());
    assert_eq!(NetNs::current().unwrap().identity().unwrap(), home);

    // Borrowed state works (the thread is scoped).
    let mut seen = Vec::new();
    a.ns.run(|| seen.push(1)).unwrap();
    assert_eq!(seen, [1]);
}

#[test]
fn sockets_stay_in_their_namespace() {
    let mut sb = Sandbox::new();
    let mut a = sb.ns();
    let mut b = sb.ns();
    // Opened inside `a`, used from this thread: still operates on `a`.
    let mut extra = a.ns.netlink().unwrap();
    extra.link_add(&NewLink::bridge("only-a")).unwrap();
    assert!(a.nl.link_get("only-a".into()).is_ok());
    assert!(b.nl.link_get("only-a".into()).unwrap_err().is_not_found());
    // A fresh namespace has only loopback.
    let names: Vec<_> =
        b.nl.link_list()
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
    assert_eq!(names, ["lo"]);
}

#[test]
fn sysctls_are_per_namespace() {
    let mut sb = Sandbox::new();
    let a = sb.ns();
    let b = sb.ns();
    let key = "net.ipv4.ip_forward";
    let before_b = sysctl::read_in(&b.ns, key).unwrap();
    let flipped = if before_b == "1" { "0" } else { "1" };
    sysctl::write_in(&a.ns, key, flipped).unwrap();
    assert_eq!(sysctl::read_in(&a.ns, key).unwrap(), flipped);
    assert_eq!(sysctl::read_in(&b.ns, key).unwrap(), before_b);
    // Slash form, with an interface name that only exists in `a`.
    let e = sysctl::read_in(&b.ns, "net/ipv4/conf/nonexistent0/forwarding").unwrap_err();
    assert!(e.is_not_found());
    assert!(
        e.to_string()
            .starts_with("read sysctl net/ipv4/conf/nonexistent0/forwarding: "),
        "{e}"
    );
}
