#!/usr/bin/env bash
# The demonstration: two pods on one node get networked through a bridge and talk to each other.
#
# Everything happens inside network namespaces this script creates: a "node" namespace plays the
# host, and each pod is a namespace of its own; the machine's own namespace is never touched.
# The chain runner is twill's exec layer (crates/cni/src/exec); the plugins it drives are the
# ones on CNI_PATH (`make demo` installs twill's into a scratch directory and points it there;
# the default here is the reference plugins in /usr/lib/cni).
set -euo pipefail

chain=${1:?usage: demo.sh PATH-TO-CHAIN-RUNNER}
chain=$(readlink -f "$chain")
export CNI_PATH=${CNI_PATH:-/usr/lib/cni}

tag="twdemo$$"
node="$tag-node"
pods=("$tag-pod1" "$tag-pod2")
work=$(mktemp -d "/tmp/$tag.XXXXXX")

cleanup() {
    set +e
    for pod in "${pods[@]}"; do
        if [ -f "$work/$pod.result" ]; then
            ip netns exec "$node" "$chain" del "$work/net.conflist" "/run/netns/$pod" "$pod" eth0 \
                --result "$work/$pod.result" >/dev/null
        fi
        ip netns del "$pod" 2>/dev/null
    done
    ip netns del "$node" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "creating the node namespace $node and pod namespaces ${pods[*]}"
ip netns add "$node"
ip -n "$node" link set lo up
for pod in "${pods[@]}"; do ip netns add "$pod"; done

cat >"$work/net.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "twill-demo",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "twdemo0",
      "isGateway": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$work/ipam",
        "ranges": [[{"subnet": "10.99.0.0/24"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "loopback"}
  ]
}
JSON
step "network configuration"
cat "$work/net.conflist"

for pod in "${pods[@]}"; do
    step "ADD $pod (plugins from $CNI_PATH)"
    ip netns exec "$node" "$chain" add "$work/net.conflist" "/run/netns/$pod" "$pod" eth0 \
        | tee "$work/$pod.result"
done

addr_of() { ip -n "$1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
a1=$(addr_of "${pods[0]}")
a2=$(addr_of "${pods[1]}")
step "kernel state: ${pods[0]} has $a1, ${pods[1]} has $a2"
ip -n "${pods[0]}" -br addr
ip -n "${pods[0]}" route
ip -n "$node" -br link show master twdemo0

step "traffic: ${pods[0]} -> ${pods[1]} ($a2) and ${pods[1]} -> gateway (10.99.0.1)"
ip netns exec "${pods[0]}" ping -c 2 -W 2 "$a2"
ip netns exec "${pods[1]}" ping -c 2 -W 2 10.99.0.1

for pod in "${pods[@]}"; do
    step "DEL $pod"
    ip netns exec "$node" "$chain" del "$work/net.conflist" "/run/netns/$pod" "$pod" eth0 \
        --result "$work/$pod.result"
    rm -f "$work/$pod.result"
done
left=$(find "$work/ipam/twill-demo" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)
if [ "$left" -ne 0 ]; then
    echo "demo: $left address reservations left after DEL" >&2
    exit 1
fi
step "done: both pods were networked, talked, and were torn down with nothing left behind"
