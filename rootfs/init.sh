#!/bin/busybox sh
# The initramfs's /init (PID 1) for the gateway's microVM image.
# It loads the virtio drivers the Debian cloud kernel ships as modules, mounts the signed
# root filesystem read-only, finds the agent's virtio-serial port by its name and hands
# over to the guest agent. Any failure ends the VM at once (panic=-1 reboots, and the VMM
# runs with -no-reboot), so a broken guest never waits for someone to notice.
B=/bin/busybox
fail() { echo "gw-init: $*"; $B sync; $B poweroff -f; exit 1; }
$B mkdir -p /proc /sys /dev /newroot
$B mount -t proc proc /proc || fail "no /proc"
$B mount -t sysfs sys /sys || fail "no /sys"
$B mount -t devtmpfs dev /dev || fail "no /dev"
for m in virtio_ring virtio virtio_mmio virtio_blk virtio_console virtio-rng; do
  # The small kernel (rootfs/kernel-small.config) has them built in: no .ko to load.
  [ -e "/lib/modules/$m.ko" ] || continue
  $B insmod "/lib/modules/$m.ko" || fail "cannot load $m"
done
port=""
for p in /sys/class/virtio-ports/*; do
  [ "$($B cat "$p/name" 2>/dev/null)" = "gw.agent" ] && port="/dev/${p##*/}"
done
[ -n "$port" ] || fail "no agent port"
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do $B usleep 20000; i=$((i+1)); done
$B mount -t ext4 -o ro,nodev,nosuid /dev/vda /newroot || fail "cannot mount the root"
$B mount --move /dev /newroot/dev
$B mount --move /proc /newroot/proc
$B mount --move /sys /newroot/sys
$B mount -t tmpfs -o size=16m,nodev,nosuid tmp /newroot/tmp
exec $B switch_root /newroot /usr/bin/node /opt/gw/dist/isolation/vm/guest/agent.js "$port"
