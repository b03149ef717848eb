//! `twilld`: the node agent. flanneld's flags where they mean the same thing, so a flanneld
//! unit's or DaemonSet's arguments keep working; with no `--etcd-endpoints`, an embedded
//! single-node store (a file under `--state-dir`) and a built-in network.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgAction, Parser};
use tokio::sync::mpsc;
use twill_overlay::agent::{self, Options};
use twill_overlay::config::NetworkConfig;
use twill_overlay::log;
use twill_overlay::status::Shared;
use twill_overlay::store::etcd::{EtcdOptions, EtcdStore};
use twill_overlay::store::file::FileStore;

#[derive(Debug, Parser)]
#[command(
    name = "twilld",
    version,
    about = "twill's node agent: one pod network across many hosts"
)]
struct Flags {
    /// etcd endpoints, comma separated; none: the embedded file store.
    #[arg(long, value_delimiter = ',')]
    etcd_endpoints: Vec<String>,
    /// The etcd key prefix of the network.
    #[arg(long, default_value = "/coreos.com/network")]
    etcd_prefix: String,
    /// CA bundle to verify etcd's certificate.
    #[arg(long)]
    etcd_cafile: Option<PathBuf>,
    /// Client certificate for etcd.
    #[arg(long)]
    etcd_certfile: Option<PathBuf>,
    /// Client key for etcd.
    #[arg(long)]
    etcd_keyfile: Option<PathBuf>,
    /// Underlay interface (name or address); default: the default route's.
    #[arg(long)]
    iface: Option<String>,
    /// The address other nodes reach this one at; default: the interface's first.
    #[arg(long)]
    public_ip: Option<IpAddr>,
    /// Where to write the subnet file the flannel CNI plugin reads.
    #[arg(long, default_value = "/run/flannel/subnet.env")]
    subnet_file: PathBuf,
    /// Masquerade pod traffic leaving the pod network (`--ip-masq` or `--ip-masq=true`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, default_value = "false")]
    ip_masq: bool,
    /// Address of the health and metrics server.
    #[arg(long, default_value = "0.0.0.0")]
    healthz_ip: IpAddr,
    /// Port of the health and metrics server (0: off).
    #[arg(long, default_value_t = 0)]
    healthz_port: u16,
    /// Where the agent keeps its own files (VTEP MAC, etcd lease id, the embedded store).
    #[arg(long, default_value = "/var/lib/twilld")]
    state_dir: PathBuf,
    /// The embedded store's file (default: <state-dir>/store.json).
    #[arg(long)]
    store_file: Option<PathBuf>,
    /// Seconds a node's lease outlives the agent (flannel: 24 h).
    #[arg(long, default_value_t = 86_400)]
    subnet_lease_ttl: i64,
    /// Seconds between reconciles when nothing happens.
    #[arg(long, default_value_t = 30)]
    resync: u64,
    /// Leave the cluster: release the lease, remove the device, rules and subnet file, exit.
    #[arg(long)]
    leave: bool,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error("start the runtime", &[("error", &e)]);
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error("twilld stopped", &[("error", &format!("{e:#}"))]);
            ExitCode::FAILURE
        }
    }
}

async fn run(f: Flags) -> anyhow::Result<()> {
    if f.subnet_lease_ttl < 2 {
        anyhow::bail!(
            "--subnet-lease-ttl {}: must be at least 2 seconds",
            f.subnet_lease_ttl
        );
    }
    if f.resync == 0 {
        anyhow::bail!("--resync 0: must be at least 1 second");
    }
    std::fs::create_dir_all(&f.state_dir)
        .map_err(|e| anyhow::anyhow!("--state-dir {}: {e}", f.state_dir.display()))?;
    let ttl = Duration::from_secs(f.subnet_lease_ttl.unsigned_abs());
    let opts = Options {
        iface: f.iface.clone(),
        public_ip: f.public_ip,
        subnet_file: f.subnet_file.clone(),
        state_dir: f.state_dir.clone(),
        ip_masq: f.ip_masq,
        resync: Duration::from_secs(f.resync),
        // Renew well inside the TTL, and at least every minute.
        renew: (ttl / 3).min(Duration::from_secs(60)),
        default_config: f
            .etcd_endpoints
            .is_empty()
            .then(|| NetworkConfig::embedded_default().to_owned()),
    };
    let status = Shared::default();
    if f.healthz_port != 0 {
        let addr = SocketAddr::new(f.healthz_ip, f.healthz_port);
        let l = twill_overlay::http::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("--healthz-ip/--healthz-port {addr}: {e}"))?;
        tokio::spawn(twill_overlay::http::serve(l, status.clone()));
    }
    let (stop_tx, stop_rx) = mpsc::channel(1);
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        }
        let _ = stop_tx.send(()).await;
    });
    if f.etcd_endpoints.is_empty() {
        let path = f
            .store_file
            .clone()
            .unwrap_or_else(|| f.state_dir.join("store.json"));
        let holder = holder_id(&f.state_dir.join("store-holder"));
        let store = FileStore::new(path, f.subnet_lease_ttl, holder);
        return go(store, opts, status, stop_rx, f.leave).await;
    }
    let store = EtcdStore::connect(EtcdOptions {
        endpoints: f.etcd_endpoints.clone(),
        prefix: f.etcd_prefix.clone(),
        ca_file: f.etcd_cafile.clone(),
        cert_file: f.etcd_certfile.clone(),
        key_file: f.etcd_keyfile.clone(),
        ttl: f.subnet_lease_ttl,
        lease_id_file: Some(f.state_dir.join("etcd-lease-id")),
    })
    .await?;
    go(store, opts, status, stop_rx, f.leave).await
}

async fn go<S: twill_overlay::store::Store>(
    store: S,
    opts: Options,
    status: Shared,
    stop: mpsc::Receiver<()>,
    leave: bool,
) -> anyhow::Result<()> {
    if leave {
        return agent::leave(store, &opts).await;
    }
    log::info(
        "twilld starting",
        &[("subnet_file", &opts.subnet_file.display())],
    );
    agent::run(store, opts, status, stop).await?;
    // The data plane and the lease stay: a restarted agent picks both up untouched.
    log::info("twilld stopped; data plane left in place", &[]);
    Ok(())
}

/// This node's holder id in the embedded store, kept across restarts like an etcd lease id.
fn holder_id(file: &std::path::Path) -> u64 {
    if let Some(id) = std::fs::read_to_string(file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return id;
    }
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into b.
    let _ = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    let id = u64::from_ne_bytes(b) | 1;
    let _ = twill_overlay::files::write_atomic(file, format!("{id}\n").as_bytes(), 0o600);
    id
}
