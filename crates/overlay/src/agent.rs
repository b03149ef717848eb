//! The agent's life: config → underlay → lease → data plane → reconcile forever.
//!
//! Every trigger (a watch event, the periodic resync, a store reconnect, a restart) only
//! marks the state dirty; a dirty state is listed whole, rendered and reconciled. Failures
//! of the store never touch the data plane: the agent backs off (100 ms doubling to 5 s),
//! logs through a throttle, and reconciles as soon as the store answers again.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use twill_kernel::{IpFamily, IpPrefix, VxlanSpec};

use crate::acquire::{acquire, lease_fits, AcquireError, Acquired};
use crate::backend::udp::{UdpBackend, UdpConfig, UdpError};
use crate::config::{BackendType, NetworkConfig};
use crate::dataplane::reconcile;
use crate::desired::{render, Local};
use crate::hostrules::{self, FamilyNets};
use crate::kernel::{
    ensure_vxlan, find_underlay, remove_stale_vxlan, vtep_mac, KernelPlane, Underlay, VxlanDevice,
};
use crate::lease::Attrs;
use crate::log::{self, Throttle};
use crate::status::Shared;
use crate::store::{Store, StoreError};
use crate::subnet::nth_addr;
use crate::subnet_env::SubnetEnv;
use crate::worker::{KernelCtx, Worker};

/// The udp backend's TUN device (flannel's is `flannel0`).
pub const UDP_DEVICE: &str = "twill0";

/// Runs the udp forwarder as `want` says: kept when it already runs with these settings,
/// restarted when they changed, stopped when the backend is another.
fn ensure_udp(k: &mut KernelCtx, want: Option<UdpConfig>) -> Result<(), UdpError> {
    if k.udp.as_ref().map(|(c, _)| c) == want.as_ref() {
        return Ok(());
    }
    if let Some((_, old)) = k.udp.take() {
        old.stop();
    }
    if let Some(cfg) = want {
        let backend = UdpBackend::start(cfg.clone())?;
        k.udp = Some((cfg, backend));
    }
    Ok(())
}

/// What the command line decides.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--iface`: name or address of the underlay interface.
    pub iface: Option<String>,
    /// `--public-ip`.
    pub public_ip: Option<IpAddr>,
    /// `--subnet-file`.
    pub subnet_file: PathBuf,
    /// `--state-dir`.
    pub state_dir: PathBuf,
    /// `--ip-masq`.
    pub ip_masq: bool,
    /// How often to reconcile with no event at all.
    pub resync: Duration,
    /// How often to renew the lease.
    pub renew: Duration,
    /// Used when the store has no config (the embedded file store).
    pub default_config: Option<String>,
}

/// Why the inner loop returned.
enum Restart {
    /// The network config changed: set everything up again.
    Config,
    /// Our lease is gone from the store: acquire again.
    LeaseLost,
}

fn backoff(d: Duration) -> Duration {
    (d * 2).min(Duration::from_secs(5))
}

/// Retries `f` until it succeeds, backing off and logging through a throttle.
async fn retry<T, F, Fut>(what: &'static str, status: &Shared, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut wait = Duration::from_millis(100);
    let mut t = Throttle::new(what, Duration::from_secs(30));
    loop {
        match f().await {
            Ok(v) => {
                t.ok();
                return v;
            }
            Err(e) => {
                status.failed(&mut t, &e);
                tokio::time::sleep(wait).await;
                wait = backoff(wait);
            }
        }
    }
}

/// Fetches and parses the config; waits (without spinning) until there is a good one.
async fn load_config<S: Store>(store: &mut S, opts: &Options, status: &Shared) -> NetworkConfig {
    let mut bad = Throttle::new(
        "network config unusable; waiting for a good one",
        Duration::from_secs(60),
    );
    loop {
        let text = retry("store unreachable (config)", status, || {
            let mut s = store.clone();
            async move { s.config().await.map_err(|e| e.to_string()) }
        })
        .await;
        status.lock().store_ok = true;
        let text = match (text, &opts.default_config) {
            (Some(t), _) => t,
            (None, Some(d)) => d.clone().into_bytes(),
            (None, None) => b"".to_vec(),
        };
        if text.is_empty() {
            bad.fail(&"no config in the store yet (<prefix>/config)");
        } else {
            match NetworkConfig::parse(&text) {
                Ok(c) => {
                    bad.ok();
                    return c;
                }
                Err(e) => {
                    status.failed(&mut bad, &e);
                }
            }
        }
        // Wait for the store to change after now (or 5 s), never a hot loop. Watching from
        // the current revision matters: from revision 0 etcd would replay its whole history,
        // each old event ending the wait at once.
        let now = store.list().await.map(|l| l.revision).unwrap_or(0);
        let _ = tokio::time::timeout(Duration::from_secs(5), store.changed(now)).await;
    }
}

