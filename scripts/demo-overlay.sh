#!/usr/bin/env bash
# The multi-host demonstration: two "hosts" on an underlay, one etcd, a twilld on each host,
# and a pod on each host attached through the stock flannel conflist; the pods talk across
# the vxlan overlay.
#
# Every host, pod and the underlay are network namespaces this script creates (the machine's
# own namespace is never touched); etcd runs inside the underlay's namespace with its data in
# a temporary directory. It uses the installed `twill`, `twilld` and plugins (`make install`).
set -euo pipefail

twill=${TWILL:-twill}
twilld=${TWILLD:-twilld}
export CNI_PATH=${CNI_PATH:-/opt/cni/bin}

tag="twov$$"
underlay="$tag-underlay"
hosts=("$tag-h1" "$tag-h2")
pods=("$tag-pod1" "$tag-pod2")
work=$(mktemp -d "/tmp/$tag.XXXXXX")
etcd_url=http://198.18.0.254:2379
pids=()

cleanup() {
    set +e
    for i in 0 1; do
        ip netns exec "${hosts[$i]}" env NETCONFPATH="$work/h$i/net.d" \
            "$twill" del --cache-dir "$work/h$i/cache" cbr0 "/run/netns/${pods[$i]}" >/dev/null 2>&1
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for ns in "${pods[@]}" "${hosts[@]}" "$underlay"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "an underlay (bridge 198.18.0.254/24) and two hosts on it: 198.18.0.1 and 198.18.0.2"
ip netns add "$underlay"
ip -n "$underlay" link set lo up
ip -n "$underlay" link add br0 type bridge
ip -n "$underlay" addr add 198.18.0.254/24 dev br0
ip -n "$underlay" link set br0 up
for i in 0 1; do
    h=${hosts[$i]}
    ip netns add "$h"
    ip -n "$h" link set lo up
    ip link add "tv$$p$i" netns "$underlay" type veth peer name eth0 netns "$h"
    ip -n "$underlay" link set "tv$$p$i" master br0 up
    ip -n "$h" addr add "198.18.0.$((i + 1))/24" dev eth0
    ip -n "$h" link set eth0 up
    ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1
    ip netns add "${pods[$i]}"
    mkdir -p "$work/h$i/net.d"
done

step "etcd on the underlay ($etcd_url), with the network config at /coreos.com/network/config"
ip netns exec "$underlay" etcd --name demo --data-dir "$work/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster demo=http://127.0.0.1:2380 --log-level warn >"$work/etcd.log" 2>&1 &
pids+=($!)
ctl() { ip netns exec "$underlay" env ETCDCTL_API=3 etcdctl --endpoints "$etcd_url" "$@"; }
for _ in $(seq 100); do ctl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
ctl put /coreos.com/network/config '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'

step "twilld on each host (flanneld's flags)"
for i in 0 1; do
    ip netns exec "${hosts[$i]}" "$twilld" --etcd-endpoints "$etcd_url" --iface eth0 --ip-masq \
        --subnet-file "$work/h$i/subnet.env" --state-dir "$work/h$i/state" \
        >"$work/h$i/twilld.log" 2>&1 &
    pids+=($!)
done
for i in 0 1; do
    for _ in $(seq 300); do [ -s "$work/h$i/subnet.env" ] && break; sleep 0.1; done
    echo "--- host $((i + 1)) subnet.env"
    cat "$work/h$i/subnet.env"
done
echo "--- etcd, as etcdctl (and flannel's tooling) reads it"
ctl get --prefix /coreos.com/network

step "a pod on each host, attached through the stock flannel conflist (flannel -> bridge, then portmap)"
for i in 0 1; do
    cat >"$work/h$i/net.d/10-flannel.conflist" <<EOF
{"name": "cbr0", "cniVersion": "1.0.0", "plugins": [
  {"type": "flannel", "subnetFile": "$work/h$i/subnet.env", "dataDir": "$work/h$i/flannel",
   "ipam": {"dataDir": "$work/h$i/ipam"},
   "delegate": {"hairpinMode": true, "isDefaultGateway": true}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
    ip netns exec "${hosts[$i]}" env NETCONFPATH="$work/h$i/net.d" \
        "$twill" add --cache-dir "$work/h$i/cache" cbr0 "/run/netns/${pods[$i]}" >/dev/null
done
addr_of() { ip -n "$1" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
a1=$(addr_of "${pods[0]}")
a2=$(addr_of "${pods[1]}")
echo "pod on host 1: $a1; pod on host 2: $a2"
ip -n "${hosts[0]}" route

step "across the overlay: pod on host 1 -> pod on host 2 ($a2), and back"
ip netns exec "${pods[0]}" ping -c 3 -W 2 "$a2"
ip netns exec "${pods[1]}" ping -c 3 -W 2 "$a1"

step "twill overlay ls (host 1's agent)"
"$twill" overlay ls --agent-dir "$work/h0/state"
