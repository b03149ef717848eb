//! The real executor's edge cases, with standard binaries installed under plugin names in
//! temporary directories: no shell anywhere.

mod exec_support;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use exec_support::{install_as, TempDir};
use serde_json::json;
use twill_cni::exec::{
    find_plugin, Exec, ExecFailure, ExitState, Invoker, RealExec, RequestEnv, StderrMode,
};
use twill_cni::{Code, Version};

fn env() -> RequestEnv {
    RequestEnv::new("ctr", "/proc/self/ns/net", "eth0")
}

/// A directory with `binary` installed as the executable plugin `name`.
fn plugin_dir(binary: &str, name: &str) -> (TempDir, [PathBuf; 1]) {
    let dir = TempDir::new(name);
    install_as(dir.path(), binary, name, 0o755);
    let path = [dir.path().to_owned()];
    (dir, path)
}

#[test]
fn stdin_reaches_the_plugin_and_stdout_comes_back_whole() {
    let (_dir, path) = plugin_dir("cat", "echo");
    let exec = RealExec::default();
    let invoker = Invoker::new(&exec, &path);
    // Far beyond a pipe's buffer both ways: writing stdin while reading stdout must not
    // deadlock, and nothing may be lost.
    let big = "x".repeat(1 << 20);
    let conf = json!({"cniVersion": "0.4.0", "name": "n", "type": "echo", "blob": big});
    let result = invoker
        .add("echo", conf.to_string().as_bytes(), &env())
        .unwrap();
    assert_eq!(result.cni_version, Version::V0_4_0);
    assert_eq!(result.value, conf);
}

