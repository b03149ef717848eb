//! Running plugin binaries — ours and the reference — as child processes inside a sandbox's
//! host namespace.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::child::enter_in_child;
use crate::plugins::{reference_dir, REFERENCE_DIR};
use crate::sandbox::{Sandbox, FIXED_IPAM};

/// Which implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// `twill-cni` through a symlink named after the plugin, IPAM included.
    Twill,
    /// The reference Go plugins.
    Reference,
}

/// What a plugin process did.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub exit: Option<i32>,
    /// stdout.
    pub stdout: Vec<u8>,
    /// stderr.
    pub stderr: String,
}

impl Run {
    /// stdout as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or(Value::Null)
    }

    /// Asserts success and returns the printed result (`Null` when nothing was printed).
    pub fn ok(&self) -> Value {
        assert_eq!(
            self.exit,
            Some(0),
            "plugin failed: {} {}",
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        );
        self.json()
    }

    /// Asserts failure and returns the error's code and message.
    pub fn err(&self) -> (u64, String) {
        assert_ne!(
            self.exit,
            Some(0),
            "plugin succeeded: {}",
            String::from_utf8_lossy(&self.stdout)
        );
        let v = self.json();
        let code = v["code"]
            .as_u64()
            .unwrap_or_else(|| panic!("no error code in {v} {}", self.stderr));
        (code, v["msg"].as_str().unwrap_or_default().to_owned())
    }
}

/// One request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `CNI_COMMAND`.
    pub command: &'a str,
    /// `CNI_CONTAINERID`.
    pub container_id: &'a str,
    /// `CNI_NETNS` (unset when `None`).
    pub netns: Option<&'a Path>,
    /// `CNI_IFNAME`.
    pub ifname: &'a str,
    /// `CNI_ARGS` (unset when empty).
    pub args: &'a str,
    /// `CNI_PATH`, when not the implementation's own directory.
    pub cni_path: Option<&'a str>,
    /// `PATH` (unset when `None`, as a runtime may leave it).
    pub path: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A request for container `id`'s `eth0` in `netns`.
    pub fn new(command: &'a str, id: &'a str, netns: &'a Path) -> Request<'a> {
        Request {
            command,
            container_id: id,
            netns: Some(netns),
            ifname: "eth0",
            args: "",
            cni_path: None,
            path: None,
        }
    }
}

impl Sandbox {
    /// The plugin binary `name` of `imp`.
    pub fn plugin(&self, imp: Impl, name: &str) -> PathBuf {
        match imp {
            Impl::Twill => self.bin_dir().join(name),
            Impl::Reference => reference_dir(&[name]).join(name),
        }
    }

    /// `CNI_PATH` for `imp`: only our plugins for twill, only the reference's for it, so a
    /// chain never mixes the two by accident.
    pub fn cni_path(&self, imp: Impl) -> String {
        match imp {
            Impl::Twill => self.bin_dir().display().to_string(),
            Impl::Reference => REFERENCE_DIR.to_owned(),
        }
    }

    /// `conf` with `ipam.dataDir` pointed at this sandbox (when it has an `ipam`).
    pub fn conf(&self, mut conf: Value) -> Value {
        if let Some(ipam) = conf.get_mut("ipam").and_then(Value::as_object_mut) {
            ipam.insert("dataDir".into(), self.ipam_dir().to_string_lossy().into());
        }
        conf
    }

    /// Starts plugin `name` of `imp` with `req` and `conf` on stdin, inside the host
    /// namespace; stdin is written on a thread and closed, the output left to the caller.
    pub fn spawn(&self, imp: Impl, name: &str, req: &Request<'_>, conf: &Value) -> Child {
        let mut cmd = Command::new(self.plugin(imp, name));
        cmd.env_clear()
            .env("CNI_COMMAND", req.command)
            .env("CNI_CONTAINERID", req.container_id)
            .env("CNI_IFNAME", req.ifname)
            .env(
                "CNI_PATH",
                req.cni_path
                    .map_or_else(|| self.cni_path(imp), str::to_owned),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(netns) = req.netns {
            cmd.env("CNI_NETNS", netns);
        }
        if !req.args.is_empty() {
            cmd.env("CNI_ARGS", req.args);
        }
        if let Some(path) = req.path {
            cmd.env("PATH", path);
        }
        enter_in_child(&mut cmd, self.host.ns.as_fd().try_clone_to_owned().unwrap());
        let mut child = cmd.spawn().unwrap();
        let mut pipe = child.stdin.take().unwrap();
        let input = serde_json::to_vec(conf).unwrap();
        std::thread::spawn(move || {
            // The plugin may be killed before it reads stdin; that is not a test failure.
            let _ = pipe.write_all(&input);
        });
        child
    }

    /// Runs plugin `name` of `imp` with `req` and `conf` on stdin, inside the host namespace.
    pub fn exec(&self, imp: Impl, name: &str, req: &Request<'_>, conf: &Value) -> Run {
        let out = self.spawn(imp, name, req, conf).wait_with_output().unwrap();
        Run {
            exit: out.status.code(),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A directory of trap programs named `tools`, each of which records its name in a
    /// marker file when run; returns it as a `PATH` and the marker, which must stay absent
    /// for "this plugin never executes a program" to hold.
    pub fn traps(&self, tools: &[&str]) -> (String, PathBuf) {
        let dir = self.tmp.join("traps");
        std::fs::create_dir_all(&dir).unwrap();
        let marker = self.tmp.join("trap-fired");
        for tool in tools {
            let body = format!("#!/bin/sh\necho {tool} >> {}\nexit 1\n", marker.display());
            crate::plugins::script(&dir, tool, &body);
        }
        (dir.to_string_lossy().into_owned(), marker)
    }

    /// Runs `command` of our plugin `name` for container `id`'s `eth0` in `netns` with `PATH`
    /// set to `path`; asserts success and returns what it printed.
    pub fn run_with_path(
        &self,
        name: &str,
        command: &str,
        id: &str,
        netns: &str,
        path: &str,
        conf: &Value,
    ) -> Value {
        let req = Request {
            path: Some(path),
            ..Request::new(command, id, Path::new(netns))
        };
        self.exec(Impl::Twill, name, &req, conf).ok()
    }

    /// Runs `command` of our plugin `name` for container `id`'s `eth0` in `netns`.
    pub fn twill(&self, name: &str, command: &str, id: &str, netns: &Path, conf: &Value) -> Run {
        self.exec(Impl::Twill, name, &Request::new(command, id, netns), conf)
    }

    /// The commands [`FIXED_IPAM`] received, in order.
    pub fn fixed_ipam_log(&self) -> Vec<String> {
        let log = self.bin_dir().join(format!("{FIXED_IPAM}.log"));
        let text = std::fs::read_to_string(log).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    /// Addresses host-local has reserved in this sandbox for network `net`.
    pub fn reserved(&self, net: &str) -> Vec<String> {
        crate::files::reservations(&self.ipam_dir().join(net))
    }
}
