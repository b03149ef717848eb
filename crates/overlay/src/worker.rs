//! The kernel thread: the synchronous kernel crate runs here, beside the async runtime, so a
//! slow netlink reply never stalls the store's I/O (keep-alives, watches, health checks).
//! Jobs are closures over the thread's own sockets; each answers through a oneshot.

use std::sync::mpsc;

use tokio::sync::oneshot;
use twill_kernel::nft::Nftables;
use twill_kernel::Netlink;

/// What the kernel thread owns.
#[derive(Debug)]
pub struct KernelCtx {
    /// rtnetlink, in the agent's namespace.
    pub nl: Netlink,
    /// nf_tables, opened on first use.
    pub nft: Option<Nftables>,
    /// The udp backend's forwarder and the settings it runs with, when that backend runs.
    pub udp: Option<(
        crate::backend::udp::UdpConfig,
        crate::backend::udp::UdpBackend,
    )>,
}

impl KernelCtx {
    /// The nf_tables socket, opened on first use.
    pub fn nft(&mut self) -> twill_kernel::Result<&mut Nftables> {
        let nft = match self.nft.take() {
            Some(n) => n,
            None => Nftables::open()?,
        };
        Ok(self.nft.insert(nft))
    }
}

type Job = Box<dyn FnOnce(&mut KernelCtx) + Send>;

/// A handle on the kernel thread; the thread ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Worker {
    tx: mpsc::Sender<Job>,
}

/// The kernel thread ended (it panicked).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the kernel thread is gone")]
pub struct Gone;

impl Worker {
    /// Opens the sockets in the calling thread's namespace and starts the thread.
    pub fn spawn() -> twill_kernel::Result<Worker> {
        let nl = Netlink::open()?;
        let (tx, rx) = mpsc::channel::<Job>();
        let mut ctx = KernelCtx {
            nl,
            nft: None,
            udp: None,
        };
        std::thread::Builder::new()
            .name("twilld-kernel".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut ctx);
                }
            })
            .map_err(|e| twill_kernel::Error::io("start", "kernel thread", e))?;
        Ok(Worker { tx })
    }

    /// Runs `f` on the kernel thread and waits (asynchronously) for its answer.
    pub async fn call<T, F>(&self, f: F) -> Result<T, Gone>
    where
        T: Send + 'static,
        F: FnOnce(&mut KernelCtx) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |ctx| {
            let _ = tx.send(f(ctx));
        });
        self.tx.send(job).map_err(|_| Gone)?;
        rx.await.map_err(|_| Gone)
    }
}
