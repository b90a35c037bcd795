#!/bin/sh
# systemd-check.sh: Boxlab's cgroup delegation against the guest's real systemd (run.js --systemd): `boxlab run` from
# a session scope gets boxlab-<pid>.scope, boxes under <scope>/boxes, the caller's scope untouched, nothing left over.
# Usage (host): node scripts/v2-guest/run.js --systemd -- sh scripts/v2-guest/systemd-check.sh [runs]
CG=/sys/fs/cgroup
RUNS=${1:-3}
say() { echo "[check $(cut -d' ' -f1 /proc/uptime)s] $*"; }
fail=0
bad() { say "FAIL: $*"; fail=1; }
me=$(sed -n 's/^0:://p' /proc/self/cgroup)
procs() { tr '\n' ' ' <"$CG$me/cgroup.procs"; }
say "caller $$ in $me (procs: $(procs)); controllers offered: $(cat $CG$me/cgroup.controllers)"
i=0
while [ $i -lt "$RUNS" ]; do
  i=$((i + 1))
  t=/tmp/trace.$i
  node bin/boxlab.js run --trace -- /bin/sh -c 'exit 0' 2>$t
  rc=$?
  box=$(grep -o '"[^"]*/boxes/bx-[^"]*"' $t | head -1)
  say "run $i: exit $rc, box cgroup $box"
  [ $rc -eq 0 ] || { bad "run $i exited $rc"; tail -5 $t; }
  case "$box" in *"/user.slice/user-0.slice/boxlab-"*".scope/boxes/bx-"* | *"/boxlab-"*".scope/boxes/bx-"*) ;; *) bad "run $i: box not in boxlab-<pid>.scope/boxes"; grep -i cgroup $t | head -5;; esac
  case "$box" in *session-1.scope*) bad "run $i: box under the caller's scope";; esac
  grep -qx $$ "$CG$me/cgroup.procs" || bad "the caller $$ left $me"
done
# README's one-command wrapper: a delegated scope that systemd-run names, used as it is (no boxlab-<pid>.scope).
systemd-run --quiet --scope -p Delegate=yes --collect --unit=wrap-1 node bin/boxlab.js run --trace -- /bin/true 2>/tmp/trace.w
rc=$?
box=$(grep -o '"[^"]*/boxes/bx-[^"]*"' /tmp/trace.w | head -1)
say "systemd-run --scope -p Delegate=yes: exit $rc, box cgroup $box"
case "$box" in *"/system.slice/wrap-1.scope/boxes/bx-"*) ;; *) bad "wrapped run: box not in wrap-1.scope/boxes";; esac

# A unit named boxlab.service WITHOUT Delegate=yes: systemd 252 sets no trusted.delegate on it, so Boxlab must not
# write inside it (by name alone) but take a boxlab-<pid>.scope of its own; the service stays active meanwhile.
cat >/etc/systemd/system/boxlab.service <<EOT
[Service]
WorkingDirectory=$PWD
ExecStart=$(command -v node) $PWD/bin/boxlab.js run -- /bin/sleep 30
EOT
systemctl daemon-reload && systemctl start boxlab.service
for n in $(seq 120); do nd=$(find $CG -path '*/boxes/bx-*' -type d | head -1); [ -n "$nd" ] && break; sleep 0.5; done
mp=$(systemctl show -P MainPID boxlab.service)
say "boxlab.service (no Delegate): main pid $mp, $(systemctl show -P ActiveState boxlab.service), box $nd, inside the unit: [$(find $CG/system.slice/boxlab.service -mindepth 1 -type d | tr '\n' ' ')]"
case "$nd" in *"/system.slice/boxlab-$mp.scope/boxes/bx-"*) ;; *) bad "undelegated boxlab.service: box not in boxlab-$mp.scope";; esac
[ -z "$(find $CG/system.slice/boxlab.service -mindepth 1 -type d)" ] || bad "cgroups made inside the undelegated boxlab.service"
systemctl stop boxlab.service; rm /etc/systemd/system/boxlab.service; systemctl daemon-reload

# `boxlab serve` as a service with Delegate=yes (README, Supported hosts); not named boxlab*, so the engine must see
# the delegation itself (systemd's trusted.delegate xattr) and use the unit as it is, without asking for a scope.
UNIT=sandbox-web.service
cat >/etc/systemd/system/$UNIT <<EOT
[Service]
WorkingDirectory=$PWD
Environment=PORT=51000 HOST=127.0.0.1 BOXLAB_RUN=/run/boxlab-serve BOXLAB_TEST_TIME_FACTOR=8 BOXLAB_SKIP_WEB_BUILD=1 BOXLAB_WARM_POOL=1
ExecStart=$(command -v node) $PWD/bin/boxlab.js serve
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
Delegate=yes
EOT
systemctl daemon-reload && systemctl start $UNIT || bad "systemctl start $UNIT"
D=$CG/system.slice/$UNIT
say "$UNIT: main pid $(systemctl show -P MainPID $UNIT)"
node --import tsx scripts/v2-guest/systemd-serve-probe.ts http://127.0.0.1:51000 $D 1 || bad "serve probe"
say "$UNIT tree: $(find $D -type d | sed "s|$D|.|" | tr '\n' ' ')"
systemctl stop $UNIT
say "$UNIT stopped: $(systemctl show -P ActiveState $UNIT), dir $(test -d $D && echo still there || echo gone)"

say "caller's scope after: $(procs); its children: $(find $CG$me -mindepth 1 -type d | tr '\n' ' ')"
sleep 1
left=$(find $CG -name 'boxlab-*' -o -name 'bx-*' -o -name 'sandbox-web*' -o -name 'wrap-1*' | tr '\n' ' ')
[ -z "$left" ] || bad "left over: $left"
say "leftovers: [${left}]; units: $(systemctl list-units --all --no-legend 'boxlab-*' | tr -s ' ' | cut -c1-80)"
systemd-cgls --no-pager | grep -v invocation_id
exit $fail
