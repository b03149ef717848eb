//! The flannel plugin's own keys, read and validated before anything else happens.
//!
//! Keys match as Go matches struct fields (case-insensitively, the last spelling wins).
//! Inside `delegate` and `ipam`, which the reference holds as plain maps, a key it looks
//! up exactly (`name`, `ipam`, `type`, `routes`) is looked up in every spelling here:
//! the delegate (a Go struct) would read `Name` or `MTU` as `name` or `mtu`, so a second
//! spelling must count as the key being set.

use std::path::PathBuf;

use serde_json::{Map, Value};
use twill_cni::exec::validate_type;
use twill_cni::json::{self, FieldError, Obj};
use twill_cni::skel::CmdArgs;
use twill_cni::CniError;
use twill_kernel::IpPrefix;

use super::subnet_env;

/// Where delegate configurations are saved when the configuration names no `dataDir`.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/flannel";

/// The delegate used when `delegate.type` is not set.
pub const DEFAULT_DELEGATE: &str = "bridge";

/// A flannel configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FlannelConf {
    /// The network's `name`, which the delegate gets too.
    pub name: String,
    /// `cniVersion` as written, when not empty; the delegate gets it too.
    pub cni_version: Option<String>,
    /// `subnetFile`.
    pub subnet_file: PathBuf,
    /// `dataDir`.
    pub data_dir: PathBuf,
    /// `delegate`, as written (empty when absent).
    pub delegate: Map<String, Value>,
    /// `delegate.type`, or the default.
    pub delegate_type: String,
    /// `ipam`, as written (empty when absent): merged into the delegate's.
    pub ipam: Map<String, Value>,
    /// `runtimeConfig`, passed on to the delegate.
    pub runtime_config: Option<Value>,
    /// `capabilities`, passed on to the delegate.
    pub capabilities: Option<Value>,
}

fn path_key(o: &Obj<'_>, key: &str, default: &str) -> Result<PathBuf, FieldError> {
    // Empty is the default, as for every path key of twill's plugins: an empty path names
    // nothing a runtime could mean.
    Ok(PathBuf::from(
        o.str(key)?.filter(|s| !s.is_empty()).unwrap_or(default),
    ))
}

/// `dataDir`: the one key DEL and CHECK read, so a DEL never fails on keys ADD refuses.
pub fn data_dir(config: &Value) -> Result<PathBuf, CniError> {
    Ok(path_key(&Obj::root(config)?, "dataDir", DEFAULT_DATA_DIR)?)
}

fn invalid(path: &str, why: impl Into<String>) -> CniError {
    FieldError::invalid(path, why).into()
}

impl FlannelConf {
    /// Reads everything ADD, GC and STATUS need; refuses what the delegate could not be
    /// built from, with the code and the field's path.
    pub fn parse(args: &CmdArgs) -> Result<FlannelConf, CniError> {
        let o = Obj::root(&args.config)?;
        let delegate = o.object("delegate")?.cloned().unwrap_or_default();
        let delegate_type = delegate_type(&delegate)?;
        let ipam = o.object("ipam")?.cloned().unwrap_or_default();
        routes(&ipam)?;
        Ok(FlannelConf {
            name: args.name.clone(),
            cni_version: o
                .str("cniVersion")?
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            subnet_file: path_key(&o, "subnetFile", subnet_env::DEFAULT_PATH)?,
            data_dir: path_key(&o, "dataDir", DEFAULT_DATA_DIR)?,
            delegate,
            delegate_type,
            ipam,
            runtime_config: o.object("runtimeConfig")?.cloned().map(Value::Object),
            capabilities: o.object("capabilities")?.cloned().map(Value::Object),
        })
    }
}

/// `delegate.type`, checked; and the keys flannel sets itself refused, as the reference
/// refuses them.
fn delegate_type(delegate: &Map<String, Value>) -> Result<String, CniError> {
    let d = Obj::new(delegate, "delegate");
    for (key, why) in [
        (
            "name",
            "must not be set: flannel sets it to the network's name",
        ),
        (
            "ipam",
            "must not be set: flannel builds it from the subnet file (use the top-level ipam)",
        ),
    ] {
        if let Some(written) = json::find_key(delegate, key) {
            return Err(invalid(&d.field_path(written), why));
        }
    }
    let Some(t) = d.str("type")? else {
        return Ok(DEFAULT_DELEGATE.to_owned());
    };
    validate_type(t).map_err(|e| invalid("delegate.type", e.msg))?;
    if t == "flannel" {
        return Err(invalid(
            "delegate.type",
            "flannel cannot delegate to itself (use bridge, ipvlan, macvlan, …)",
        ));
    }
    Ok(t.to_owned())
}

