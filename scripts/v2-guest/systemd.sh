# systemd.sh: sourced by stage2.sh under `run.js --systemd`: makes the overlay root bootable by the host's real systemd
# (machine-id, a target with only D-Bus and the job) and execs /lib/systemd/systemd as PID 1; never returns.
# The job runs as a logged-in root shell would: `systemd-run --scope` in user-0.slice (session-1.scope, no Delegate),
# so Boxlab must ask systemd for its own delegated scope over D-Bus.
U=/etc/systemd/system
# machine-id(5): systemd refuses to run without one (and dbus-daemon reads it); a fresh one in the overlay.
$BB rm -f /etc/machine-id
$BB sed 's/-//g' /proc/sys/kernel/random/uuid >/etc/machine-id
$BB mkdir -p $U/dbus.socket.d $U/dbus.service.d /etc/systemd/system.conf.d
# No [ OK ] lines on the console after a daemon-reload either: only the job's output and warnings (systemd-system.conf(5)).
printf '[Manager]\nShowStatus=no\n' >/etc/systemd/system.conf.d/v2-guest.conf
# The stock dbus units pull in sysinit.target (udev, journald, fstab, tmpfiles): nothing here needs those, and on
# this root (9p + overlay, no udev) they would only fail or time out. DefaultDependencies=no: systemd.unit(5).
for u in dbus.socket dbus.service; do printf '[Unit]\nDefaultDependencies=no\n' >$U/$u.d/v2-guest.conf; done
$BB cat >$U/v2-guest.target <<EOT
[Unit]
Description=Boxlab v2 guest: D-Bus and the job, nothing else
Requires=v2-guest-job.service dbus.socket
EOT
$BB cat >$U/v2-guest-job.service <<EOT
[Unit]
Description=Boxlab v2 guest job
DefaultDependencies=no
Requires=dbus.socket
After=dbus.socket
[Service]
Type=oneshot
TimeoutStartSec=infinity
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
ExecStart=$BB sh $SYSTEMD_JOB
EOT
say "exec /lib/systemd/systemd as PID 1 (unit v2-guest.target)"
# systemd(1) parses its argv as PID 1 too; the kernel command line already says cgroup2 only.
exec /lib/systemd/systemd --unit=v2-guest.target --log-target=console --log-level=notice --show-status=no
