#!/usr/bin/env node
// run.js: runs one command inside a pure cgroup v2 guest (Debian kernel under qemu, caller in session-1.scope) and
// returns its exit status. Usage: node scripts/v2-guest/run.js [--checkout DIR] [options] -- <command...>
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureKernel } from './kernel.js';
import { buildInitramfs } from './initramfs.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const USAGE = `usage: node scripts/v2-guest/run.js [options] -- <command...>
  --checkout DIR   directory the command runs in (default: this repository); the guest sees the host's / read-only
  --timeout SEC    hard limit for boot + command (default 3600); on expiry qemu is killed and the exit code is 124
  --smp N          virtual CPUs (default 2)      --mem MB   guest memory (default 3072)
  --disk GB        size of the sparse ext4 scratch disk behind /, /tmp, /var/lib/boxlab (default 8)
  --cpu MODEL      qemu CPU model (default max under TCG, host under KVM)
  --accel A        auto (default: kvm if /dev/kvm and the CPU flags allow, else tcg), kvm or tcg
  --tcg-thread T   single (default) or multi: TCG runs all vCPUs on one host thread, or one thread each
                   (multi is faster; under it node's tsx loader thread died of SIGSEGV in ~1 of 10 lab-demo runs,
                   never on the host or with single: docs/hosts.md)
  --env K=V        extra environment for the command (repeatable)
  --systemd        boot the host's real systemd as PID 1 (D-Bus, systemd-run --scope for the command) instead of
                   faking its cgroup layout (systemd.sh, systemd-job.sh)
  --keep           keep the job directory (initramfs, status) for inspection
  --prepare        only fetch the kernel and build the busybox image into the cache (CI's download step)
Environment: BOXLAB_V2_CACHE (default /var/cache/boxlab-v2-guest), BOXLAB_V2_KERNEL_DEB (a kernel .deb to use).
Exit status: the command's; 124 timeout; 125 the guest failed before or around the command.`;

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    checkout: { type: 'string', default: REPO },
    timeout: { type: 'string', default: '3600' },
    smp: { type: 'string', default: '2' },
    mem: { type: 'string', default: '3072' },
    disk: { type: 'string', default: '8' },
    cpu: { type: 'string' },
    accel: { type: 'string', default: 'auto' },
    'tcg-thread': { type: 'string', default: 'single' },
    env: { type: 'string', multiple: true, default: [] },
    systemd: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    prepare: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help || (!positionals.length && !opt.prepare)) {
  console.log(USAGE);
  process.exit(opt.help ? 0 : 2);
}

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
const log = (msg) => console.log(`[v2-guest ${secs()}s] ${msg}`);
const sq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const QBOOT = '/usr/share/qemu/qboot.rom';
const CACHE = process.env.BOXLAB_V2_CACHE ?? '/var/cache/boxlab-v2-guest';
const checkout = resolve(opt.checkout);

let job = null;
function fatal(msg) {
  log(`error: ${msg}`);
  if (job) rmSync(job, { recursive: true, force: true });
  process.exit(125);
}

if (process.getuid?.() !== 0) fatal('needs root (the 9p share exports / as root; the image build and the guest tests are root)');
if (!existsSync(checkout)) fatal(`checkout ${checkout} does not exist`);
const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).stdout.trim();
if (!qemu) fatal('qemu-system-x86_64 missing: apt-get install qemu-system-x86');

/**
 * KVM when this host offers it (CI runners with nested virtualisation), otherwise software emulation (TCG).
 * /dev/kvm alone is not enough: on this Firecracker VM it exists without vmx/svm and a KVM guest hangs at boot.
 */
function accel() {
  if (opt.accel !== 'auto') return opt.accel;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'kvm' : 'tcg';
  } catch {
    return 'tcg';
  }
}

