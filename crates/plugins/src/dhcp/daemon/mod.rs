//! `dhcp daemon`: holds every pod's DHCP lease. The plugin asks it over a unix socket
//! ([`crate::dhcp::rpc`]); for each lease a worker thread renews at T1 (unicast to the
//! server), rebinds from T2 (broadcast) and releases on DEL or GC, through a packet socket
//! opened inside the pod's namespace on its interface ([`wire`]). Leases are saved in
//! `-statedir` ([`store`]) and taken up again when the daemon restarts ([`leases`]).
//!
//! SIGTERM and SIGINT remove the socket and the pid file and end the daemon without
//! releasing anything: the leases stay saved for the next start.

pub mod flags;
pub mod leases;
pub mod store;
pub mod wire;
pub mod worker;

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use twill_cni::{CniError, Code};

use crate::dhcp::rpc::{read_message, write_message, Op, Request, Response};
use flags::Flags;
use leases::{Leases, Settings};
use store::Store;
use wire::Timing;

fn answer(leases: &Arc<Leases>, req: &Request) -> Response {
    let outcome = match req.op {
        Op::Add => leases.add(req).map(Some),
        Op::Check => leases.check(req).map(Some),
        Op::Del => leases
            .del(&req.container_id, &req.network, &req.ifname)
            .map(|()| None),
        Op::Gc => leases.gc(&req.network, &req.valid).map(|()| None),
        Op::Status => Ok(None),
    };
    match outcome {
        Ok(result) => Response {
            result,
            error: None,
        },
        Err(e) => Response::failed(&e),
    }
}

/// How long a client may take to send its request: a connection that never does must not
/// hold a thread forever.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn serve(stream: UnixStream, leases: &Arc<Leases>) {
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let resp = match read_message::<Request>(&stream) {
        Ok(req) => answer(leases, &req),
        Err(e) => Response::failed(&CniError::new(
            Code::DECODING_FAILURE,
            format!("dhcp daemon: bad request: {e}"),
        )),
    };
    let _ = write_message(&stream, &resp);
}

/// Blocks SIGTERM and SIGINT in the calling thread (and every thread it starts), so that
/// only [`wait_for_signal`] takes them.
fn block_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set; pthread_sigmask only
    // changes this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_for_signal(set: &libc::sigset_t) {
    let mut sig = 0;
    // SAFETY: `set` is an initialised signal set, `sig` a valid out-parameter.
    unsafe {
        libc::sigwait(set, &mut sig);
    }
}

fn listen(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match UnixListener::bind(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            // A socket nobody answers on is a crashed daemon's: replace it.
            if UnixStream::connect(path).is_ok() {
                return Err(e);
            }
            std::fs::remove_file(path)?;
            UnixListener::bind(path)
        }
        other => other,
    }
}

fn start(f: &Flags) -> Result<(UnixListener, PathBuf, Arc<Leases>), String> {
    if let Some(p) = &f.pidfile {
        std::fs::write(p, std::process::id().to_string())
            .map_err(|e| format!("Error writing pidfile {}: {e}", p.display()))?;
    }
    let socket = PathBuf::from(format!("{}{}", f.hostprefix, f.socketpath));
    let listener = listen(&socket)
        .map_err(|e| format!("Error getting listener on {}: {e}", socket.display()))?;
    let leases = Arc::new(Leases::new(
        Settings {
            host_prefix: f.hostprefix.clone(),
            broadcast: f.broadcast,
            timing: Timing {
                timeout: f.timeout,
                resend_max: f.resendmax,
            },
        },
        Store::new(&f.statedir),
    ));
    leases.restore();
    Ok((listener, socket, leases))
}

/// Runs the daemon with the arguments after `daemon`.
pub fn run(args: &[String]) -> ExitCode {
    if args
        .iter()
        .any(|a| matches!(a.as_str(), "-h" | "-help" | "--help" | "--h"))
    {
        eprintln!("{}", flags::USAGE);
        return ExitCode::SUCCESS;
    }
    let f = match flags::parse(args) {
        Ok(f) => f,
        Err(msg) => {
            eprintln!("{msg}\n{}", flags::USAGE);
            return ExitCode::from(2);
        }
    };
    let signals = block_signals();
    let (listener, socket, leases) = match start(&f) {
        Ok(s) => s,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(1);
        }
    };
    let pidfile = f.pidfile.clone();
    let cleanup = socket.clone();
    let spawned = std::thread::Builder::new()
        .name("twill-dhcp-signals".into())
        .spawn(move || {
            wait_for_signal(&signals);
            let _ = std::fs::remove_file(&cleanup);
            if let Some(p) = pidfile {
                let _ = std::fs::remove_file(p);
            }
            let _ = writeln!(
                std::io::stderr(),
                "dhcp daemon: stopping; leases stay saved"
            );
            std::process::exit(0);
        });
    if let Err(e) = spawned {
        eprintln!("cannot start the signal thread: {e}");
        return ExitCode::from(1);
    }
    eprintln!("dhcp daemon: listening on {}", socket.display());
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let leases = Arc::clone(&leases);
                let spawned = std::thread::Builder::new()
                    .name("twill-dhcp-request".into())
                    .spawn(move || serve(stream, &leases));
                if let Err(e) = spawned {
                    eprintln!("cannot serve a request: {e}");
                }
            }
            Err(e) => eprintln!("accept on {}: {e}", socket.display()),
        }
    }
    ExitCode::SUCCESS
}
