#!/bin/sh
# PID 1 of a test VM (busybox sh, in the harness's initramfs). Mounts what a test needs, loads
# the modules, runs the harness's script from the writable share, leaves the exit status there
# and leaves QEMU through isa-debug-exit, so the host sees the guest's result even though QEMU
# itself exits 0 on an ordinary power-off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TWILL_VM_GUEST=1

mount -t proc proc /proc
mount -t sysfs sys /sys
# The kernel does not mount devtmpfs for an initramfs.
mount -t devtmpfs dev /dev

root=host share= kdir= keep=
for arg in $(cat /proc/cmdline); do
    case $arg in
    twill.root=*) root=${arg#*=} ;;
    twill.share=*) share=${arg#*=} ;;
    twill.kdir=*) kdir=${arg#*=} ;;
    twill.keep=*) keep=${arg#*=} ;;
    esac
done

# QEMU exits with (byte << 1) | 1 when a byte is written to isa-debug-exit's port 0xf4. The
# byte is the status + 1 (at most 127), so a success (3) differs from QEMU's own error exit (1).
leave() {
    code=$(($1 + 1))
    [ "$code" -gt 127 ] && code=127
    printf "\\$(printf %03o "$code")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
    # Not reached with the device present; an ordinary power-off makes QEMU exit 0, which
    # the harness reads as "no report".
    poweroff -f
}
fail() {
    echo "TWILL-VM-ERROR $*"
    leave 126
}

# Modules in dependency order, as the harness resolved them from modules.dep.
while read -r module params; do
    insmod "/lib/modules/$module" $params || echo "twill-vm: insmod $module failed"
done </etc/twill-modules

# The host's whole filesystem, read-only: test binaries run from the host's target directory.
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro" host /host || fail "cannot mount the host's filesystem"
# A view of it that the guest's own /tmp and /run below will not hide.
mkdir -p /ro
mount -o bind /host /ro || fail "cannot bind the host's filesystem"
mkdir -p "$share"
mount -t 9p -o "$opts" share "$share" || fail "cannot mount the share $share"
ip link set lo up

chroot=
if [ "$root" = host ]; then
    # The host's userland, with this guest's own kernel filesystems and writable /tmp and /run.
    mount -t proc proc /host/proc
    mount -t sysfs sys /host/sys
    mount -t devtmpfs dev /host/dev
    mount -t tmpfs tmp /host/tmp
    mount -t tmpfs run /host/run
    # The tests' target directory stays visible when it lives under /tmp or /run (a clone
    # of the repository in /tmp, as CI may make).
    case $keep in
    /tmp/* | /run/*)
        mkdir -p "/host$keep"
        mount -o bind "/ro$keep" "/host$keep" || fail "cannot bind $keep into the host root"
        ;;
    esac
    mkdir -p "/host$share" 2>/dev/null
    mount -o bind "$share" "/host$share" || fail "cannot bind the share into the host root"
    # Modules the kernel asks for later (`ip link add … type wireguard`) come from the
    # unpacked package on the host, through the host's modprobe.
    printf '#!/bin/sh\nexec chroot /host /sbin/modprobe -d "%s" "$@"\n' "$kdir" >/sbin/twill-modprobe
    chmod 755 /sbin/twill-modprobe
    echo /sbin/twill-modprobe >/proc/sys/kernel/modprobe
    chroot="chroot /host"
fi

echo "TWILL-VM-START"
$chroot /bin/sh "$share/script" >"$share/stdout" 2>"$share/stderr"
rc=$?
echo "$rc" >"$share/status"
sync
echo "TWILL-VM-EXIT $rc"
leave "$rc"
