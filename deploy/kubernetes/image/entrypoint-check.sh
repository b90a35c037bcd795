#!/bin/sh
# The image's entrypoint in a container's cgroup layout, on a pure cgroup v2 host without systemd (the qemu guest:
#   node scripts/v2-guest/run.js -- sh deploy/kubernetes/image/entrypoint-check.sh
# ): each "container" gets a cgroup of its own and a private cgroup and mount namespace with cgroup2 mounted again, as
# containerd makes it, and runs one box (`boxlab run`). Directly, Boxlab's subtree on the namespace root is refused
# (that root holds the process: the "no internal processes" rule); through entrypoint.sh, which first moves itself
# into a leaf, the box runs. Prints one line per case and exits 0 when both answer as expected.
set -u
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
INNER=$(mktemp)
cat > "$INNER" <<'IN'
umount -l /sys/fs/cgroup && mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || exit 90
echo "  in the container: $(cat /proc/self/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
exec "$@"
IN
container() { # $1: its cgroup's name; then the command its first process runs
  cg=/sys/fs/cgroup/$1
  shift
  mkdir -p "$cg"
  sh -c 'echo $$ > "$0/cgroup.procs" && exec unshare --cgroup --mount --propagation private sh "$@"' "$cg" "$INNER" "$@"
}
BOX='echo "  the box: $(cat /proc/self/cgroup)"; exit 7'
container ct-direct node "$REPO/bin/boxlab.js" run -- /bin/sh -c "$BOX"
direct=$?
BOXLAB_DIR=$REPO container ct-entrypoint sh "$REPO/deploy/kubernetes/image/entrypoint.sh" run -- /bin/sh -c "$BOX"
entry=$?
echo "without the entrypoint: exit $direct (expected: not 7, refused); through entrypoint.sh: exit $entry (expected 7, the box's)"
rm -f "$INNER"
[ "$direct" -ne 7 ] && [ "$direct" -ne 90 ] && [ "$entry" -eq 7 ]
