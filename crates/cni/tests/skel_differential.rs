//! The entry point against the reference plugins, as real processes.
//!
//! Every class of bad input is given, with the same environment and stdin, to the test plugin
//! `twill-test-echo` and to reference plugins (host-local and static from Debian's
//! `containernetworking-plugins`) that touch no kernel state before validation fails. Where
//! the reference answers with a specific code (not 0 or 999) the codes must be equal, except
//! in the documented, deliberate differences, which are pinned here on both sides so the
//! table in docs/protocol/entry-point.md stays true.
//!
//! CNI_NETNS never names a real namespace (the path does not exist) and host-local's data
//! directory is a fresh temporary directory that must still be empty at the end.

// Helpers outside #[test] functions may unwrap and panic too: a panic is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod skel_support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use skel_support::process::{exec, owned, reference, TempDir, ECHO, REFERENCE_DIR};

/// How the valid configuration is spoiled.
#[derive(Clone, Copy)]
enum Edit {
    /// Left valid.
    Valid,
    /// A key set to a value, given as JSON text.
    Set(&'static str, &'static str),
    /// A key removed.
    Remove(&'static str),
    /// Replaced by these bytes.
    Raw(&'static str),
    /// An unterminated string that runs past 16 MiB.
    HugeGarbage,
    /// A key set as in `Set`, then padded with whitespace past 16 MiB.
    HugeSet(&'static str, &'static str),
}

const HUGE: usize = (16 << 20) + 4096;

impl Edit {
    fn apply(self, base: &Value) -> Vec<u8> {
        let mut v = base.clone();
        let map = v.as_object_mut().unwrap();
        match self {
            Edit::Valid => {}
            Edit::Set(k, json) | Edit::HugeSet(k, json) => {
                map.insert(k.to_owned(), serde_json::from_str(json).unwrap());
            }
            Edit::Remove(k) => {
                map.remove(k);
            }
            Edit::Raw(text) => return text.as_bytes().to_vec(),
            Edit::HugeGarbage => {
                let mut b = br#"{"cniVersion":"0.4.0","name":"difftest","pad":""#.to_vec();
                b.resize(HUGE, b'a');
                return b;
            }
        }
        let mut bytes = serde_json::to_vec(&v).unwrap();
        if let Edit::HugeSet(..) = self {
            bytes.resize(HUGE, b' ');
        }
        bytes
    }
}

/// Bad configurations: (label, command, edit, twill's code, a word twill's message must hold).
/// The reference answers the same code for each.
#[rustfmt::skip]
const CONFIG_CASES: &[(&str, &str, Edit, u64, &str)] = &[
    ("stdin not JSON", "ADD", Edit::Raw("this is not json"), 6, "stdin"),
    ("stdin empty", "ADD", Edit::Raw(""), 6, "stdin"),
    ("stdin truncated object", "DEL", Edit::Raw(r#"{"name":"x""#), 6, "stdin"),
    ("stdin JSON array", "ADD", Edit::Raw("[1,2]"), 6, "object"),
    ("stdin JSON string", "CHECK", Edit::Raw(r#""x""#), 6, "object"),
    ("name is a number", "ADD", Edit::Set("name", "5"), 6, "name"),
    ("name is an object", "DEL", Edit::Set("name", "{}"), 6, "name"),
    ("cniVersion is a number", "ADD", Edit::Set("cniVersion", "1.0"), 6, "cniVersion"),
    ("cniVersion is a boolean", "DEL", Edit::Set("cniVersion", "true"), 6, "cniVersion"),
    ("name missing", "ADD", Edit::Remove("name"), 7, "name"),
    ("name empty", "DEL", Edit::Set("name", r#""""#), 7, "name"),
    ("name with /", "ADD", Edit::Set("name", r#""a/b""#), 7, "name"),
    ("name starting with -", "CHECK", Edit::Set("name", r#""-net""#), 7, "name"),
    ("name with a space", "ADD", Edit::Set("name", r#""my net""#), 7, "name"),
    ("cniVersion unknown", "ADD", Edit::Set("cniVersion", r#""9.9.9""#), 1, "9.9.9"),
    ("cniVersion garbage", "ADD", Edit::Set("cniVersion", r#""banana""#), 1, "banana"),
    ("cniVersion of two parts", "DEL", Edit::Set("cniVersion", r#""1.0""#), 1, "1.0"),
    ("CHECK at 0.3.1", "CHECK", Edit::Set("cniVersion", r#""0.3.1""#), 1, "CHECK"),
    ("CHECK without cniVersion", "CHECK", Edit::Remove("cniVersion"), 1, "CHECK"),
    ("unsupported command", "FOO", Edit::Valid, 4, "CNI_COMMAND"),
    ("lower-case command", "add", Edit::Valid, 4, "CNI_COMMAND"),
    ("stdin over 16 MiB", "ADD", Edit::HugeGarbage, 6, "stdin"),
];

/// A variable changed from the complete environment; `None` removes it.
type Var = (&'static str, Option<&'static str>);

/// A deliberate difference: (label, command, edit, variable changed, twill's code, the
/// reference's code, why). Each is in docs/protocol/entry-point.md.
type Difference = (
    &'static str,
    &'static str,
    Edit,
    Option<Var>,
    u64,
    u64,
    &'static str,
);

#[rustfmt::skip]
const DIFFERENCES: &[Difference] = &[
    ("cniVersion garbage, CHECK", "CHECK", Edit::Set("cniVersion", r#""banana""#), None, 1, 6,
        "Go parses the version as a number for CHECK and calls the failure a decoding error"),
    ("GC at 1.0.0", "GC", Edit::Set("cniVersion", r#""1.0.0""#), None, 1, 4,
        "the reference predates GC and refuses the command itself"),
    ("STATUS at 1.0.0", "STATUS", Edit::Set("cniVersion", r#""1.0.0""#), None, 1, 4,
        "the reference predates STATUS and refuses the command itself"),
    ("stdin over 16 MiB, valid JSON", "ADD", Edit::HugeSet("cniVersion", r#""9.9.9""#), None, 6, 1,
        "twill refuses stdin over 16 MiB before decoding; the reference has no limit"),
    ("CNI_ARGS malformed pair", "ADD", Edit::Valid,
        Some(("CNI_ARGS", Some("IgnoreUnknown=1;broken"))), 4, 999,
        "the reference leaves CNI_ARGS to the plugin, which reports 999"),
    ("CNI_ARGS unknown key", "ADD", Edit::Valid, Some(("CNI_ARGS", Some("K8S_POD_NAME=web-0"))), 0, 999,
        "twill never fails on unknown CNI_ARGS keys (cni#560)"),
    ("ADD without CNI_PATH", "ADD", Edit::Valid, Some(("CNI_PATH", None)), 0, 4,
        "the spec makes CNI_PATH optional; Go's skeleton requires it"),
    ("DEL without CNI_PATH", "DEL", Edit::Valid, Some(("CNI_PATH", None)), 0, 4,
        "the spec makes CNI_PATH optional; Go's skeleton requires it"),
    ("CHECK without CNI_PATH", "CHECK", Edit::Valid, Some(("CNI_PATH", None)), 0, 4,
        "the spec makes CNI_PATH optional; Go's skeleton requires it"),
];

/// Two faults at once: (label, command, edit, variable changed, twill's code, word named). The
/// same fault must be reported as by the reference, which fixes the order of the checks.
#[rustfmt::skip]
const COMBINED: &[(&str, &str, Edit, Var, u64, &str)] = &[
    ("no CNI_NETNS and garbage stdin", "ADD", Edit::Raw("garbage"), ("CNI_NETNS", None), 4, "CNI_NETNS"),
    ("garbage stdin and a bad ifname", "ADD", Edit::Raw("garbage"), ("CNI_IFNAME", Some("a/b")), 6, "stdin"),
    ("no name and a bad container ID", "DEL", Edit::Remove("name"), ("CNI_CONTAINERID", Some("a/b")), 7, "name"),
    ("cniVersion a number and a bad ifname", "ADD", Edit::Set("cniVersion", "1"), ("CNI_IFNAME", Some("a/b")), 4,
        "CNI_IFNAME"),
    ("cniVersion unknown and a bad container ID", "ADD", Edit::Set("cniVersion", r#""9.9.9""#),
        ("CNI_CONTAINERID", Some("a/b")), 4, "CNI_CONTAINERID"),
];

/// Container IDs every reference refuses (the empty one as a missing variable).
#[rustfmt::skip]
const CONTAINER_IDS: &[&str] = &["", "a/b", "_ctr", "-ctr", ".", "..", "ctr id", "ctr:1", "ctr;rm", "ctr\u{e4}"];

/// Interface names every reference refuses: empty, 16 bytes (ASCII and 8 two-byte
/// characters), `.`/`..`, `/`, `:`, and whitespace (ASCII and Unicode).
#[rustfmt::skip]
const IFNAMES: &[&str] = &[
    "", "eth0123456789012", "\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}", ".", "..", "a/b",
    "eth0:1", "eth 0", "eth\t0", "eth0\n", "eth\u{a0}0",
];

/// One comparison to make.
struct Case {
    label: String,
    command: &'static str,
    edit: Edit,
    /// Variables changed from the complete environment: `None` removes one.
    vars: Vec<Var>,
    ours: u64,
    names: Vec<&'static str>,
    /// `None`: the reference must answer `ours`; else its documented code and why.
    differs: Option<(u64, &'static str)>,
}

impl Case {
    fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("CNI_COMMAND", Some(self.command)),
            ("CNI_CONTAINERID", Some("difftest-ctr")),
            ("CNI_NETNS", Some("/nonexistent/twill-difftest-netns")),
            ("CNI_IFNAME", Some("eth0")),
            ("CNI_PATH", Some(REFERENCE_DIR)),
        ];
        for (k, v) in &self.vars {
            env.retain(|(name, _)| name != k);
            env.push((k, *v));
        }
        let set: Vec<(&str, &str)> = env.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        owned(&set)
    }
}

fn cases() -> Vec<Case> {
    let plain = |label: String, command, edit, ours, names: Vec<&'static str>| Case {
        label,
        command,
        edit,
        vars: Vec::new(),
        ours,
        names,
        differs: None,
    };
    let mut c: Vec<Case> = CONFIG_CASES
        .iter()
        .map(|&(label, command, edit, ours, name)| {
            plain(label.into(), command, edit, ours, vec![name])
        })
        .collect();
    for &(label, command, edit, var, ours, theirs, why) in DIFFERENCES {
        let mut case = plain(label.into(), command, edit, ours, Vec::new());
        case.vars.extend(var);
        case.differs = Some((theirs, why));
        c.push(case);
    }
    for &(label, command, edit, var, ours, name) in COMBINED {
        let mut case = plain(label.into(), command, edit, ours, vec![name]);
        case.vars.push(var);
        c.push(case);
    }
    let required: [(&str, &[&str]); 3] = [
        ("ADD", &["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"]),
        ("DEL", &["CNI_CONTAINERID", "CNI_IFNAME"]),
        ("CHECK", &["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"]),
    ];
    for (command, vars) in required {
        for &var in vars {
            let mut case = plain(
                format!("{command} without {var}"),
                command,
                Edit::Valid,
                4,
                vec![var],
            );
            case.vars.push((var, None));
            c.push(case);
        }
    }
    let mut both = plain(
        "ADD without two".into(),
        "ADD",
        Edit::Valid,
        4,
        vec!["CNI_CONTAINERID,CNI_IFNAME"],
    );
    both.vars = vec![("CNI_CONTAINERID", None), ("CNI_IFNAME", None)];
    c.push(both);
    for command in ["ADD", "DEL", "CHECK"] {
        for &id in CONTAINER_IDS {
            let mut case = plain(
                format!("{command} container ID {id:?}"),
                command,
                Edit::Valid,
                4,
                vec!["CNI_CONTAINERID"],
            );
            case.vars.push(("CNI_CONTAINERID", Some(id)));
            c.push(case);
        }
        for &ifname in IFNAMES {
            let mut case = plain(
                format!("{command} ifname {ifname:?}"),
                command,
                Edit::Valid,
                4,
                vec!["CNI_IFNAME"],
            );
            case.vars.push(("CNI_IFNAME", Some(ifname)));
            c.push(case);
        }
    }
    c
}

/// The reference plugins, each with a configuration it would accept.
fn references(data_dir: &Path) -> Vec<(PathBuf, Value)> {
    let host_local = json!({"cniVersion": "0.4.0", "name": "difftest", "ipam": {
        "type": "host-local", "subnet": "10.250.0.0/24", "dataDir": data_dir.to_string_lossy()}});
    let fixed = json!({"cniVersion": "0.4.0", "name": "difftest", "ipam": {
        "type": "static", "addresses": [{"address": "10.250.1.2/24"}]}});
    vec![
        (reference("host-local"), host_local),
        (reference("static"), fixed),
    ]
}

/// Compares one case on one reference; returns what did not hold.
fn compare(case: &Case, bin: &Path, conf: &Value, table: &mut Vec<String>) -> Vec<String> {
    let env = case.environment();
    let stdin = case.edit.apply(conf);
    let theirs = exec(bin, &env, &stdin);
    let ours = exec(Path::new(ECHO), &env, &stdin);
    let (tc, oc) = (theirs.code(), ours.code());
    let plugin = bin.file_name().unwrap().to_string_lossy();
    table.push(format!(
        "{:<48} {plugin:<10} reference {tc:?}, twill {oc:?}",
        case.label
    ));
    let mut bad = Vec::new();
    if oc != Some(case.ours) {
        bad.push(format!(
            "twill answered {oc:?} ({}), expected {}",
            ours.message(),
            case.ours
        ));
    }
    if case.ours != 0 && ours.exit != Some(1) {
        bad.push(format!("twill exited {:?}, expected 1", ours.exit));
    }
    for name in &case.names {
        if !ours.message().contains(name) {
            bad.push(format!(
                "twill's message {:?} does not name {name:?}",
                ours.message()
            ));
        }
    }
    match case.differs {
        None if tc != oc || theirs.exit != ours.exit => bad.push(format!(
            "reference answered {tc:?} ({}) exit {:?}; twill {oc:?} exit {:?}",
            theirs.message(), theirs.exit, ours.exit
        )),
        Some((code, why)) if tc != Some(code) => bad.push(format!(
            "documented difference ({why}) no longer holds: reference answered {tc:?} ({}), not {code}",
            theirs.message()
        )),
        _ => {}
    }
    bad.into_iter()
        .map(|b| format!("{} [{plugin}]: {b}", case.label))
        .collect()
}

#[test]
fn bad_input_gets_the_reference_code() {
    let data = TempDir::new("twill-skel-diff");
    let refs = references(&data.0);
    let (mut failures, mut table) = (Vec::new(), Vec::new());
    for case in cases() {
        for (bin, conf) in &refs {
            failures.extend(compare(&case, bin, conf, &mut table));
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing got far enough to allocate: host-local's data directory is still empty.
    assert_eq!(
        std::fs::read_dir(&data.0).unwrap().count(),
        0,
        "host-local wrote state"
    );
}

#[test]
fn no_command_prints_the_about_text_on_stderr_like_the_reference() {
    for env in [owned(&[]), owned(&[("CNI_COMMAND", "")])] {
        for bin in [reference("host-local"), PathBuf::from(ECHO)] {
            let run = exec(&bin, &env, b"");
            assert_eq!(run.exit, Some(0), "{}", bin.display());
            assert!(run.stdout.is_empty(), "{}", bin.display());
            let line = "CNI protocol versions supported: 0.1.0, 0.2.0";
            assert!(
                run.stderr.contains(line),
                "{}: {}",
                bin.display(),
                run.stderr
            );
        }
    }
}

#[test]
fn version_ignores_stdin_and_names_the_newest_supported_like_the_reference() {
    let env = owned(&[("CNI_COMMAND", "VERSION")]);
    for stdin in [&b""[..], b"garbage", br#"{"cniVersion":"0.3.1"}"#] {
        for bin in [reference("host-local"), PathBuf::from(ECHO)] {
            let run = exec(&bin, &env, stdin);
            assert_eq!(run.exit, Some(0), "{}", bin.display());
            let v = run.json().expect("a JSON answer");
            let list = v["supportedVersions"]
                .as_array()
                .expect("supportedVersions");
            assert_eq!(v["cniVersion"], *list.last().unwrap(), "{}", bin.display());
            assert_eq!(list[0], "0.1.0");
        }
    }
    let ours = exec(Path::new(ECHO), &env, b"");
    assert_eq!(ours.json().unwrap()["cniVersion"], "1.1.0");
}
