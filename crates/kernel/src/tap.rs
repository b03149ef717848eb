//! Persistent tap devices (Ethernet frames through a file descriptor), for the tap plugin:
//! the device is made for a program that opens it later (a VM monitor), so it must outlive
//! the descriptor that created it.
//!
//! Made the way `ip tuntap add mode tap … user U group G` makes one (seen with strace): open
//! `/dev/net/tun`, `TUNSETIFF`, `TUNSETOWNER`, `TUNSETGROUP`, `TUNSETPERSIST 1`, close. The
//! kernel has no netlink request that creates a tun device; it only reports them, with the
//! `IFLA_INFO_DATA` of kind `tun` read here as [`TunInfo`]. Like [`crate::tun::create`], the
//! device lands in the calling thread's namespace: call it inside [`crate::NetNs::run`].

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::link::LinkId;
use crate::link_info;
use crate::nl::consts::{IFLA_INFO_DATA, IFLA_INFO_KIND};
use crate::nl::{Netlink, WireError};

/// `IFLA_TUN_OWNER` (u32; present only when an owner is set).
pub const IFLA_TUN_OWNER: u16 = 1;
/// `IFLA_TUN_GROUP` (u32; present only when a group is set).
pub const IFLA_TUN_GROUP: u16 = 2;
/// `IFLA_TUN_TYPE` (u8: `IFF_TUN` 1 or `IFF_TAP` 2).
pub const IFLA_TUN_TYPE: u16 = 3;
/// `IFLA_TUN_PI` (u8).
pub const IFLA_TUN_PI: u16 = 4;
/// `IFLA_TUN_VNET_HDR` (u8).
pub const IFLA_TUN_VNET_HDR: u16 = 5;
/// `IFLA_TUN_PERSIST` (u8).
pub const IFLA_TUN_PERSIST: u16 = 6;
/// `IFLA_TUN_MULTI_QUEUE` (u8).
pub const IFLA_TUN_MULTI_QUEUE: u16 = 7;

/// How to make a tap device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapSpec {
    /// `IFF_MULTI_QUEUE`: the program opening it may attach several queues.
    pub multi_queue: bool,
    /// `IFF_VNET_HDR` (a virtio-net header with each frame, until an opener says otherwise).
    pub vnet_hdr: bool,
    /// `IFF_NO_PI`: no packet-information prefix.
    pub no_pi: bool,
    /// The user allowed to open it (besides `CAP_NET_ADMIN`).
    pub owner: Option<u32>,
    /// The group allowed to open it.
    pub group: Option<u32>,
}

impl TapSpec {
    /// The `TUNSETIFF` flags (`IFF_TUN_EXCL`: a device of that name is an error, never
    /// shared).
    pub fn flags(&self) -> libc::c_int {
        let mut f = libc::IFF_TAP | libc::IFF_TUN_EXCL;
        if self.multi_queue {
            f |= libc::IFF_MULTI_QUEUE;
        }
        if self.vnet_hdr {
            f |= libc::IFF_VNET_HDR;
        }
        if self.no_pi {
            f |= libc::IFF_NO_PI;
        }
        f
    }
}

/// Creates the persistent tap device `name` in the calling thread's namespace. Fails with
/// `EBUSY` when a device of that name exists. On failure nothing is left: the device is only
/// made persistent last, and goes with its descriptor until then.
pub fn create_persistent(name: &str, spec: &TapSpec) -> Result<()> {
    const OP: &str = "create tap device";
    let fd = crate::tun::set_iff(OP, name, spec.flags())?;
    if let Some(uid) = spec.owner {
        by_value(
            &fd,
            libc::TUNSETOWNER,
            uid.into(),
            "set owner of tap device",
            name,
        )?;
    }
    if let Some(gid) = spec.group {
        by_value(
            &fd,
            libc::TUNSETGROUP,
            gid.into(),
            "set group of tap device",
            name,
        )?;
    }
    by_value(
        &fd,
        libc::TUNSETPERSIST,
        1,
        "make tap device persistent",
        name,
    )
}

/// Opens a queue of the existing single-queue tap device `name` in the calling thread's
/// namespace, frames without a prefix (`IFF_NO_PI`): what a VM monitor does. The device has
/// a carrier while a queue is open. Fails with `ENODEV` when there is no such device
/// (rather than creating one, as a bare `TUNSETIFF` would).
pub fn open_queue(name: &str) -> Result<OwnedFd> {
    const OP: &str = "open tap queue";
    let cname = std::ffi::CString::new(name)
        .map_err(|_| Error::invalid(OP, format!("{name:?}"), "NUL in name"))?;
    // SAFETY: `cname` is a NUL-terminated string that outlives the call.
    if unsafe { libc::if_nametoindex(cname.as_ptr()) } == 0 {
        return Err(Error::io(
            OP,
            format!("{name:?}"),
            io::Error::last_os_error(),
        ));
    }
    crate::tun::set_iff(OP, name, libc::IFF_TAP | libc::IFF_NO_PI)
}

