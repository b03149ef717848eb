#!/usr/bin/env bash
# Prints what of the machine's own network state a test could inherit or find: the IPv4
# sysctls new namespaces copy, the bridge netfilter module, the machine's firewall, and CNI
# files other software installed. Read-only: it changes nothing, so a CI log shows the state
# the tests ran on, and a test that passes only on some machines can be told from one that
# passes on all.
set -uo pipefail

show() { # KEY: the sysctl's value, or "absent"
    local f="/proc/sys/${1//.//}"
    if [ -r "$f" ]; then echo "  $1 = $(cat "$f")"; else echo "  $1: absent"; fi
}

listing() { # DIR: its entries, or "absent"
    if [ -d "$1" ]; then
        echo "  $1: $(ls -A "$1" | tr '\n' ' ')"
    else
        echo "  $1: absent"
    fi
}

echo "== the machine's network state (tests run in namespaces of their own) =="
echo "kernel: $(uname -r)"
echo "sysctls (a new namespace copies the IPv4 all/default values when devconf_inherit_init_net is 0):"
for k in net.core.devconf_inherit_init_net net.ipv4.ip_forward net.ipv6.conf.all.forwarding \
    net.ipv4.conf.all.rp_filter net.ipv4.conf.default.rp_filter \
    net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce; do
    show "$k"
done
if [ -d /proc/sys/net/bridge ]; then
    echo "br_netfilter: present"
    for k in bridge-nf-call-iptables bridge-nf-call-ip6tables bridge-nf-call-arptables; do
        show "net.bridge.$k"
    done
else
    echo "br_netfilter: not loaded"
fi
if command -v nft >/dev/null; then
    tables=$(nft list tables 2>&1 | tr '\n' ';')
    echo "nftables tables: ${tables:-none}"
    echo "nftables rules: $(nft list ruleset 2>/dev/null | grep -c ' \(accept\|drop\|jump\|goto\|masquerade\|dnat\|snat\)')"
else
    echo "nftables: nft not installed"
fi
echo "CNI files of other software:"
for d in /etc/cni/net.d /opt/cni/bin /var/lib/cni /var/lib/cni/networks /run/cni /run/netns; do
    listing "$d"
done
echo "test host namespaces: TWILL_TEST_HOST_SETTINGS=${TWILL_TEST_HOST_SETTINGS:-real-host (default)}"