#[test]
fn stdout_beyond_the_limit_stops_the_plugin() {
    // `yes` never stops on its own: the limit is the only way out.
    let (_dir, path) = plugin_dir("yes", "chatty");
    let exec = RealExec {
        stdout_limit: 64 << 10,
        ..RealExec::default()
    };
    // A large stdin the plugin never reads must not keep us waiting either.
    let conf = json!({"pad": "z".repeat(1 << 20)}).to_string();
    let started = Instant::now();
    let err = Invoker::new(&exec, &path)
        .add("chatty", conf.as_bytes(), &env())
        .unwrap_err();
    assert_eq!(err.code, Code::IO_FAILURE);
    assert!(
        err.msg.starts_with("plugin type=\"chatty\" failed (add): "),
        "{}",
        err.msg
    );
    assert!(err
        .msg
        .ends_with("printed more than 65536 bytes on stdout; it was stopped"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_silent_failure_is_wrapped_with_its_exit_status() {
    let (_dir, path) = plugin_dir("false", "fails");
    let exec = RealExec::default();
    let err = Invoker::new(&exec, &path)
        .del("fails", b"{}", &env())
        .unwrap_err();
    assert_eq!(err.code, Code::UNKNOWN);
    assert_eq!(
        err.msg,
        "plugin type=\"fails\" failed (del): exit status 1 with no error message"
    );
}

#[test]
fn stderr_explains_a_failure_unless_it_is_inherited() {
    // `sleep` without an operand complains on stderr, naming itself, and exits 1.
    let (_dir, path) = plugin_dir("sleep", "noisy");
    for (mode, kept) in [
        (StderrMode::Tee, true),
        (StderrMode::Capture, true),
        (StderrMode::Inherit, false),
    ] {
        let exec = RealExec {
            stderr: mode,
            ..RealExec::default()
        };
        let err = Invoker::new(&exec, &path)
            .check("noisy", b"{}", &env())
            .unwrap_err();
        assert_eq!(err.code, Code::UNKNOWN, "{mode:?}");
        let prefix = "plugin type=\"noisy\" failed (check): exit status 1";
        if kept {
            assert!(
                err.msg.starts_with(&format!("{prefix}: ")),
                "{mode:?}: {}",
                err.msg
            );
            assert!(err.msg.contains("noisy"), "{mode:?}: {}", err.msg);
        } else {
            assert_eq!(err.msg, format!("{prefix} with no error message"));
        }
    }
}

#[test]
fn success_without_output_is_fine_except_for_add() {
    let (_dir, path) = plugin_dir("true", "quiet");
    let exec = RealExec::default();
    let invoker = Invoker::new(&exec, &path);
    // `true` reads none of its stdin; a large configuration must not make that an error.
    let conf = json!({"cniVersion": "1.1.0", "name": "n", "pad": "y".repeat(1 << 20)}).to_string();
    invoker.del("quiet", conf.as_bytes(), &env()).unwrap();
    invoker.gc("quiet", conf.as_bytes(), &env()).unwrap();
    invoker.status("quiet", conf.as_bytes(), &env()).unwrap();
    let err = invoker.add("quiet", conf.as_bytes(), &env()).unwrap_err();
    assert_eq!(err.code, Code::DECODING_FAILURE);
    assert_eq!(
        err.msg,
        "plugin type=\"quiet\" failed (add): plugin printed no result"
    );
}

#[test]
fn the_plugin_sees_our_environment_plus_only_the_commands_variables() {
    let (_dir, path) = plugin_dir("env", "show-env");
    let exec = RealExec::default();
    let program = find_plugin("show-env", &path).unwrap();
    let request = env()
        .with_args("IgnoreUnknown=1")
        .with_path(vec!["/a".into(), "/b".into()]);
    let lines = |command| {
        let out = exec.run(&program, &request.vars(command), b"").unwrap();
        assert_eq!(out.exit, ExitState::Code(0));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let cni = |lines: &[String]| {
        let mut v: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("CNI_"))
            .cloned()
            .collect();
        v.sort();
        v
    };
    let add = lines(twill_cni::exec::Command::Add);
    assert_eq!(
        cni(&add),
        [
            "CNI_ARGS=IgnoreUnknown=1",
            "CNI_COMMAND=ADD",
            "CNI_CONTAINERID=ctr",
            "CNI_IFNAME=eth0",
            "CNI_NETNS=/proc/self/ns/net",
            "CNI_PATH=/a:/b",
        ]
    );
    assert_eq!(
        cni(&lines(twill_cni::exec::Command::Gc)),
        ["CNI_COMMAND=GC", "CNI_PATH=/a:/b"]
    );
    // Everything else is inherited.
    let inherited: Vec<String> = std::env::vars()
        .filter(|(k, _)| !k.starts_with("CNI_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert!(!inherited.is_empty());
    for var in &inherited {
        assert!(add.contains(var), "{var} not passed on");
    }
}

#[test]
fn a_busy_binary_is_retried_until_it_is_free() {
    let (dir, path) = plugin_dir("true", "installing");
    // An open write handle makes exec fail with "text file busy", as while an installer is
    // still writing the binary.
    let writer = OpenOptions::new()
        .write(true)
        .open(dir.join("installing"))
        .unwrap();
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        drop(writer);
    });
    let exec = RealExec::default();
    let started = Instant::now();
    Invoker::new(&exec, &path)
        .del("installing", b"{}", &env())
        .unwrap();
    // Proof that the first attempts did fail and were retried, not that the handle was moot.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    release.join().unwrap();
}

#[test]
fn a_binary_that_stays_busy_fails_after_the_retries() {
    let (dir, path) = plugin_dir("true", "stuck");
    let _writer = OpenOptions::new()
        .write(true)
        .open(dir.join("stuck"))
        .unwrap();
    let exec = RealExec {
        busy_retries: 2,
        busy_backoff: Duration::from_millis(5),
        ..RealExec::default()
    };
    let program = find_plugin("stuck", &path).unwrap();
    match exec.run(&program, &env().vars(twill_cni::exec::Command::Del), b"") {
        Err(ExecFailure::Spawn { source, .. }) => assert_eq!(source.raw_os_error(), Some(26)),
        other => panic!("expected text file busy, got {other:?}"),
    }
    let err = Invoker::new(&exec, &path)
        .del("stuck", b"{}", &env())
        .unwrap_err();
    assert_eq!(err.code, Code::IO_FAILURE);
    assert!(
        err.msg.contains("failed (del): cannot execute"),
        "{}",
        err.msg
    );
}

#[test]
fn lookup_takes_the_first_executable_regular_file() {
    let first = TempDir::new("find-a");
    let second = TempDir::new("find-b");
    let third = TempDir::new("find-c");
    // Not executable, and a directory: both passed over.
    install_as(first.path(), "true", "p", 0o644);
    fs::create_dir(second.join("p")).unwrap();
    let wanted = install_as(third.path(), "true", "p", 0o755);
    let path = [
        first.path().to_owned(),
        second.path().to_owned(),
        third.path().to_owned(),
    ];
    assert_eq!(find_plugin("p", &path).unwrap(), wanted);
    // A link per plugin name to one binary is found through the link.
    symlink(&wanted, second.join("linked")).unwrap();
    assert_eq!(find_plugin("linked", &path).unwrap(), second.join("linked"));
    // A non-executable file run directly does not start.
    let exec = RealExec::default();
    let err = exec
        .run(
            &first.join("p"),
            &env().vars(twill_cni::exec::Command::Del),
            b"",
        )
        .unwrap_err();
    assert!(matches!(err, ExecFailure::Spawn { .. }), "{err:?}");
}
