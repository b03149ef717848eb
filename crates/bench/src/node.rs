//! A benchmark node: a "host" network namespace where the plugins run, and a namespace per pod.
//! Everything is created under a directory of the benchmark's own and removed on drop, so the
//! machine's own namespace is never touched and nothing outlives the run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::net::{IpAddr, Ipv4Addr};

use twill_kernel::nft::{Batch, DataType, Element, Family, Nftables, Set, SetRef, Table, Value};
use twill_kernel::{LinkId, NetNs, NetNsDir, NewLink};

/// The node's own table and set for [`Node::nft_delete_floor`].
const FLOOR_TABLE: &str = "twill_bench_floor";
const FLOOR_SET: &str = "s";

/// One implementation's node.
#[derive(Debug)]
pub struct Node {
    dir: NetNsDir,
    host: NetNs,
    pods: Vec<String>,
    label: String,
}

impl Node {
    /// Creates the node's host namespace, with `lo` up, under `dir`.
    pub fn create(dir: PathBuf, label: &str) -> Result<Node, twill_kernel::Error> {
        let dir = NetNsDir::unshared(dir);
        let host = dir.create(&format!("{label}-host"))?;
        host.netlink()?.link_set_up(LinkId::Name("lo"))?;
        Ok(Node {
            dir,
            host,
            pods: Vec::new(),
            label: label.to_owned(),
        })
    }

    /// Creates pod `i`'s namespace and returns its path.
    pub fn add_pod(&mut self, i: usize) -> Result<PathBuf, twill_kernel::Error> {
        let name = format!("{}-pod{i}", self.label);
        self.dir.create(&name)?;
        let path = self.dir.path(&name)?;
        self.pods.push(name);
        Ok(path)
    }

    /// The path of pod `i`'s namespace.
    pub fn pod_path(&self, i: usize) -> Result<PathBuf, twill_kernel::Error> {
        self.dir.path(&format!("{}-pod{i}", self.label))
    }

    /// The kernel's own cost of deleting one veth pair in this node, timed around the bare
    /// netlink request: the floor under any DEL that removes a pod's interface.
    pub fn veth_delete_floor(&self) -> Result<Duration, twill_kernel::Error> {
        let mut nl = self.host.netlink()?;
        nl.link_add(&NewLink::veth("floor-a", "floor-b"))?;
        let start = Instant::now();
        nl.link_delete(LinkId::Name("floor-a"))?;
        Ok(start.elapsed())
    }

    /// The kernel's own cost of deleting one nf_tables set element in this node, timed
    /// around the delete request and the closing of the socket that made it: on close,
    /// nf_tables waits for what the deletion freed (an RCU grace period). The floor under the
    /// DEL of each plugin that removes an element (portmap, firewall, ipMasq), whichever
    /// program deletes it (`nft` and `iptables-nft` pay it too).
    pub fn nft_delete_floor(&self) -> Result<Duration, twill_kernel::Error> {
        let set = SetRef::new(Family::Inet, FLOOR_TABLE, FLOOR_SET);
        let element = Element::new(&[Value::ip(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)))]);
        let mut nft = Nftables::open_in(&self.host)?;
        let mut setup = Batch::new();
        setup
            .add_table(&Table::new(Family::Inet, FLOOR_TABLE))
            .add_set(&Set::new(
                Family::Inet,
                FLOOR_TABLE,
                FLOOR_SET,
                &[DataType::Ipv4Addr],
            ))
            .add_elements(&set, std::slice::from_ref(&element));
        nft.apply(&setup)?;
        let mut delete = Batch::new();
        delete.delete_elements(&set, std::slice::from_ref(&element));
        let start = Instant::now();
        nft.apply(&delete)?;
        drop(nft);
        Ok(start.elapsed())
    }

    /// A parent device `name` for macvlan pods: a veth whose peer (in the same namespace)
    /// is up, so the parent has carrier as a host's uplink does.
    pub fn add_parent(&self, name: &str) -> Result<(), twill_kernel::Error> {
        let mut nl = self.host.netlink()?;
        let peer = format!("{name}-p");
        nl.link_add(&NewLink::veth(name, &peer).up())?;
        nl.link_set_up(LinkId::Name(&peer))
    }

    /// The host namespace, where plugins run.
    pub fn host(&self) -> &NetNs {
        &self.host
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for pod in std::mem::take(&mut self.pods) {
            let _ = self.dir.delete(&pod);
        }
        let _ = self.dir.delete(&format!("{}-host", self.label));
        self.dir.remove_if_empty();
    }
}