/// `ipam.routes`, when given: routes the delegate gets besides those to the cluster's
/// networks. Each needs a `dst` prefix, and a `gw` that is an address when present, as
/// the reference's decoding into routes demands; the objects themselves pass on as
/// written (keys such as `mtu` or `priority` included).
pub fn routes(ipam: &Map<String, Value>) -> Result<Vec<Value>, CniError> {
    let o = Obj::new(ipam, "ipam");
    let Some(items) = o.array("routes")? else {
        return Ok(Vec::new());
    };
    for (i, item) in items.iter().enumerate() {
        let path = json::index("ipam.routes", i);
        let r = Obj::at(item, &path)?;
        let dst = r.required_str("dst")?;
        if dst.parse::<IpPrefix>().is_err() {
            return Err(invalid(
                &r.field_path("dst"),
                format!("{dst:?} is not an IP prefix"),
            ));
        }
        if let Some(gw) = r.str("gw")? {
            if gw.parse::<std::net::IpAddr>().is_err() {
                return Err(invalid(
                    &r.field_path("gw"),
                    format!("{gw:?} is not an IP address"),
                ));
            }
        }
    }
    Ok(items.clone())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;
    use twill_cni::skel::{CniArgs, Command};
    use twill_cni::{Code, Version};

    /// An ADD's arguments with `config` as stdin (shared by the flannel modules' tests).
    pub(crate) fn args(config: Value) -> CmdArgs {
        CmdArgs {
            command: Command::Add,
            container_id: "ctr".into(),
            netns: None,
            netns_override: false,
            ifname: "eth0".into(),
            args: CniArgs::parse("").unwrap(),
            path: vec![],
            stdin: serde_json::to_vec(&config).unwrap(),
            name: config["name"].as_str().unwrap_or("cbr0").to_owned(),
            config,
            version: Version::V1_1_0,
        }
    }

    fn parse(config: Value) -> Result<FlannelConf, CniError> {
        FlannelConf::parse(&args(config))
    }

    #[test]
    fn defaults() {
        let c = parse(json!({"cniVersion": "0.3.1", "name": "cbr0", "type": "flannel"})).unwrap();
        assert_eq!(c.subnet_file, PathBuf::from("/run/flannel/subnet.env"));
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/cni/flannel"));
        assert_eq!(c.delegate_type, "bridge");
        assert_eq!(c.cni_version.as_deref(), Some("0.3.1"));
        assert!(c.delegate.is_empty() && c.ipam.is_empty());
        assert_eq!((c.runtime_config, c.capabilities), (None, None));
    }

    #[test]
    fn keys_as_go_reads_them() {
        let c = parse(json!({
            "name": "n", "type": "flannel", "SubnetFile": "/x/subnet.env", "datadir": "/d",
            "Delegate": {"Type": "ipvlan", "master": "eth1"},
            "runtimeConfig": {"portMappings": []}, "capabilities": {"portMappings": true},
        }))
        .unwrap();
        assert_eq!(c.subnet_file, PathBuf::from("/x/subnet.env"));
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.delegate_type, "ipvlan");
        assert_eq!(c.runtime_config, Some(json!({"portMappings": []})));
        assert_eq!(c.capabilities, Some(json!({"portMappings": true})));
        assert_eq!(c.cni_version, None);
    }

    fn refused(config: Value) -> (Code, String) {
        let e = parse(config).unwrap_err();
        (e.code, e.msg)
    }

    #[test]
    fn bad_input_names_the_field() {
        let base = |extra: Value| {
            let mut c = json!({"cniVersion": "1.0.0", "name": "n", "type": "flannel"});
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            c
        };
        for (extra, code, needle) in [
            (
                json!({"delegate": "bridge"}),
                6,
                "delegate: expected object",
            ),
            (
                json!({"delegate": {"type": 1}}),
                6,
                "delegate.type: expected string",
            ),
            (
                json!({"delegate": {"type": ""}}),
                7,
                "delegate.type: invalid plugin type",
            ),
            (
                json!({"delegate": {"type": "../x"}}),
                7,
                "delegate.type: invalid plugin type",
            ),
            (
                json!({"delegate": {"type": "flannel"}}),
                7,
                "delegate.type: flannel cannot",
            ),
            (
                json!({"delegate": {"name": "x"}}),
                7,
                "delegate.name: must not be set",
            ),
            (
                json!({"delegate": {"IPAM": {}}}),
                7,
                "delegate.IPAM: must not be set",
            ),
            (json!({"subnetFile": 5}), 6, "subnetFile: expected string"),
            (json!({"dataDir": []}), 6, "dataDir: expected string"),
            (json!({"ipam": []}), 6, "ipam: expected object"),
            (
                json!({"ipam": {"routes": {}}}),
                6,
                "ipam.routes: expected array",
            ),
            (
                json!({"ipam": {"routes": [{}]}}),
                7,
                "ipam.routes[0].dst: required",
            ),
            (
                json!({"ipam": {"routes": [{"dst": "x"}]}}),
                7,
                "ipam.routes[0].dst: \"x\"",
            ),
            (
                json!({"ipam": {"routes": [{"dst": "0.0.0.0/0", "gw": "y"}]}}),
                7,
                "ipam.routes[0].gw",
            ),
            (
                json!({"runtimeConfig": 1}),
                6,
                "runtimeConfig: expected object",
            ),
        ] {
            let (c, msg) = refused(base(extra.clone()));
            assert_eq!(c, Code(code), "{extra}: {msg}");
            assert!(msg.starts_with(needle), "{extra}: {msg}");
        }
    }
}
