//! Tiny test plugins a CRI test puts into a chain beside twill's, to see what containerd
//! sends and to make it kill a plugin: a recorder (every call's verb, `CNI_NETNS`, whether a
//! `prevResult` came, `runtimeConfig` and `CNI_ARGS`; passes `prevResult` on) and a sleeper
//! (ADD outlives any deadline). Shell and jq: they are the test's, not twill's.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::plugins::script;

/// Where a recorder writes, and its calls.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
}

impl Recorder {
    /// Installs plugin `name` into `bin`, recording into `dir`.
    pub fn install(bin: &Path, name: &str, dir: &Path) -> Recorder {
        std::fs::create_dir_all(dir).unwrap();
        let body = format!(
            r#"#!/bin/sh
# A CNI plugin that records each call and passes prevResult on.
in=$(cat)
f="{dir}/$(date +%s%N)-$$.json"
printf '%s' "$in" | jq -c --arg cmd "$CNI_COMMAND" --arg netns "$CNI_NETNS" \
  --arg id "$CNI_CONTAINERID" --arg ifname "$CNI_IFNAME" --arg args "$CNI_ARGS" \
  '{{cmd: $cmd, netns: $netns, id: $id, ifname: $ifname, args: $args,
    prev: (.prevResult != null), runtimeConfig: .runtimeConfig}}' > "$f.tmp"
mv "$f.tmp" "$f"
case "$CNI_COMMAND" in
ADD) printf '%s' "$in" | jq -c '.prevResult + {{cniVersion: .cniVersion}}' ;;
VERSION) echo '{{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}}' ;;
esac
"#,
            dir = dir.display()
        );
        script(bin, name, &body);
        Recorder {
            dir: dir.to_owned(),
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Value> {
        let mut names = crate::files::names(&self.dir);
        names.retain(|n| n.ends_with(".json"));
        names.sort_by_key(|n| {
            n.split('-')
                .next()
                .and_then(|t| t.parse::<u128>().ok())
                .unwrap_or(0)
        });
        names
            .iter()
            .map(|n| serde_json::from_slice(&std::fs::read(self.dir.join(n)).unwrap()).unwrap())
            .collect()
    }

    /// The calls of container `id` with verb `cmd`.
    pub fn calls_of(&self, id: &str, cmd: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c["id"] == id && c["cmd"] == cmd)
            .collect()
    }
}

/// Installs plugin `name` into `bin`: ADD becomes a `sleep` of `secs` seconds (exec'd, so the
/// process containerd kills is the sleeper itself and nothing keeps its stdout open); DEL
/// succeeds.
pub fn install_sleeper(bin: &Path, name: &str, secs: u32) -> PathBuf {
    let body = format!(
        "#!/bin/sh\n# A CNI plugin whose ADD outlives the caller's deadline.\ncat >/dev/null\n\
         case \"$CNI_COMMAND\" in\nADD) exec sleep {secs} ;;\n\
         VERSION) echo '{{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}}' ;;\nesac\n"
    );
    script(bin, name, &body)
}