fn underlay_family(u: &Underlay) -> IpFamily {
    if u.public_ip.is_some() {
        IpFamily::V4
    } else {
        IpFamily::V6
    }
}

/// The underlay `--iface` and `--public-ip` name, found on the kernel thread.
async fn underlay(worker: &Worker, opts: &Options) -> anyhow::Result<Underlay> {
    let (iface, public_ip) = (opts.iface.clone(), opts.public_ip);
    worker
        .call(move |k| find_underlay(&mut k.nl, iface.as_deref(), public_ip))
        .await?
        .map_err(anyhow::Error::msg)
}

/// Runs the agent until `stop` fires.
pub async fn run<S: Store>(
    mut store: S,
    opts: Options,
    status: Shared,
    mut stop: mpsc::Receiver<()>,
) -> anyhow::Result<()> {
    let worker = Worker::spawn()?;
    let underlay = underlay(&worker, &opts).await?;
    log::info(
        "underlay",
        &[
            ("iface", &underlay.name),
            ("public_ip", &format!("{:?}", underlay.public_ip)),
            ("mtu", &underlay.mtu),
        ],
    );
    loop {
        let config = load_config(&mut store, &opts, &status).await;
        let restart = tokio::select! {
            r = serve(&mut store, &opts, &status, &worker, &underlay, &config) => r,
            _ = stop.recv() => return Ok(()),
        };
        match restart {
            Restart::Config => log::info("network config changed: setting up again", &[]),
            Restart::LeaseLost => {
                log::warn("our lease is gone from the store: acquiring again", &[])
            }
        }
    }
}

