//! The run: both implementations' nodes filled pod by pod, alternating, then drained.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use twill_cni::config::NetConfList;

use crate::chain::{Attachment, Chain, ChainError, Cost};
use crate::node::Node;
use crate::scenario::Scenario;
use crate::Options;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Namespaces need root.
    #[error("must run as root: it creates network namespaces")]
    NotRoot,
    /// A namespace operation failed.
    #[error(transparent)]
    Kernel(#[from] twill_kernel::Error),
    /// A plugin failed.
    #[error("{implementation}, pod {pod}: {source}")]
    Chain {
        /// Which side.
        implementation: &'static str,
        /// Which pod.
        pod: usize,
        /// What failed.
        source: ChainError,
    },
    /// Setting up the plugin directories or the configuration failed.
    #[error("{0}")]
    Setup(String),
}

/// What one implementation measured.
#[derive(Debug, Default)]
pub struct Side {
    /// "twill" or "reference".
    pub label: &'static str,
    /// ADD of pod i, in fill order.
    pub add: Vec<Duration>,
    /// DEL of pod i, in drain order (the first on a full node).
    pub del: Vec<Duration>,
    /// The largest peak RSS of any plugin exec, in KiB.
    pub max_rss_kib: u64,
    /// The kernel deleting a bare veth pair in this node, once beside each DEL.
    pub veth_floor: Vec<Duration>,
    /// The chain's plugins each answering VERSION, once beside each ADD.
    pub exec_floor: Vec<Duration>,
    /// The kernel deleting one nf_tables element (socket close included), beside each DEL.
    pub nft_floor: Vec<Duration>,
}

/// A whole run.
#[derive(Debug)]
pub struct Figures {
    /// The scenario's name.
    pub scenario: &'static str,
    /// Its description.
    pub describe: &'static str,
    /// Pods per side.
    pub pods: usize,
    /// twill, then the reference.
    pub sides: [Side; 2],
}

/// A scratch directory removed on drop.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    /// Creates the directory.
    pub(crate) fn new(dir: PathBuf) -> Result<Scratch, SweepError> {
        std::fs::create_dir_all(&dir).map_err(|e| setup_err("create", &dir, e))?;
        Ok(Scratch(dir))
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Runner {
    side: Side,
    node: Node,
    chain: Chain,
    scenario: Scenario,
    results: Vec<Value>,
    /// Pods whose ADD was started, and pods deleted, in order: a run that stops early DELs
    /// the pods in between (see the `Drop` impl).
    attempted: usize,
    deleted: usize,
}

impl Drop for Runner {
    /// A run that stopped early (a plugin failed) still DELs every pod it added or tried to:
    /// the namespaces go with the node, but the plugins' records and reservations live on
    /// the machine's disk.
    fn drop(&mut self) {
        for i in self.deleted..self.attempted {
            let _ = del_quiet(self, i);
        }
    }
}

fn setup_err(what: &str, path: &Path, e: impl std::fmt::Display) -> SweepError {
    SweepError::Setup(format!("{what} {}: {e}", path.display()))
}

fn runner(
    label: &'static str,
    opts: &Options,
    bin: PathBuf,
    scratch: &Path,
) -> Result<Runner, SweepError> {
    let conflist = opts
        .scenario
        .conflist(&scratch.join(format!("{label}-ipam")));
    let list = NetConfList::from_value(&conflist)
        .map_err(|e| SweepError::Setup(format!("scenario configuration: {e}")))?;
    let netns_dir = PathBuf::from(format!("/run/twill-bench-{}", std::process::id()));
    let node = Node::create(netns_dir, label)?;
    opts.scenario.prepare(&node)?;
    Ok(Runner {
        side: Side {
            label,
            add: Vec::with_capacity(opts.pods),
            del: Vec::with_capacity(opts.pods),
            max_rss_kib: 0,
            veth_floor: Vec::with_capacity(opts.pods),
            exec_floor: Vec::with_capacity(opts.pods),
            nft_floor: Vec::with_capacity(opts.pods),
        },
        node,
        chain: Chain::new(list, bin, scratch.join(format!("{label}-metrics"))),
        scenario: opts.scenario,
        results: Vec::with_capacity(opts.pods),
        attempted: 0,
        deleted: 0,
    })
}

/// twill's plugin directory: a symlink to the multi-call binary per plugin the chain uses.
pub(crate) fn twill_dir(opts: &Options, scratch: &Path) -> Result<PathBuf, SweepError> {
    let target = std::fs::canonicalize(&opts.twill_cni)
        .map_err(|e| setup_err("twill plugin binary", &opts.twill_cni, e))?;
    let dir = scratch.join("twill-bin");
    std::fs::create_dir_all(&dir).map_err(|e| setup_err("create", &dir, e))?;
    for name in opts.scenario.plugin_names() {
        let link = dir.join(name);
        std::os::unix::fs::symlink(&target, &link).map_err(|e| setup_err("link", &link, e))?;
    }
    Ok(dir)
}

pub(crate) fn check_reference(opts: &Options) -> Result<(), SweepError> {
    for name in opts.scenario.plugin_names() {
        let p = opts.reference.join(name);
        if !p.is_file() {
            return Err(setup_err(
                "reference plugin missing (run scripts/setup.sh):",
                &p,
                "not found",
            ));
        }
    }
    Ok(())
}

/// Fills both nodes to `opts.pods`, alternating who goes first, then drains them.
pub fn run(opts: &Options) -> Result<Figures, SweepError> {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(SweepError::NotRoot);
    }
    check_reference(opts)?;
    let scratch =
        Scratch::new(std::env::temp_dir().join(format!("twill-bench-{}", std::process::id())))?;
    let ours = twill_dir(opts, &scratch.0)?;
    let mut sides = [
        runner("twill", opts, ours, &scratch.0)?,
        runner("reference", opts, opts.reference.clone(), &scratch.0)?,
    ];
    for i in 0..opts.pods {
        for k in [i % 2, 1 - i % 2] {
            if let Some(r) = sides.get_mut(k) {
                add_one(r, i)?;
            }
        }
    }
    for i in 0..opts.pods {
        for k in [i % 2, 1 - i % 2] {
            if let Some(r) = sides.get_mut(k) {
                del_one(r, i)?;
            }
        }
    }
    let [mut a, mut b] = sides;
    Ok(Figures {
        scenario: opts.scenario.name(),
        describe: opts.scenario.describe(),
        pods: opts.pods,
        sides: [std::mem::take(&mut a.side), std::mem::take(&mut b.side)],
    })
}

