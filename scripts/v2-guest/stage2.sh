# stage2.sh: PID 1 in the guest's real root: fresh scratch dirs where tests write, cgroup2 in the layout a systemd host has,
# then the job's command in user.slice/user-0.slice/session-1.scope (where sudo leaves a caller); powers off after it.
BB=/run/v2-guest/busybox
J=/run/v2-guest/job
CG=/sys/fs/cgroup
SCOPE=$CG/user.slice/user-0.slice/session-1.scope
up() { read -r u _ </proc/uptime; echo "$u"; }
say() { echo "[guest $(up)s] $*"; }
finish() {
  echo "$1" >"$J/status"
  sync
  $BB poweroff -f
}
. "$J/config.sh"

# /tmp, /var/lib/boxlab and /root: fresh directories of the ext4 scratch disk (as on a Debian 12 host: disk, not tmpfs).
D=/run/v2-guest/disk
$BB mkdir -p /var/lib/boxlab /dev/pts /dev/shm /root
# The checkout may live under one of those (CI clones into a temp dir): keep a handle on it before they are covered,
# then put it back at its own path on top of the fresh directory, so the command still runs where it was started.
if [ -n "$CHECKOUT" ]; then $BB mkdir -p /run/v2-guest/checkout && $BB mount --bind "$CHECKOUT" /run/v2-guest/checkout; fi
$BB mount --bind $D/tmp /tmp
$BB mount --bind $D/boxlab /var/lib/boxlab
$BB mount --bind $D/root /root
if [ -n "$CHECKOUT" ] && [ ! -e "$CHECKOUT/package.json" ]; then
  $BB mkdir -p "$CHECKOUT" && $BB mount --bind /run/v2-guest/checkout "$CHECKOUT" || finish 125
fi
$BB mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
$BB mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
$BB ln -sf /proc/self/fd /dev/fd 2>/dev/null
$BB hostname v2-guest
$BB ip link set lo up 2>/dev/null
# A host has more than lo (the isolation probes check that the box sees less than its host); a dummy link is a
# NIC that leads nowhere, so the guest still has no network (qemu gives it no network device at all).
if [ -x /sbin/ip ]; then /sbin/ip link add eth0 type dummy && /sbin/ip link set eth0 up; fi

if [ -n "$SYSTEMD" ]; then
  # A real systemd mounts cgroup2 itself and lays out init.scope, system.slice and user.slice (systemd.sh).
  [ -n "$IMAGE_SRC" ] && { $BB mkdir -p /var/lib/boxlab/images; $BB cp -a "$IMAGE_SRC" /var/lib/boxlab/images/busybox || finish 125; }
  [ -n "$PREP" ] && sh -c "$PREP"
  . "$SYSTEMD_SH"
  say "exec of systemd failed"
  finish 125
fi
# cgroup2 only (the kernel was booted with cgroup_no_v1=all), mounted as systemd mounts it.
$BB mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 $CG || $BB mount -t cgroup2 cgroup2 $CG || finish 125
echo "$ROOT_CONTROLLERS" | $BB tr ' ' '\n' | while read -r c; do [ -n "$c" ] && echo "+$c" >$CG/cgroup.subtree_control; done
$BB mkdir -p $CG/init.scope $CG/system.slice "$SCOPE"
for d in $CG/user.slice $CG/user.slice/user-0.slice; do
  echo "$SLICE_CONTROLLERS" | $BB tr ' ' '\n' | while read -r c; do [ -n "$c" ] && echo "+$c" >"$d/cgroup.subtree_control"; done
done
echo 1 >$CG/init.scope/cgroup.procs
say "cgroup2: root enables [$(cat $CG/cgroup.subtree_control)], session scope offers [$(cat "$SCOPE/cgroup.controllers")]"

if [ -n "$IMAGE_SRC" ]; then
  $BB mkdir -p /var/lib/boxlab/images
  $BB cp -a "$IMAGE_SRC" /var/lib/boxlab/images/busybox || finish 125
fi
[ -n "$PREP" ] && sh -c "$PREP"

say "running in session-1.scope: $CMD_TEXT"
# The child joins the scope itself before exec, so nothing of the command ever ran in the root cgroup.
$BB sh -c "echo \$\$ >'$SCOPE/cgroup.procs' && exec /bin/sh '$J/cmd.sh'" &
child=$!
# ash's wait reaps every child of PID 1 while it blocks, so orphans of the tests do not linger as zombies.
wait $child
rc=$?
say "command exited $rc"
finish $rc
