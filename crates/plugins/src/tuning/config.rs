//! tuning's configuration: its keys read from the plugin's stdin (matched as Go matches them),
//! with the overrides from `CNI_ARGS`, `runtimeConfig` and `args.cni` applied in the
//! reference's order, and every value checked before anything is changed.

use std::path::PathBuf;

use serde_json::{Map, Value};
use twill_cni::config::NetConf;
use twill_cni::json::{FieldError, Obj};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::MacAddr;

/// Where backups go when `dataDir` is not set (the reference's default).
pub const DEFAULT_DATA_DIR: &str = "/run/cni/tuning";

/// One sysctl to set: the key as written (what the allowlist matches) and the path under
/// `/proc/sys` it names for this attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    /// The key as written in the configuration, such as `net.ipv4.conf.IFNAME.arp_filter`.
    pub key: String,
    /// The key in slash form with `IFNAME` substituted: `net/ipv4/conf/eth0/arp_filter`.
    pub path: String,
    /// The value to write.
    pub value: String,
}

/// Everything tuning is asked to do, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuningConf {
    /// Sysctls, in document order (`args.cni.sysctl` entries replace or follow them).
    pub sysctl: Vec<Sysctl>,
    /// New MAC address.
    pub mac: Option<MacAddr>,
    /// New MTU (`0` in the configuration means unset, as in the reference).
    pub mtu: Option<u32>,
    /// Turn promiscuous mode on (`false` leaves it as it is, as in the reference).
    pub promisc: bool,
    /// Turn all-multicast mode on or off.
    pub allmulti: Option<bool>,
    /// New transmit queue length (`0` is a value).
    pub txqlen: Option<u32>,
    /// Where the backup of the link's original attributes is kept.
    pub data_dir: PathBuf,
}

impl TuningConf {
    /// Reads the configuration of an ADD or CHECK.
    ///
    /// # Errors
    ///
    /// Code 6 for a value of the wrong JSON type, 7 for an invalid one, 4 for a bad `MAC`
    /// in `CNI_ARGS`; the message names the field.
    pub fn parse(args: &CmdArgs) -> Result<TuningConf, CniError> {
        // The common keys (runtimeConfig, args, prevResult, …) are checked as every plugin
        // checks them.
        let net = NetConf::from_value(&args.config)?;
        let o = Obj::root(&args.config)?;
        let mut conf = TuningConf {
            sysctl: Vec::new(),
            mac: mac(&o, "mac")?,
            mtu: mtu(&o, "mtu")?,
            promisc: o.bool("promisc")?.unwrap_or(false),
            allmulti: o.bool("allmulti")?,
            txqlen: txqlen(&o, "txQLen")?,
            data_dir: data_dir(&o)?,
        };
        if let Some(map) = o.object("sysctl")? {
            merge_sysctls(&mut conf.sysctl, map, "sysctl", &args.ifname)?;
        }
        // Precedence, lowest first, as the reference applies it: the key, CNI_ARGS MAC,
        // runtimeConfig.mac, then everything under args.cni.
        if let Some(bytes) = args.args.mac()? {
            conf.mac = Some(MacAddr(bytes));
        }
        if let Some(rc) = &net.plugin.runtime_config {
            let path = o.field_path("runtimeConfig");
            if let Some(m) = mac(&Obj::new(&rc.raw, &path), "mac")? {
                conf.mac = Some(m);
            }
        }
        let args_path = o.field_path("args");
        if let Some(args_obj) = o.object("args")? {
            let cni_path = format!("{args_path}.cni");
            if let Some(cni) = Obj::new(args_obj, &args_path).object("cni")? {
                overrides(&mut conf, &Obj::new(cni, &cni_path), &args.ifname)?;
            }
        }
        Ok(conf)
    }
}

/// Applies `args.cni`: every key it has wins over the configuration's.
fn overrides(conf: &mut TuningConf, cni: &Obj<'_>, ifname: &str) -> Result<(), FieldError> {
    if let Some(map) = cni.object("sysctl")? {
        merge_sysctls(&mut conf.sysctl, map, &cni.field_path("sysctl"), ifname)?;
    }
    if let Some(m) = mac(cni, "mac")? {
        conf.mac = Some(m);
    }
    if let Some(p) = cni.bool("promisc")? {
        conf.promisc = p;
    }
    if cni.get("mtu").is_some() {
        conf.mtu = mtu(cni, "mtu")?;
    }
    if let Some(a) = cni.bool("allmulti")? {
        conf.allmulti = Some(a);
    }
    if let Some(t) = txqlen(cni, "txQLen")? {
        conf.txqlen = Some(t);
    }
    Ok(())
}