pub(crate) fn container_id(label: &str, i: usize) -> String {
    format!("bench-{label}-{i}")
}

fn add_one(r: &mut Runner, i: usize) -> Result<(), SweepError> {
    let netns = r.node.add_pod(i)?;
    r.attempted = i + 1;
    let id = container_id(r.side.label, i);
    let caps = r.scenario.capability_args(i);
    let at = Attachment {
        container_id: &id,
        netns: &netns,
        ifname: "eth0",
        capability_args: &caps,
    };
    let chain = &r.chain;
    let (result, cost) =
        r.node
            .host()
            .run(|| chain.add(&at))?
            .map_err(|source| SweepError::Chain {
                implementation: r.side.label,
                pod: i,
                source,
            })?;
    r.side.add.push(cost.elapsed);
    r.side.max_rss_kib = r.side.max_rss_kib.max(cost.max_rss_kib);
    r.results.push(result);
    let floor = chain.exec_floor().map_err(|source| SweepError::Chain {
        implementation: r.side.label,
        pod: i,
        source,
    })?;
    r.side.exec_floor.push(floor);
    Ok(())
}

fn del_one(r: &mut Runner, i: usize) -> Result<(), SweepError> {
    let cost = del_pod(r, i)?.map_err(|source| SweepError::Chain {
        implementation: r.side.label,
        pod: i,
        source,
    })?;
    r.deleted = i + 1;
    r.side.del.push(cost.elapsed);
    r.side.veth_floor.push(r.node.veth_delete_floor()?);
    r.side.nft_floor.push(r.node.nft_delete_floor()?);
    r.side.max_rss_kib = r.side.max_rss_kib.max(cost.max_rss_kib);
    // The pod's namespace stays until the run ends: the kernel tears a namespace down in the
    // background, and a thousand teardowns would load the machine under the measurements.
    Ok(())
}

/// DEL of pod `i` with whatever result its ADD left (none when it failed), unmeasured.
fn del_quiet(r: &Runner, i: usize) -> Result<(), SweepError> {
    del_pod(r, i).map(drop)
}

/// Runs the chain's DEL of pod `i` in the node, with the result its ADD left (none when it
/// failed): the namespace error outside, the chain's inside.
fn del_pod(r: &Runner, i: usize) -> Result<Result<Cost, ChainError>, SweepError> {
    let netns = r.node.pod_path(i)?;
    let id = container_id(r.side.label, i);
    let caps = r.scenario.capability_args(i);
    let at = Attachment {
        container_id: &id,
        netns: &netns,
        ifname: "eth0",
        capability_args: &caps,
    };
    let result = r.results.get(i).cloned().unwrap_or(Value::Null);
    let chain = &r.chain;
    Ok(r.node.host().run(|| chain.del(&at, &result))?)
}