/// One life of the data plane under one config.
async fn serve<S: Store>(
    store: &mut S,
    opts: &Options,
    status: &Shared,
    worker: &Worker,
    underlay: &Underlay,
    config: &NetworkConfig,
) -> Restart {
    let kind = config.backend.kind;
    let family = underlay_family(underlay);
    let mtu = config
        .backend
        .mtu
        .unwrap_or_else(|| underlay.mtu.saturating_sub(kind.overhead(family)));
    let mac = (kind == BackendType::Vxlan).then(|| vtep_mac(&opts.state_dir.join("vtep-mac")));
    let attrs = Attrs {
        public_ip: underlay.public_ip,
        public_ipv6: underlay.public_ipv6,
        backend_type: kind.name().to_owned(),
        vni: (kind == BackendType::Vxlan).then_some(config.backend.vni),
        vtep_mac: mac,
    };
    let previous = SubnetEnv::previous(&opts.subnet_file);
    let mut out_of_subnets = Throttle::new("cannot lease a subnet", Duration::from_secs(30));
    let lease: Acquired = loop {
        let mut s = store.clone();
        match acquire(&mut s, config, &attrs, previous).await {
            Ok(a) => {
                out_of_subnets.ok();
                break a;
            }
            Err(e @ AcquireError::OutOfSubnets { .. }) => {
                status.failed(&mut out_of_subnets, &e);
                // A node leaving frees a subnet: look again, slowly.
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => {
                status.failed(&mut out_of_subnets, &e);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    log::info(
        "lease acquired",
        &[("key", &lease.key()), ("how", &lease.how)],
    );
    {
        let mut s = status.lock();
        s.lease = Some(lease.key());
        s.backend = kind.name().to_owned();
    }
    let own: Vec<IpPrefix> = lease
        .ipv4
        .iter()
        .chain(lease.ipv6.iter())
        .copied()
        .collect();

    // The local data plane: device, host rules, then subnet.env (last: it is the signal to
    // the CNI plugin that pods can be networked).
    let vxlan = mac.map(|mac| VxlanDevice {
        name: format!("twill.{}", config.backend.vni),
        spec: VxlanSpec {
            local: attrs.underlay(),
            dev: Some(underlay.index),
            gbp: config.backend.gbp,
            // Every peer is programmed; a learning device would add entries behind the
            // reconciler's back (and flood unknown MACs).
            learning: false,
            ..VxlanSpec::new(config.backend.vni, config.backend.port)
        },
        mac,
        mtu,
        addrs: own.iter().map(|p| IpPrefix::host(nth_addr(p, 0))).collect(),
    });
    let nets: Vec<FamilyNets> = [(config.ipv4, lease.ipv4), (config.ipv6, lease.ipv6)]
        .into_iter()
        .filter_map(|(r, o)| {
            Some(FamilyNets {
                network: r?.network,
                own: o?,
            })
        })
        .collect();
    let ip_masq = opts.ip_masq;
    let udp = (kind == BackendType::Udp).then(|| UdpConfig {
        tun_name: UDP_DEVICE.to_owned(),
        mtu,
        own: own.clone(),
        networks: nets.iter().map(|n| n.network).collect(),
        bind: attrs
            .underlay()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        port: config.backend.port,
    });
    let vxlan_dev: Option<u32> = retry("set up the local data plane", status, || {
        let (vxlan, nets, udp) = (vxlan.clone(), nets.clone(), udp.clone());
        async move {
            worker
                .call(move |k| -> Result<Option<u32>, String> {
                    let keep = vxlan.as_ref().map(|v| v.name.as_str());
                    remove_stale_vxlan(&mut k.nl, keep).map_err(|e| e.to_string())?;
                    let dev = match &vxlan {
                        Some(v) => Some(ensure_vxlan(&mut k.nl, v).map_err(|e| e.to_string())?),
                        None => None,
                    };
                    ensure_udp(k, udp).map_err(|e| e.to_string())?;
                    let nft = k.nft().map_err(|e| e.to_string())?;
                    hostrules::ensure(nft, &nets, ip_masq).map_err(|e| e.to_string())?;
                    Ok(dev)
                })
                .await
                .map_err(|e| e.to_string())?
        }
    })
    .await;
    let env = SubnetEnv {
        network: config.ipv4.map(|r| r.network),
        subnet: lease.ipv4,
        ipv6_network: config.ipv6.map(|r| r.network),
        ipv6_subnet: lease.ipv6,
        mtu,
        ip_masq,
    };
    if let Err(e) = env.write(&opts.subnet_file) {
        log::error(
            "write subnet.env",
            &[("file", &opts.subnet_file.display()), ("error", &e)],
        );
    }

    // Keep the lease alive on a clone of the store, so a slow renewal never delays a
    // reconcile; a lost lease comes back as an event.
    let (lost_tx, mut lost_rx) = mpsc::channel::<()>(1);
    let keeper = {
        let mut s = store.clone();
        let renew = opts.renew;
        tokio::spawn(async move {
            let mut t = Throttle::new("lease renewal failed", Duration::from_secs(30));
            loop {
                match s.keep_alive().await {
                    Ok(_) => {
                        t.ok();
                        tokio::time::sleep(renew).await;
                    }
                    Err(StoreError::LeaseExpired) => {
                        let _ = lost_tx.send(()).await;
                        return;
                    }
                    Err(e) => {
                        t.fail(&e);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        })
    };
    let _abort = AbortOnDrop(keeper);

    let local = Local {
        ipv4: lease.ipv4,
        ipv6: lease.ipv6,
        underlay_dev: underlay.index,
        underlay_prefixes: underlay.prefixes.clone(),
        vxlan_dev,
    };
    let networks: Vec<_> = config
        .ipv4
        .iter()
        .chain(config.ipv6.iter())
        .copied()
        .collect();
    let mut store_t = Throttle::new("store unreachable", Duration::from_secs(30));
    let mut status_t = Throttle::new("write status.json", Duration::from_secs(300));
    let mut wait = Duration::from_millis(100);
    let mut revision = 0;
    let mut resync = tokio::time::interval(opts.resync);
    resync.tick().await;
    // Every way out of the select below is a reason to reconcile: the loop is the
    // level trigger.
    loop {
        match pass(store, status, worker, config, &local, &networks, &own).await {
            Ok(Some(r)) => return r,
            Ok(None) => {}
            Err(e) => {
                store_t.fail(&e);
                status.lock().store_ok = false;
            }
        }
        if !store_t.failing() {
            wait = Duration::from_millis(100);
        }
        revision = status_revision(status, revision);
        if let Err(e) = status.save(&opts.state_dir.join("status.json")) {
            status_t.fail(&e);
        } else {
            status_t.ok();
        }
        tokio::select! {
            r = store.changed(revision) => match r {
                Ok(_) => store_t.ok(),
                Err(e) => {
                    store_t.fail(&e);
                    status.lock().store_ok = false;
                    tokio::time::sleep(wait).await;
                    wait = backoff(wait);
                }
            },
            _ = resync.tick() => {}
            _ = lost_rx.recv() => return Restart::LeaseLost,
        }
    }
}

/// The revision of the last listing, kept in the status between passes.
fn status_revision(status: &Shared, fallback: i64) -> i64 {
    status.lock().revision.unwrap_or(fallback)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One reconcile: re-read the config (a change restarts), list, render, apply.
async fn pass<S: Store>(
    store: &mut S,
    status: &Shared,
    worker: &Worker,
    config: &NetworkConfig,
    local: &Local,
    networks: &[crate::subnet::Range],
    own: &[IpPrefix],
) -> Result<Option<Restart>, StoreError> {
    let started = Instant::now();
    if let Some(text) = store.config().await? {
        if NetworkConfig::parse(&text)
            .ok()
            .as_ref()
            .is_some_and(|c| c != config)
        {
            return Ok(Some(Restart::Config));
        }
    }
    let listing = store.list().await?;
    for bad in &listing.unreadable {
        log::warn("unreadable lease skipped", &[("reason", bad)]);
    }
    let key = status.lock().lease.clone();
    if !listing.leases.iter().any(|l| Some(l.key()) == key) {
        return Ok(Some(Restart::LeaseLost));
    }
    let desired = render(config, local, &listing.leases);
    let (networks, own, vxlan_dev) = (networks.to_vec(), own.to_vec(), local.vxlan_dev);
    let want = desired.state.clone();
    let udp_peers =
        (config.backend.kind == BackendType::Udp).then(|| udp_peers(config, &own, &listing.leases));
    let result = worker
        .call(move |k| {
            if let (Some((_, udp)), Some(peers)) = (&k.udp, udp_peers) {
                udp.set_peers(peers);
            }
            let mut plane = KernelPlane {
                nl: &mut k.nl,
                networks,
                own,
                vxlan_dev,
            };
            reconcile(&mut plane, &want).map_err(|e| e.to_string())
        })
        .await;
    let took = started.elapsed();
    {
        let mut s = status.lock();
        s.store_ok = true;
        s.leases = listing.leases.clone();
        s.unroutable = desired.unroutable.clone();
        s.revision = Some(listing.revision);
    }
    match result {
        Ok(Ok(p)) => {
            for e in &p.errors {
                log::error("reconcile", &[("error", e)]);
            }
            if p.applied > 0 {
                log::info(
                    "reconciled",
                    &[
                        ("changes", &p.applied),
                        ("peers", &desired.peers),
                        ("seconds", &format!("{:.4}", took.as_secs_f64())),
                    ],
                );
            }
            status.reconciled(took, p.applied, &p.errors, desired.state.len());
        }
        Ok(Err(e)) => {
            log::error("observe the data plane", &[("error", &e)]);
            status.reconciled(took, 0, &[e], desired.state.len());
        }
        Err(e) => {
            status.reconciled(took, 0, &[e.to_string()], desired.state.len());
        }
    }
    Ok(None)
}

/// The udp backend's peer table: every other node's subnets and where to send them.
fn udp_peers(
    config: &NetworkConfig,
    own: &[IpPrefix],
    leases: &[crate::lease::Lease],
) -> Vec<(IpPrefix, IpAddr)> {
    let mut out = Vec::new();
    for l in leases {
        let subnets: Vec<IpPrefix> = l.ipv4.iter().chain(l.ipv6.iter()).copied().collect();
        if subnets.iter().any(|s| own.contains(s))
            || l.attrs.backend_type != BackendType::Udp.name()
            || !lease_fits(config, l.ipv4.as_ref(), l.ipv6.as_ref())
        {
            continue;
        }
        if let Some(addr) = l.attrs.underlay() {
            out.extend(subnets.into_iter().map(|s| (s, addr)));
        }
    }
    out
}

/// Leaves the cluster: releases this node's lease (found by its public address), removes the
/// vxlan device, the host rules and subnet.env. Pods on the node lose the network.
pub async fn leave<S: Store>(mut store: S, opts: &Options) -> anyhow::Result<()> {
    let worker = Worker::spawn()?;
    let underlay = underlay(&worker, opts).await?;
    let me = Attrs {
        public_ip: underlay.public_ip,
        public_ipv6: underlay.public_ipv6,
        backend_type: String::new(),
        vni: None,
        vtep_mac: None,
    };
    let listing = store.list().await?;
    for l in &listing.leases {
        if me.same_node(&l.attrs) {
            store.delete(&l.key()).await?;
            log::info("lease released", &[("key", &l.key())]);
        }
    }
    worker
        .call(|k| -> Result<(), String> {
            for link in k.nl.link_list().map_err(|e| e.to_string())? {
                if link.kind.as_deref() == Some("vxlan") && link.name.starts_with("twill.") {
                    k.nl.link_delete(twill_kernel::LinkId::Index(link.index))
                        .map_err(|e| e.to_string())?;
                }
            }
            let nft = k.nft().map_err(|e| e.to_string())?;
            hostrules::remove(nft).map_err(|e| e.to_string())
        })
        .await?
        .map_err(anyhow::Error::msg)?;
    match std::fs::remove_file(&opts.subnet_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    Ok(())
}
