#!/bin/sh
# PID 1 of a Boxlab node's container: puts itself in a leaf cgroup (cgroup v2), clears a drain left by an earlier
# container of this pod, then becomes `boxlab serve` (which drains on SIGUSR2 and shuts down on SIGTERM).
set -eu
# cgroup v2 with a private cgroup namespace (Kubernetes' default there): /sys/fs/cgroup is this container's cgroup,
# not the host's root, so the "no internal processes" rule holds (cgroups(7), cgroup v2 "no internal process"
# constraint): Boxlab can enable controllers for its boxes' subtree only once no process sits in that cgroup itself.
# Without systemd, Boxlab makes its subtree at /sys/fs/cgroup/boxlab (server/engine/cgroups/delegate.ts).
if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ ! -d /run/systemd/system ]; then
  mkdir -p /sys/fs/cgroup/init
  echo $$ > /sys/fs/cgroup/init/cgroup.procs
fi
# The preStop hook drains with this file; a container restarted in the same pod must not start drained.
rm -f "${BOXLAB_RUN:-/run/boxlab}/drain"
# Arguments: a boxlab command (default `serve`); BOXLAB_DIR: the checkout (the image's /opt/boxlab).
[ $# -gt 0 ] || set -- serve
exec node --max-semi-space-size=1 --single-threaded-gc --no-memory-reducer "${BOXLAB_DIR:-/opt/boxlab}/bin/boxlab.js" "$@"
