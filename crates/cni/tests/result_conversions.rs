//! Every conversion between the seven versions against goldens produced by Go's libcni (see
//! tools/golden-go and tests/fixtures/results/README.md).

// Helpers here are test code too: a panic in one is a test failure, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use twill_cni::result::CniResult;
use twill_cni::{Code, Version};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results")
}

/// Every case directory, sorted.
fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("input.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The version assumed for an input without cniVersion: the case's `assume` file, or 0.1.0
/// (what Go's decoder assumes when nothing else is known).
fn assumed(dir: &Path) -> Version {
    match fs::read_to_string(dir.join("assume")) {
        Ok(s) => s.trim().parse().unwrap(),
        Err(_) => Version::V0_1_0,
    }
}

fn input(dir: &Path) -> CniResult {
    let bytes = fs::read(dir.join("input.json")).unwrap();
    CniResult::parse(&bytes, assumed(dir))
        .unwrap_or_else(|e| panic!("{}: input does not parse: {e}", name(dir)))
}

enum Golden {
    Result(Vec<u8>),
    Error(String),
}

fn golden(dir: &Path, to: Version) -> Golden {
    let json = dir.join(format!("to-{to}.json"));
    let error = dir.join(format!("to-{to}.error"));
    match (fs::read(&json), fs::read_to_string(&error)) {
        (Ok(bytes), Err(_)) => Golden::Result(bytes),
        (Err(_), Ok(msg)) => Golden::Error(msg.trim_end().to_owned()),
        _ => panic!(
            "{}: exactly one of to-{to}.json and to-{to}.error must exist",
            name(dir)
        ),
    }
}

#[test]
fn the_matrix_is_complete() {
    let all = cases();
    let from: Vec<String> = all
        .iter()
        .map(|d| name(d))
        .filter(|n| n.starts_with("from-"))
        .collect();
    let expected: Vec<String> = Version::ALL.iter().map(|v| format!("from-{v}")).collect();
    assert_eq!(from, expected);
    let mut goldens = 0;
    for dir in &all {
        for to in Version::ALL {
            // Panics when a golden is missing or doubled.
            let _ = golden(dir, to);
            goldens += 1;
        }
        let inputs = dir.join("input.json");
        let version = input(dir).version();
        if name(dir).starts_with("from-") {
            assert_eq!(format!("from-{version}"), name(dir), "{}", inputs.display());
        }
    }
    assert_eq!(goldens, all.len() * 7);
    assert!(all.len() >= 7 + 8, "the edge cases are missing");
}

#[test]
fn every_direction_matches_go() {
    let mut checked = 0;
    for dir in cases() {
        let case = name(&dir);
        let source = input(&dir);
        for to in Version::ALL {
            let got = source.clone().convert(to);
            match (golden(&dir, to), got) {
                (Golden::Result(want), Ok(got)) => {
                    assert_eq!(got.version(), to, "{case} -> {to}");
                    let want_value: Value = serde_json::from_slice(&want).unwrap();
                    assert_eq!(got.to_json(), want_value, "{case} -> {to}: JSON differs");
                    let mut bytes = got.to_bytes();
                    bytes.push(b'\n');
                    assert_eq!(
                        String::from_utf8(bytes).unwrap(),
                        String::from_utf8(want).unwrap(),
                        "{case} -> {to}: bytes differ from Go's"
                    );
                }
                (Golden::Error(msg), Err(e)) => {
                    assert_eq!(e.code, Code::INCOMPATIBLE_VERSION, "{case} -> {to}");
                    assert_eq!(e.msg, msg, "{case} -> {to}");
                    assert!(e.details.contains(&format!("to {to}")), "{e:?}");
                }
                (Golden::Result(_), Err(e)) => panic!("{case} -> {to}: unexpected error {e}"),
                (Golden::Error(msg), Ok(r)) => {
                    panic!("{case} -> {to}: expected {msg:?}, got {:?}", r.to_json())
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 49);
}

#[test]
fn goldens_read_back_to_themselves() {
    // What we print, we (and Go) read back unchanged: parse each golden and print it again.
    for dir in cases() {
        for to in Version::ALL {
            let Golden::Result(want) = golden(&dir, to) else {
                continue;
            };
            let parsed = CniResult::parse(&want, Version::V0_1_0).unwrap();
            assert_eq!(parsed.version(), to);
            let mut bytes = parsed.to_bytes();
            bytes.push(b'\n');
            assert_eq!(bytes, want, "{} to-{to}", name(&dir));
        }
    }
}

#[test]
fn converting_the_golden_equals_converting_the_input() {
    // Conversions compose: going through any intermediate version that loses nothing the
    // target keeps lands on the same golden. Checked through the latest shape, which loses
    // nothing at all.
    for dir in cases() {
        let latest = input(&dir).convert(Version::V1_1_0).unwrap();
        for to in Version::ALL {
            match (golden(&dir, to), latest.clone().convert(to)) {
                (Golden::Result(want), Ok(got)) => {
                    let want: Value = serde_json::from_slice(&want).unwrap();
                    assert_eq!(got.to_json(), want, "{} via 1.1.0 -> {to}", name(&dir));
                }
                (Golden::Error(_), Err(e)) => assert_eq!(e.code, Code::INCOMPATIBLE_VERSION),
                _ => panic!("{} via 1.1.0 -> {to}: outcome differs", name(&dir)),
            }
        }
    }
}
