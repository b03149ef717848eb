#!/usr/bin/env bash
# Installs everything twill's build, tests and demo need on a Debian machine that has a Rust
# toolchain. Idempotent: packages already present are not fetched again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root (it installs Debian packages)" >&2
    exit 1
fi

# The peers and tools the tests use:
# - containernetworking-plugins: the reference plugins in /usr/lib/cni, the side-by-side peer;
# - golang-go + golang-github-appc-cni-dev: Go's libcni, which re-proves the result goldens;
# - iproute2: `ip netns` for the demo's namespaces;
# - iputils-ping: the demo's traffic check; jq: the golden check compares JSON with it;
# - nftables: the tests read the kernel's rule set back with `nft -j list ruleset`;
# - iptables: the reference firewall and portmap program it (only inside test namespaces);
# - podman + runc + busybox-static: a real runtime driving twill's plugins through libcni
#   (crates/plugins/tests/podman.rs, docs/podman.md). runc, not crun: crun refuses the hybrid
#   cgroup layout of these machines. busybox-static is the containers' whole image (no registry
#   is reachable). podman brings conmon and containers-common (policy.json, registries.conf);
#   uidmap, slirp4netns and fuse-overlayfs are for rootless podman only and are left out.
# - protobuf-compiler + libprotobuf-dev (the well-known .proto files): etcd's gRPC API is
#   compiled from its .proto files when twilld builds;
# - etcd-server + etcd-client: the cluster store of the overlay's multi-host tests (started by
#   the tests themselves, on an underlay address inside a test namespace) and etcdctl;
# - iperf3: the overlay's throughput benchmark.
# - containerd (1.6, CRI plugin built in; ctr comes with it): Kubernetes' node path — the CRI
#   tests start private containerds inside test namespaces (crates/cli/tests/cri,
#   docs/kubernetes.md). The packaged service is not used; runc and busybox-static above are
#   its runtime and its pause image.
# - dnsmasq-base: the DHCP server of the dhcp plugin's tests (started by the tests inside a test
#   namespace, on a test LAN).
packages=(
    containernetworking-plugins
    iptables
    nftables
    golang-go
    golang-github-appc-cni-dev
    iproute2
    iputils-ping
    jq
    podman
    runc
    busybox-static
    ca-certificates
    build-essential
    pkg-config
    protobuf-compiler
    libprotobuf-dev
    etcd-server
    etcd-client
    iperf3
    containerd
    dnsmasq-base
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's own kernel, unpacked (never installed) for the VM test harness: the kernel features
# this machine lacks (vlan, ipvlan, dummy, vrf, wireguard) are tested inside QEMU VMs.
"$(dirname "$0")/vm-kernel.sh"

# cargo-deny enforces the licence policy in deny.toml (no GPL in the dependency graph).
if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "setup: installing cargo-deny"
    cargo install --locked cargo-deny
fi
# cargo-fuzz runs the fuzz targets (a short run is part of `make test`).
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "setup: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
echo "setup: ready"
