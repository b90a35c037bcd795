# systemd-job.sh: the job service under the guest's real systemd: the command in user-0.slice/session-1.scope (a
# scope systemd made, not delegated, as logind makes one for a login), then the status to $J/status and power off.
BB=/run/v2-guest/busybox
J=/run/v2-guest/job
up() { read -r u _ </proc/uptime; echo "$u"; }
say() { echo "[guest $(up)s] $*"; }
. "$J/config.sh"
say "systemd $(/lib/systemd/systemd --version | $BB head -1 | $BB cut -d' ' -f2) is PID 1 ($($BB cat /proc/1/comm)); bus: $(busctl --system get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager SystemState 2>&1)"
say "running in session-1.scope: $CMD_TEXT"
systemd-run --quiet --scope --slice=user-0.slice --unit=session-1 -- /bin/sh "$J/cmd.sh"
rc=$?
say "command exited $rc"
echo $rc >"$J/status"
sync
# -ff: reboot(2) at once, as `poweroff -f` in the busybox path; qemu ends with the guest.
systemctl poweroff -ff