/** The busybox image the boxes use, built once on the host (the guest has no network for apt-get download). */
function ensureImage() {
  const img = join(CACHE, 'images', 'busybox');
  if (existsSync(join(img, 'bin', 'busybox'))) return img;
  log(`building the busybox image into ${img} (boxlab rootfs)`);
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'boxlab.js'), 'rootfs', '--base-dir', img], { stdio: 'inherit' });
  if (r.status !== 0) fatal(`boxlab rootfs failed (exit ${r.status})`);
  return img;
}

/** The command's environment: a clean one, plus BOXLAB_* (not the guest's own paths) and --env. */
function commandEnv() {
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    LANG: process.env.LANG ?? 'C.UTF-8',
    TERM: process.stdout.isTTY ? (process.env.TERM ?? 'xterm') : 'dumb',
    CI: process.env.CI ?? '',
    NEXT_TELEMETRY_DISABLED: '1',
    BOXLAB_V2_GUEST: '1',
  };
  if (!process.stdout.isTTY) env.NO_COLOR = '1';
  // Root tests scale their timeouts by this factor (helpers.ts); software emulation is roughly 10x slower.
  if (mode === 'tcg') env.BOXLAB_TEST_TIME_FACTOR = '8';
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('BOXLAB_') && !/^BOXLAB_(HOME|RUN|V2_)/.test(k)) env[k] = v;
  }
  for (const kv of opt.env) {
    const i = kv.indexOf('=');
    if (i < 1) fatal(`--env wants K=V, got ${kv}`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

const mode = accel();
log(`preparing: kernel cache ${CACHE}, checkout ${checkout}, accel ${mode}`);
let kernel;
try {
  kernel = ensureKernel(CACHE, log);
} catch (e) {
  fatal(e.message);
}
const image = ensureImage();
if (opt.prepare) {
  log(`ready: kernel ${kernel.release} (${kernel.vmlinuz}), image ${image}`);
  process.exit(0);
}
job = mkdtempSync(join(tmpdir(), 'boxlab-v2-job-'));
const initrd = join(job, 'initramfs.cpio');
let mods;
try {
  mods = buildInitramfs(initrd, kernel, join(job, 'stage'));
} catch (e) {
  fatal(`initramfs: ${e.message}`);
}
const disk = join(job, 'scratch.ext4');
const fd = openSync(disk, 'w');
ftruncateSync(fd, Number(opt.disk) * 2 ** 30); // sparse: only what the guest writes takes host disk space
closeSync(fd);
const mkfs = spawnSync('mkfs.ext4', ['-q', '-F', '-L', 'v2-scratch', disk], { encoding: 'utf8' });
if (mkfs.status !== 0) fatal(`mkfs.ext4 failed: ${mkfs.stderr || mkfs.error?.message} (apt-get install e2fsprogs)`);
const env = commandEnv();
const cmdText = positionals.join(' ');
writeFileSync(
  join(job, 'cmd.sh'),
  [
    '# cmd.sh: written by run.js; runs in session-1.scope',
    'set -e',
    ...Object.entries(env).map(([k, v]) => `export ${k}=${sq(v)}`),
    `cd ${sq(checkout)}`,
    'set +e',
    `exec ${positionals.map(sq).join(' ')}`,
    '',
  ].join('\n'),
);
writeFileSync(
  join(job, 'config.sh'),
  [
    `IMAGE_SRC=${sq(image)}`,
    `CHECKOUT=${sq(checkout)}`,
    "ROOT_CONTROLLERS='cpu memory pids'",
    "SLICE_CONTROLLERS='cpu memory pids'",
    `CMD_TEXT=${sq(cmdText)}`,
    ...(opt.systemd
      ? [
          'SYSTEMD=1',
          `SYSTEMD_SH=${sq(join(import.meta.dirname, 'systemd.sh'))}`,
          `SYSTEMD_JOB=${sq(join(import.meta.dirname, 'systemd-job.sh'))}`,
        ]
      : []),
    '',
  ].join('\n'),
);
log(`kernel ${kernel.release}, initramfs ${(readFileSync(initrd).length / 1e6).toFixed(1)} MB with ${mods.length} modules`);

const cmdline = [
  'console=ttyS0',
  'rdinit=/init',
  'panic=-1',
  'quiet',
  'loglevel=3',
  // Pure v2: no v1 hierarchy can be mounted at all; the systemd switch is what a systemd host boots with.
  'cgroup_no_v1=all',
  'systemd.unified_cgroup_hierarchy=1',
].join(' ');
const fsdev = (id, path, extra) => [
  '-fsdev',
  `local,id=${id},path=${path},security_model=none${extra}`,
  '-device',
  `virtio-9p-pci,fsdev=${id},mount_tag=${id}`,
];
const args = [
  // qboot (qemu-system-data) only loads the kernel; SeaBIOS took ~10 s longer to get there under TCG here.
  ...(existsSync(QBOOT) ? ['-bios', QBOOT] : []),
  '-machine',
  'q35',
  '-accel',
  mode === 'kvm' ? 'kvm' : `tcg,thread=${opt['tcg-thread'] === 'multi' ? 'multi' : 'single'}`,
  '-cpu',
  opt.cpu ?? (mode === 'kvm' ? 'host' : 'max'),
  '-smp',
  opt.smp,
  '-m',
  opt.mem,
  // -nodefaults: no NIC, no disks; the guest has no network at all, only loopback.
  '-nodefaults',
  '-no-user-config',
  '-display',
  'none',
  '-serial',
  'stdio',
  '-no-reboot',
  '-nic',
  'none',
  '-kernel',
  kernel.vmlinuz,
  '-initrd',
  initrd,
  '-append',
  cmdline,
  ...fsdev('hostroot', '/', ',readonly=on,multidevs=remap'),
  ...fsdev('job', job, ''),
  // cache=unsafe: the disk is thrown away after the run, so flushes need not reach the host's disk.
  '-drive',
  `file=${disk},if=virtio,format=raw,cache=unsafe`,
];
log(`booting qemu (${mode}, ${opt.smp} vCPU, ${opt.mem} MB), timeout ${opt.timeout}s: ${cmdText}`);
const vm = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
// Decode as a stream: a chunk may end inside a multi-byte character (the test reporter's ✔ and ✖).
vm.stdout.setEncoding('utf8');
let timedOut = false;
let bootSecs = null;
let firstLine = null;
const timer = setTimeout(() => {
  timedOut = true;
  log(`timeout after ${opt.timeout}s: killing qemu`);
  vm.kill('SIGKILL');
}, Number(opt.timeout) * 1000);
let partial = '';
vm.stdout.on('data', (b) => {
  const lines = (partial + b.replace(/\r/g, '')).split('\n');
  partial = lines.pop();
  for (const l of lines) {
    if (firstLine === null) firstLine = secs();
    if (bootSecs === null && l.includes('] running in session-1.scope')) bootSecs = secs();
    process.stdout.write(l + '\n');
  }
});
vm.stderr.on('data', (b) => process.stderr.write(`[qemu] ${b}`));
const onSignal = (sig) => {
  log(`${sig}: stopping the guest`);
  vm.kill('SIGKILL');
};
process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

vm.on('exit', (code, signal) => {
  clearTimeout(timer);
  if (partial) process.stdout.write(partial + '\n');
  const statusFile = join(job, 'status');
  const status = existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : null;
  let rc = timedOut ? 124 : (status ?? 125);
  if (!Number.isInteger(rc)) rc = 125;
  if (status === null && !timedOut) log(`the guest stopped without an exit status (qemu ${signal ?? `exit ${code}`})`);
  log(`done: exit ${rc}; boot ${bootSecs ?? '?'}s (first guest line at ${firstLine ?? '?'}s), total ${secs()}s`);
  if (opt.keep) log(`job directory kept: ${job}`);
  else rmSync(job, { recursive: true, force: true });
  process.exit(rc);
});