/// An ioctl on a tun descriptor that takes its argument by value.
fn by_value(
    fd: &OwnedFd,
    request: libc::Ioctl,
    arg: libc::c_ulong,
    op: &'static str,
    name: &str,
) -> Result<()> {
    // SAFETY: `fd` is an open tun descriptor; TUNSETOWNER, TUNSETGROUP and TUNSETPERSIST
    // take an unsigned long by value and touch no memory of ours.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) };
    if rc < 0 {
        return Err(Error::io(
            op,
            format!("{name:?}"),
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// What the kernel reports about a tun or tap device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunInfo {
    /// A tap (Ethernet frames) rather than a tun (IP packets).
    pub tap: bool,
    /// Owner, when set.
    pub owner: Option<u32>,
    /// Group, when set.
    pub group: Option<u32>,
    /// Packet-information prefix on.
    pub pi: bool,
    /// virtio-net header on.
    pub vnet_hdr: bool,
    /// Persistent.
    pub persist: bool,
    /// Multi-queue.
    pub multi_queue: bool,
}

impl TunInfo {
    /// From a link message payload; `None` when the link is not of kind `tun`.
    pub fn parse(payload: &[u8]) -> Result<Option<TunInfo>, WireError> {
        let Some(info) = link_info::parse(payload, IFLA_INFO_KIND, IFLA_INFO_DATA)? else {
            return Ok(None);
        };
        let Some(data) = info.data.filter(|_| info.kind == Some("tun")) else {
            return Ok(None);
        };
        let mut t = TunInfo::default();
        for a in data.nested() {
            let a = a?;
            match a.kind() {
                IFLA_TUN_OWNER => t.owner = Some(a.as_u32()?),
                IFLA_TUN_GROUP => t.group = Some(a.as_u32()?),
                IFLA_TUN_TYPE => t.tap = a.as_u8()? == libc::IFF_TAP as u8,
                IFLA_TUN_PI => t.pi = a.as_u8()? != 0,
                IFLA_TUN_VNET_HDR => t.vnet_hdr = a.as_u8()? != 0,
                IFLA_TUN_PERSIST => t.persist = a.as_u8()? != 0,
                IFLA_TUN_MULTI_QUEUE => t.multi_queue = a.as_u8()? != 0,
                _ => {}
            }
        }
        Ok(Some(t))
    }
}

impl Netlink {
    /// The tun/tap information of a link; `None` when it is not a tun device.
    pub fn tun_info(&mut self, id: LinkId<'_>) -> Result<Option<TunInfo>> {
        let req = link_info::get_request("get link", id)?;
        self.request_one("get tun info of link", &id, req, |m| {
            TunInfo::parse(m.payload())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::IFINFO_LEN;
    use crate::nl::consts::IFLA_LINKINFO;

    #[test]
    fn flags_are_iproute2s() {
        let plain = TapSpec::default().flags();
        assert_eq!(plain, libc::IFF_TAP | libc::IFF_TUN_EXCL);
        let mq = TapSpec {
            multi_queue: true,
            no_pi: true,
            ..TapSpec::default()
        };
        assert_eq!(mq.flags() & !plain, libc::IFF_MULTI_QUEUE | libc::IFF_NO_PI);
        let vnet = TapSpec {
            vnet_hdr: true,
            ..TapSpec::default()
        };
        assert_eq!(vnet.flags() & !plain, libc::IFF_VNET_HDR);
    }

    /// A link reply's `IFLA_LINKINFO` for `ip tuntap add mode tap multi_queue user 1000
    /// group 1001 name t0`, written out attribute by attribute (kernel 6.1's order and
    /// sizes, values as `ip -d link show t0` reported them), after an all-zero `ifinfomsg`.
    fn captured() -> Vec<u8> {
        let mut p = vec![0u8; IFINFO_LEN];
        let data: Vec<u8> = [
            &[8u8, 0, 1, 0, 0xe8, 3, 0, 0][..], // owner 1000
            &[8, 0, 2, 0, 0xe9, 3, 0, 0],       // group 1001
            &[5, 0, 3, 0, 2, 0, 0, 0],          // type tap
            &[5, 0, 4, 0, 0, 0, 0, 0],          // pi off
            &[5, 0, 5, 0, 0, 0, 0, 0],          // vnet_hdr off
            &[5, 0, 6, 0, 1, 0, 0, 0],          // persist
            &[5, 0, 7, 0, 1, 0, 0, 0],          // multi_queue
            &[8, 0, 8, 0, 0, 0, 0, 0],          // numqueues 0
        ]
        .concat();
        let mut info = vec![8u8, 0, 1, 0, b't', b'u', b'n', 0]; // kind "tun"
        let len = u16::try_from(4 + data.len()).unwrap();
        info.extend_from_slice(&len.to_ne_bytes());
        info.extend_from_slice(&IFLA_INFO_DATA.to_ne_bytes());
        info.extend_from_slice(&data);
        let len = u16::try_from(4 + info.len()).unwrap();
        p.extend_from_slice(&len.to_ne_bytes());
        p.extend_from_slice(&IFLA_LINKINFO.to_ne_bytes());
        p.extend_from_slice(&info);
        p
    }

    #[test]
    fn reads_what_the_kernel_reports() {
        let p = captured();
        let t = TunInfo::parse(&p).unwrap().unwrap();
        assert_eq!(
            t,
            TunInfo {
                tap: true,
                owner: Some(1000),
                group: Some(1001),
                pi: false,
                vnet_hdr: false,
                persist: true,
                multi_queue: true,
            }
        );
        for cut in 0..p.len() {
            let _ = TunInfo::parse(&p[..cut]);
        }
        assert_eq!(TunInfo::parse(&[0u8; IFINFO_LEN]).unwrap(), None);
    }
}