fn merge_sysctls(
    out: &mut Vec<Sysctl>,
    map: &Map<String, Value>,
    path: &str,
    ifname: &str,
) -> Result<(), FieldError> {
    for (key, value) in map {
        let field = format!("{path}[{key:?}]");
        let value = match value {
            Value::String(s) => s.clone(),
            other => {
                return Err(FieldError::WrongType {
                    path: field,
                    expected: "string",
                    found: twill_cni::json::type_name(other),
                })
            }
        };
        let sysctl_path =
            sysctl_path(key, ifname).map_err(|why| FieldError::invalid(field.clone(), why))?;
        let entry = Sysctl {
            key: key.clone(),
            path: sysctl_path,
            value,
        };
        match out.iter_mut().find(|s| s.key == *key) {
            Some(existing) => *existing = entry,
            None => out.push(entry),
        }
    }
    Ok(())
}

/// Maps a sysctl key to its path under `/proc/sys`, in slash form.
///
/// Keys are read as sysctl.d(5) reads them: when the first separator is a dot, dots separate
/// components and slashes stand for dots inside one (`net.ipv4.conf.eth0/100.rp_filter`);
/// when it is a slash, the key is already a path (`net/ipv4/conf/eth0.100/rp_filter`). Then
/// the first `IFNAME` becomes the interface name, which may itself contain dots. The result
/// must lie under `net/` with no empty, `.` or `..` component, so no key escapes
/// `/proc/sys/net`.
pub fn sysctl_path(key: &str, ifname: &str) -> Result<String, String> {
    let dotted = key.find(['.', '/']).and_then(|i| key.get(i..i + 1)) == Some(".");
    let normal: String = if dotted {
        key.chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect()
    } else {
        key.to_owned()
    };
    let path = normal.replacen("IFNAME", ifname, 1);
    let ok = path.starts_with("net/")
        && path
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\0'));
    if ok {
        Ok(path)
    } else {
        Err("not a sysctl of the network namespace: keys must name a file under /proc/sys/net, without empty, '.' or '..' components".to_owned())
    }
}

/// Reads a MAC address field; an empty string is unset, as in the reference.
fn mac(o: &Obj<'_>, field: &str) -> Result<Option<MacAddr>, FieldError> {
    match o.str(field)? {
        None | Some("") => Ok(None),
        Some(s) => parse_mac(s).map(Some).ok_or_else(|| {
            FieldError::invalid(
                o.field_path(field),
                format!("{s:?} is not an Ethernet (48-bit) MAC address"),
            )
        }),
    }
}

/// Parses the 48-bit forms Go's `net.ParseMAC` accepts: `aa:bb:cc:dd:ee:ff`,
/// `aa-bb-cc-dd-ee-ff` and `aabb.ccdd.eeff`, in either case.
pub fn parse_mac(s: &str) -> Option<MacAddr> {
    let hex: String = if s.len() == 17 {
        let sep = s.as_bytes().get(2).copied()?;
        if sep != b':' && sep != b'-' {
            return None;
        }
        let groups: Vec<&str> = s.split(sep as char).collect();
        if groups.len() != 6 || groups.iter().any(|g| g.len() != 2) {
            return None;
        }
        groups.concat()
    } else if s.len() == 14 {
        let groups: Vec<&str> = s.split('.').collect();
        if groups.len() != 3 || groups.iter().any(|g| g.len() != 4) {
            return None;
        }
        groups.concat()
    } else {
        return None;
    };
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 6];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(MacAddr(out))
}

/// Reads an MTU: a positive integer; `0` is unset, as in the reference.
fn mtu(o: &Obj<'_>, field: &str) -> Result<Option<u32>, FieldError> {
    match o.i64(field)? {
        None | Some(0) => Ok(None),
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or_else(|| {
                FieldError::invalid(o.field_path(field), format!("{n} is not a valid MTU"))
            }),
    }
}

/// Reads a transmit queue length: a non-negative integer.
fn txqlen(o: &Obj<'_>, field: &str) -> Result<Option<u32>, FieldError> {
    match o.i64(field)? {
        None => Ok(None),
        Some(n) => u32::try_from(n).map(Some).map_err(|_| {
            FieldError::invalid(
                o.field_path(field),
                format!("{n} is not a valid transmit queue length"),
            )
        }),
    }
}

/// Reads `dataDir`: an absolute path; empty or absent is the default.
pub fn data_dir(o: &Obj<'_>) -> Result<PathBuf, FieldError> {
    match o.str("dataDir")? {
        None | Some("") => Ok(PathBuf::from(DEFAULT_DATA_DIR)),
        Some(d) if d.starts_with('/') && !d.contains('\0') => Ok(PathBuf::from(d)),
        Some(d) => Err(FieldError::invalid(
            o.field_path("dataDir"),
            format!("{d:?} is not an absolute path"),
        )),
    }
}
