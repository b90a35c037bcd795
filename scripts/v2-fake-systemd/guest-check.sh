# guest-check.sh: in the qemu cgroup v2 guest (run from the checkout), one `boxlab run` without systemd, three with the
# fake StartTransientUnit beside this file, the cgroup tree after each, then the cgroup and limits root tests:
#   node <guest>/scripts/v2-guest/run.js --checkout $PWD --env BOXLAB_TEST_TIME_FACTOR=8 -- sh scripts/v2-fake-systemd/guest-check.sh
HERE=$(cd "$(dirname "$0")" && pwd)
S=/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope
echo "== start: $(cat /proc/self/cgroup)"
echo 'cat /proc/self/cgroup; exit 7' | node bin/boxlab.js run; echo "nosystemd run rc=$?"
echo "== tree after the no-systemd run"; find /sys/fs/cgroup -mindepth 1 -type d
mkdir -p /run/systemd/system
export PATH=$HERE:$PATH
for i in 1 2 3; do echo 'cat /proc/self/cgroup; exit 7' | node bin/boxlab.js run --trace 2>/tmp/trace$i; echo "systemd run $i rc=$?"; grep -c . /tmp/trace$i; grep -o '"stage":"[a-z_0-9]*"' /tmp/trace$i | sort | uniq -d | head -3; grep -o '"stage":"\(fork1\|cgroup_create\|cgroup_attach\)","[^}]*detail":"[^"]*"' /tmp/trace$i | head -3; done
echo "== tree after 3 systemd runs"; find /sys/fs/cgroup -mindepth 1 -type d
echo "== session procs"; for p in $(cat $S/cgroup.procs); do echo "$p $(cat /proc/$p/comm)"; done
node --import tsx --test --test-concurrency=1 server/engine/cgroups/cgroups.root.test.ts server/engine/limits.root.test.ts native-bindings/clone3.root.test.ts
echo "TESTS rc=$?"
echo "== tree at the end"; find /sys/fs/cgroup -mindepth 1 -type d
