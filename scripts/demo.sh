#!/usr/bin/env bash
# The demonstration: pods on one node get networked by twill and talk to each other.
#
# Everything happens inside network namespaces this script creates: a "node" namespace plays
# the host, and each pod is a namespace of its own; the machine's own namespace is never
# touched. It uses the installed `twill` CLI and plugins (`make install`, which `make demo`
# runs first): cnitool's verbs for two pods on a network of its own, then `twill run` with the
# embedded default network, as a user would on a fresh machine.
set -euo pipefail

twill=${TWILL:-twill}
export CNI_PATH=${CNI_PATH:-/opt/cni/bin}

tag="twdemo$$"
node="$tag-node"
pods=("$tag-pod1" "$tag-pod2")
work=$(mktemp -d "/tmp/$tag.XXXXXX")
export NETCONFPATH="$work/net.d"
# The demo's run-state and embedded default network stay in its own directory too: written to
# /run/twill they would outlive the demo, pointing host-local at this directory once it is gone.
export TWILL_STATE_DIR="$work/state"
cache="$work/cache"
# Every twill call runs inside the node namespace, so bridges and veths are made there.
in_node() { ip netns exec "$node" "$@"; }

cleanup() {
    set +e
    for pod in "${pods[@]}"; do
        in_node "$twill" del --cache-dir "$cache" demo "/run/netns/$pod" >/dev/null 2>&1
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

step "twill plugins (CNI_PATH=$CNI_PATH)"
"$twill" plugins

step "twill net create demo: a bridge network with host-local addresses"
in_node "$twill" --cache-dir "$cache" net create demo --subnet 10.99.0.0/24
in_node "$twill" net inspect demo

for pod in "${pods[@]}"; do
    step "twill add demo $pod"
    in_node "$twill" add --cache-dir "$cache" demo "/run/netns/$pod"
done

addr_of() { ip -n "$1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
a1=$(addr_of "${pods[0]}")
a2=$(addr_of "${pods[1]}")
step "kernel state: ${pods[0]} has $a1, ${pods[1]} has $a2"
ip -n "${pods[0]}" -br addr
ip -n "${pods[0]}" route
in_node "$twill" ls --cache-dir "$cache"

step "traffic: ${pods[0]} -> ${pods[1]} ($a2) and ${pods[1]} -> gateway (10.99.0.1)"
ip netns exec "${pods[0]}" ping -c 2 -W 2 "$a2"
ip netns exec "${pods[1]}" ping -c 2 -W 2 10.99.0.1

for pod in "${pods[@]}"; do
    step "twill del demo $pod"
    in_node "$twill" del --cache-dir "$cache" demo "/run/netns/$pod"
done
left=$(find "$cache" -path '*/networks/demo/*' -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)
cached=$(find "$cache/results" -type f 2>/dev/null | wc -l)
if [ "$left" -ne 0 ] || [ "$cached" -ne 0 ]; then
    echo "demo: $left address reservations and $cached cache entries left after DEL" >&2
    exit 1
fi

step "twill run -- ip -4 addr show eth0: a command in a fresh namespace on the default network"
in_node "$twill" run --cache-dir "$cache" -- ip -4 addr show eth0

step "done: pods were networked, talked, and were torn down with nothing left behind"
