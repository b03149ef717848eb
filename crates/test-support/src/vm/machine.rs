//! One QEMU process: launched with the guest's script on a fresh share, watched through its
//! serial console, killed on timeout and on drop.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::console::{read_console, read_stderr, Console};
use super::output::{VmFailure, VmOutput};
use super::{assets, initramfs, qemu, VmOptions};
use crate::tempdir::TempDir;

/// A running VM. Dropping it kills QEMU.
pub struct Vm {
    child: Child,
    share: TempDir,
    /// Holds the initramfs QEMU reads.
    _files: TempDir,
    console: Arc<Console>,
    readers: Vec<JoinHandle<()>>,
    launched: Instant,
    timeout: Duration,
}

impl Vm {
    /// Boots a VM that runs `script` (`sh`) and waits for its result.
    pub fn run(script: &str, opts: &VmOptions) -> VmOutput {
        Vm::start(script, opts).wait()
    }

    /// Boots a VM that runs `script`; the test works beside it and then [`Vm::wait`]s. The
    /// script finds the share's path in `$TWILL_VM_SHARE` (see [`Vm::wait_for_file`]).
    pub fn start(script: &str, opts: &VmOptions) -> Vm {
        crate::root::require_root();
        let kernel = assets::kernel();
        let files = TempDir::new("vm");
        let share = TempDir::new("vm-share");
        let share_path = share.path().to_str().unwrap().to_owned();
        assert!(
            !share_path.contains(char::is_whitespace),
            "the share's path goes on the kernel command line: {share_path}"
        );
        std::fs::write(share.join("script"), full_script(script, opts, &share_path)).unwrap();
        let initrd = files.join("initramfs.cpio");
        std::fs::write(&initrd, initramfs::initramfs(kernel)).unwrap();

        let mut cmd = qemu::command(kernel, opts, &initrd, &share_path);
        let launched = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start QEMU ({e}): run scripts/setup.sh (as root)"));
        let console = Arc::new(Console::default());
        let readers = vec![
            read_console(child.stdout.take().unwrap(), console.clone()),
            read_stderr(child.stderr.take().unwrap(), console.clone()),
        ];
        Vm {
            child,
            share,
            _files: files,
            console,
            readers,
            launched,
            timeout: opts.timeout,
        }
    }

    /// The share: the guest sees it at the same path (`$TWILL_VM_SHARE`).
    pub fn share(&self) -> &Path {
        self.share.path()
    }

    /// Waits until the guest created `name` on the share; fails if the VM exits first or
    /// `timeout` passes.
    pub fn wait_for_file(&mut self, name: &str, timeout: Duration) -> PathBuf {
        let path = self.share.join(name);
        let until = Instant::now() + timeout;
        while !path.exists() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the VM exited ({status}) before it created {name}\n{}",
                    self.console.text.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < until,
                "the guest did not create {name} within {timeout:?}\n{}",
                self.console.text.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        path
    }

    /// Waits until QEMU listens on unix socket `socket` (a [`Nic::stream`] server), so a
    /// second VM can connect: QEMU 7.2's stream client does not retry.
    pub fn wait_for_listener(&mut self, socket: &Path, timeout: Duration) {
        // The socket's file appears at bind(2), before listen(2): ask the kernel instead, in
        // QEMU's own network namespace.
        let table = format!("/proc/{}/net/unix", self.child.id());
        let path = socket.to_str().unwrap();
        let until = Instant::now() + timeout;
        loop {
            let listening = std::fs::read_to_string(&table)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    // Num RefCount Protocol Flags Type St Inode Path; __SO_ACCEPTCON = 0x10000.
                    f.len() == 8 && f[3] == "00010000" && f[7] == path
                });
            if listening {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the VM exited ({status}) before it listened on {path}");
            }
            assert!(
                Instant::now() < until,
                "QEMU did not listen on {path} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Creates `name` on the share: a signal the guest's script can wait for.
    pub fn create_file(&self, name: &str) {
        std::fs::write(self.share.join(name), b"").unwrap();
    }

    /// Waits for QEMU's exit; fails the test unless the guest reported.
    pub fn wait(self) -> VmOutput {
        self.finish().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits for QEMU's exit: the guest's report, or why there is none.
    pub fn finish(mut self) -> Result<VmOutput, VmFailure> {
        let deadline = self.launched + self.timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(VmFailure::Timeout {
                    after: self.timeout,
                    console: self.console_text(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let total = self.launched.elapsed();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let console = self.console_text();
        let qemu_exit = status.code();
        let no_report = |why: String| VmFailure::NoReport {
            why,
            qemu_exit,
            qemu_stderr: self.console.qemu_stderr.lock().unwrap().clone(),
            console: console.clone(),
        };
        // isa-debug-exit makes QEMU exit (byte << 1) | 1 with byte = status + 1 (see
        // init.sh); anything else — 0 after a power-off or panic, 1 for QEMU's own errors, a
        // signal — means the guest never reported.
        let Some(code) = qemu_exit
            .filter(|c| c % 2 == 1 && *c >= 3)
            .map(|c| (c >> 1) - 1)
        else {
            let why = match status.signal() {
                Some(sig) => format!("QEMU was killed by signal {sig}"),
                None => "QEMU exited without the guest's exit code".to_owned(),
            };
            return Err(no_report(why));
        };
        let read = |name: &str| std::fs::read_to_string(self.share.join(name)).ok();
        let Some(status) = read("status").and_then(|s| s.trim().parse::<i32>().ok()) else {
            return Err(no_report(format!(
                "no status on the share (the guest's exit byte says {code})"
            )));
        };
        if status.clamp(0, 126) != code {
            return Err(no_report(format!(
                "the share says {status}, the guest's exit byte {code}"
            )));
        }
        let started = *self.console.started.lock().unwrap();
        Ok(VmOutput {
            status,
            stdout: read("stdout").unwrap_or_default(),
            stderr: read("stderr").unwrap_or_default(),
            console,
            boot: started.map_or(total, |s| s - self.launched),
            total,
        })
    }

    fn console_text(&self) -> String {
        self.console.text.lock().unwrap().clone()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// The script the guest runs: the share's path and the test's variables, then `script`.
fn full_script(script: &str, opts: &VmOptions, share: &str) -> String {
    let mut s = format!("export TWILL_VM_SHARE={}\n", quote(share));
    for (k, v) in &opts.env {
        s.push_str(&format!("export {k}={}\n", quote(v)));
    }
    s.push_str(script);
    s.push('\n');
    s
}

/// `v` as one single-quoted shell word.
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}
