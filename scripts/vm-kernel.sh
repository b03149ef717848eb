#!/usr/bin/env bash
# Fetches Debian's own kernel for the VM test harness (crates/test-support/src/vm.rs): the
# features this machine's kernel lacks (802.1Q vlan, ipvlan, dummy, vrf, wireguard, bridge VLAN
# filtering) are tested for real in a QEMU VM booting it. The kernel package is only
# downloaded and unpacked into a cache directory — never installed as the machine's kernel.
#
# Result: /var/cache/twill-vm/<version>/ holding the unpacked package (boot/vmlinuz-<version>,
# lib/modules/<version>/ with modules.dep), an uncompressed `vmlinux` (PVH entry: boots ~3.5 s
# faster under TCG than vmlinuz) when one can be extracted, and `version`; the symlink
# /var/cache/twill-vm/current points at it. Idempotent; root; reads no stdin.
set -euo pipefail

CACHE=${TWILL_VM_CACHE:-/var/cache/twill-vm}

if [ "$(id -u)" -ne 0 ]; then
    echo "vm-kernel: must run as root (it installs Debian packages)" >&2
    exit 1
fi
exec </dev/null
export DEBIAN_FRONTEND=noninteractive

# qemu-system-x86 without recommends (25 packages, not a desktop); kmod for depmod;
# busybox-static for the guest's userland (the initramfs is built by the harness itself).
packages=(qemu-system-x86 kmod busybox-static)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "vm-kernel: installing ${missing[*]}"
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The versioned image package the metapackage points at, e.g. linux-image-6.1.0-57-amd64.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
    apt-get update -q
    pkg=$(apt-cache depends linux-image-amd64 |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
fi
if [ -z "$pkg" ]; then
    echo "vm-kernel: cannot resolve the kernel package linux-image-amd64 depends on" >&2
    exit 1
fi
version=${pkg#linux-image-}
dir=$CACHE/$version

if [ ! -f "$dir/.complete" ]; then
    echo "vm-kernel: fetching $pkg into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # `apt-get download` writes into the current directory; _apt needs to be able to write it.
    chown _apt "$work" 2>/dev/null || true
    (cd "$work" && apt-get download -q "$pkg")
    dpkg-deb -x "$work"/"$pkg"_*.deb "$dir"
    # The package ships no modules.dep: its postinst would have run depmod.
    depmod -b "$dir" "$version"
    echo "$version" >"$dir/version"
    touch "$dir/.complete"
fi

# An uncompressed vmlinux for QEMU's PVH entry, extracted as the kernel tree's
# scripts/extract-vmlinux does: find each compressor's magic in the bzImage, decompress from
# there, keep the first result that is an ELF file.
extract_vmlinux() {
    local img=$1 out=$2 magic tool off
    for pair in \
        '\037\213\010|gzip -dc' \
        '\3757zXZ\000|xz -dc' \
        '\050\265\057\375|zstd -dcq' \
        '\002\041\114\030|lz4 -dc' \
        'BZh|bzip2 -dc' \
        '\135\000\000\000|xz -dc --format=lzma'; do
        magic=${pair%%|*}
        tool=${pair#*|}
        for off in $(LC_ALL=C grep -aboP "$(printf '%b' "$magic" | od -An -tx1 | tr -d ' \n' | sed 's/../\\x&/g')" "$img" | cut -d: -f1); do
            tail -c +$((off + 1)) "$img" | $tool >"$out" 2>/dev/null || true
            if [ "$(head -c 4 "$out" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
                return 0
            fi
        done
    done
    rm -f "$out"
    return 1
}

if [ ! -f "$dir/vmlinux" ]; then
    if extract_vmlinux "$dir/boot/vmlinuz-$version" "$dir/vmlinux.tmp"; then
        mv "$dir/vmlinux.tmp" "$dir/vmlinux"
        echo "vm-kernel: extracted $dir/vmlinux"
    else
        echo "vm-kernel: no vmlinux could be extracted; the harness boots vmlinuz (slower)"
    fi
fi

ln -sfn "$version" "$CACHE/current"
echo "vm-kernel: $CACHE/current -> $version"
