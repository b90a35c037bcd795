#!/bin/busybox sh
# init.sh: PID 1 of the v2 guest's initramfs: loads virtio/9p/ext4/overlay, lays a writable overlay (upper on the
# scratch ext4 disk) over the host's read-only / (9p), moves the job share in and hands over to stage2.sh (switch_root).
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
up() { read -r u _ </proc/uptime; echo "$u"; }
say() { echo "[guest $(up)s] $*"; }
fail() {
  say "FATAL: $*"
  [ -d /job ] && echo 125 >/job/status
  sync
  poweroff -f
}

mkdir -p /proc /sys /dev /host /job /disk /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say "kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s), $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MB"
while read -r m params; do insmod "/modules/$m.ko" $params || fail "insmod $m"; done </modules.list

# msize: bigger 9p messages mean fewer round trips; cache=loose keeps file data in the guest page cache (the share is
# read-only and nothing changes it while the guest runs). See Documentation/filesystems/9p.rst.
P9=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$P9,cache=loose,ro" hostroot /host || fail "mount hostroot (9p)"
mount -t 9p -o "$P9" job /job || fail "mount job (9p)"
. /job/config.sh

# The scratch disk (a sparse ext4 image the host made for this boot) is where a real host keeps /, /tmp and
# /var/lib: a disk filesystem. tmpfs would not do: idmapped mounts of tmpfs exist only since Linux 6.3.
mount -t ext4 /dev/vda /disk || fail "mount the scratch disk /dev/vda (ext4)"
mkdir -p /disk/upper /disk/work /disk/tmp /disk/boxlab /disk/root
chmod 1777 /disk/tmp
chmod 0700 /disk/root
mount -t overlay -o lowerdir=/host,upperdir=/disk/upper,workdir=/disk/work guestroot /newroot || fail "overlay root"

mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run
mkdir -p /newroot/run/v2-guest/job /newroot/run/v2-guest/disk
mount --move /job /newroot/run/v2-guest/job
mount --move /disk /newroot/run/v2-guest/disk
cp /bin/busybox /stage2.sh /newroot/run/v2-guest/
say "root ready; switching root"
for d in dev proc sys; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /run/v2-guest/busybox sh /run/v2-guest/stage2.sh
