// Syscall probes in real boxes: each refused by default, and each shown to get through once its defense is switched off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Defense } from '../engine/index.ts';
import { answers, buildProbeImage, runInBox, SKIP, type ProbeImage } from './testing/harness.ts';

/** The same probe run under four configurations; layered defenses need both switched off to open. */
const RUNS = {
  secure: [],
  'no seccomp': ['seccomp'],
  'no caps': ['caps'],
  'no seccomp+caps': ['seccomp', 'caps'],
} as const satisfies Record<string, readonly Defense[]>;
type RunName = keyof typeof RUNS;
const S: RunName = 'no seccomp';
const B: RunName = 'no seccomp+caps';

interface Expect {
  /** The answer in a default box: "err ENAME", "ok" or "signal N". */
  secure: string;
  /** Runs whose answer must differ from `secure` (the probe can fail); in every other run it must stay secure. */
  opens: RunName[];
  /** What refuses it, and why that is the whole story when `opens` is empty. */
  by: string;
  /**
   * A second, equally safe answer some kernels give instead (e.g. no IA32 emulation). Both are accepted; the
   * diagnostic says which one this kernel chose, and the variant's own `opens` then applies.
   */
  orKernel?: { secure: string; opens: RunName[]; by: string };
  /** The answer in a lab-mode box (config lab: true, every defense on) when it differs from `secure`; see LAB below. */
  lab?: string;
}

const SECCOMP = 'seccomp (policy.ts)';
const LAYERED = 'seccomp, and without it the missing CAP_SYS_ADMIN';
/**
 * Kernels built with kexec and modules (distribution kernels) answer these EPERM even with seccomp off: the
 * capability lives in the initial user namespace only. Kernels without them answer ENOSYS, which shows seccomp is
 * what refused. Both are refused; the diagnostic says which.
 */
const BY_CAP = (cap: string) => ({
  secure: 'err EPERM',
  opens: [] as RunName[],
  by: `seccomp, and the kernel: ${cap} in the initial user ns`,
});

const EXPECT: Record<string, Expect> = {
  unshare_user: { secure: 'err EPERM', opens: [S, B], by: `${SECCOMP}: a nested user ns needs no capability`, lab: 'ok' },
  clone_newuser: { secure: 'err EPERM', opens: [S, B], by: `${SECCOMP}: clone flag rule`, lab: 'ok' },
  unshare_net: { secure: 'err EPERM', opens: [B], by: LAYERED, lab: 'ok' },
  clone_newns: { secure: 'err EPERM', opens: [B], by: LAYERED, lab: 'ok' },
  clone3: { secure: 'err ENOSYS', opens: [S, B], by: `${SECCOMP}: ENOSYS so libc falls back to clone` },
  setns: { secure: 'err EPERM', opens: [S, B], by: SECCOMP, lab: 'err EBADF' },
  mount: { secure: 'err EPERM', opens: [B], by: LAYERED, lab: 'ok' },
  fsopen: { secure: 'err EPERM', opens: [B], by: LAYERED },
  umount: { secure: 'err EPERM', opens: [B], by: `${LAYERED} (would unmask /proc/keys)`, lab: 'err EINVAL' },
  move_mount: { secure: 'err EPERM', opens: [B], by: LAYERED },
  fsmount: { secure: 'err EPERM', opens: [B], by: LAYERED },
  fspick: { secure: 'err EPERM', opens: [B], by: LAYERED },
  pivot_root: { secure: 'err EPERM', opens: [B], by: LAYERED, lab: 'err EINVAL' },
  open_tree: { secure: 'err EPERM', opens: [S, B], by: `${SECCOMP}: a plain open_tree needs no capability` },
  fsconfig: { secure: 'err EPERM', opens: [S, B], by: `${SECCOMP}: CVE-2022-0185 lived here` },
  mount_setattr: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  mknod_chr: { secure: 'err EPERM', opens: [], by: 'the kernel: device nodes need CAP_MKNOD in the initial user ns' },
  mknod_fifo: { secure: 'ok', opens: [], by: 'nothing: control, mknod itself works' },
  keyctl: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  add_key: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  request_key: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  bpf: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  perf_event_open: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  userfaultfd: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  io_uring_setup: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  io_uring_enter: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  io_uring_register: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  process_vm_readv: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  ptrace: { secure: 'err EPERM', opens: [S, B], by: SECCOMP },
  kexec_load: { secure: 'err EPERM', opens: [S, B], by: SECCOMP, orKernel: BY_CAP('CAP_SYS_BOOT') },
  finit_module: { secure: 'err EPERM', opens: [S, B], by: SECCOMP, orKernel: BY_CAP('CAP_SYS_MODULE') },
  init_module: { secure: 'err EPERM', opens: [S, B], by: SECCOMP, orKernel: BY_CAP('CAP_SYS_MODULE') },
  delete_module: { secure: 'err EPERM', opens: [S, B], by: SECCOMP, orKernel: BY_CAP('CAP_SYS_MODULE') },
  kexec_file_load: { secure: 'err EPERM', opens: [S, B], by: SECCOMP, orKernel: BY_CAP('CAP_SYS_BOOT') },
  open_by_handle_at: { secure: 'err EPERM', opens: [S, B], by: SECCOMP, orKernel: BY_CAP('CAP_DAC_READ_SEARCH (before Linux 6.10)') },
  personality: { secure: 'err EPERM', opens: [S, B], by: `${SECCOMP}: ADDR_NO_RANDOMIZE` },
  tiocsti: { secure: 'err EPERM', opens: [S, B], by: `${SECCOMP}: ioctl arg compared on 32 bits` },
  tiocsti_hi: { secure: 'err EPERM', opens: [S, B], by: `${SECCOMP}: 0x100005412 is TIOCSTI too (CVE-2019-10063)` },
  setgroups: { secure: 'err EPERM', opens: [], by: 'the kernel: /proc/<pid>/setgroups is "deny" (user ns)' },
  syslog: { secure: 'err EPERM', opens: [], by: 'seccomp, and the kernel: dmesg_restrict needs CAP_SYSLOG in the initial ns' },
  chroot: { secure: 'ok', opens: [], by: 'nothing: control, CAP_SYS_CHROOT is kept (so the escape probe is real)' },
  x32: { secure: 'signal 31', opens: [S, B], by: `${SECCOMP}: foreign ABI kills the process (SIGSYS)` },
  int80: {
    secure: 'signal 31',
    opens: [S, B],
    by: `${SECCOMP}: i386 ABI kills the process (SIGSYS)`,
    // Kernels built without CONFIG_IA32_EMULATION, or booted with ia32_emulation=0 (Linux 6.7+), fault `int 0x80`
    // before any syscall table is reached: SIGSEGV with or without seccomp. Refused either way.
    orKernel: { secure: 'signal 11', opens: [], by: 'the kernel: no IA32 emulation, int 0x80 faults (SIGSEGV) in every run' },
  },
};

/**
 * Lab mode lets through only what LAB_ALLOWED in lab-policy.ts names; everything else must answer in a lab box
 * exactly as in a default box. The lab answers above: nested namespaces are made (ok); setns(-1) reaches the kernel
 * (EBADF); a tmpfs mounts on /mnt in the box's own mount namespace; /proc/keys is no mount point in a lab box (no
 * masks: EINVAL); pivot_root(".", ".") from /root, which is no mount point, is EINVAL.
 */
const LAB_RUN = 'lab';

/** What of `seen` contradicts `want`: the default box must answer `secure`; `opens` runs must differ, the others not. */
function misfits(want: Omit<Expect, 'orKernel'>, seen: Record<RunName, string>): string[] {
  const out: string[] = [];
  if (seen.secure !== want.secure) out.push(`default box answered ${seen.secure}, not ${want.secure}`);
  for (const run of Object.keys(RUNS) as RunName[]) {
    if (run === 'secure') continue;
    if (want.opens.includes(run) && seen[run] === want.secure) out.push(`must get through with ${run}`);
    if (!want.opens.includes(run) && seen[run] !== want.secure)
      out.push(`must stay refused with ${run} (another layer holds): ${seen[run]}`);
  }
  return out;
}

const normalize = (a: string | undefined) => (a === undefined ? 'missing' : a.startsWith('ok') ? 'ok' : a);

describe('syscalls refused inside a real box', { skip: SKIP }, () => {
  let img: ProbeImage;
  const results = new Map<RunName, Map<string, string>>();
  let labResults = new Map<string, string>();

  before(async () => {
    img = await buildProbeImage();
    for (const [name, disable] of Object.entries(RUNS) as [RunName, readonly Defense[]][]) {
      // pty: TIOCSTI needs the box's own controlling terminal on fd 0.
      // lab: false even under BOXLAB_SECURITY_MODE=lab: this file runs its own lab box below, next to these.
      const run = await runInBox({ baseDir: img.image, stdio: 'pty', shell: '/probe', args: ['sys'], disable: [...disable], lab: false });
      assert.equal(run.exit.code, 0, `probe ran under ${name}: ${run.out}`);
      results.set(name, answers(run.lines, 'sys'));
    }
    const lab = await runInBox({ baseDir: img.image, stdio: 'pty', shell: '/probe', args: ['sys'], lab: true });
    assert.equal(lab.exit.code, 0, `probe ran in lab mode: ${lab.out}`);
    labResults = answers(lab.lines, 'sys');
  });
  after(() => img?.cleanup());

  test('every probe reported in every run, and every probe has an expectation', () => {
    for (const [run, got] of results) {
      assert.deepEqual([...got.keys()].sort(), Object.keys(EXPECT).sort(), `probes of run "${run}"`);
    }
    assert.deepEqual([...labResults.keys()].sort(), Object.keys(EXPECT).sort(), `probes of run "${LAB_RUN}"`);
  });

  for (const [probe, spec] of Object.entries(EXPECT)) {
    const alt = spec.orKernel
      ? ` (or ${spec.orKernel.secure}${spec.orKernel.opens.length ? '' : ', the kernel refusing in every run'}: kernel's choice)`
      : '';
    test(`${probe}: ${spec.secure}${alt} in a default box; ${spec.opens.length ? `opens with ${spec.opens.join(' / ')}` : 'no switch opens it'}`, (t) => {
      const seen = Object.fromEntries([...results].map(([run, got]) => [run, normalize(got.get(probe))])) as Record<RunName, string>;
      // Only the documented answers are accepted: the first variant all four runs agree with says which the kernel
      // chose; if none fits, the primary one is asserted (and fails with its message).
      const want = [spec, ...(spec.orKernel ? [spec.orKernel] : [])].find((v) => misfits(v, seen).length === 0) ?? spec;
      t.diagnostic(
        `${probe}: ${Object.entries(seen)
          .map(([r, a]) => `${r}=${a}`)
          .join('; ')} | refused by ${want.by}`,
      );
      assert.deepEqual(misfits(want, seen), [], `${probe}: ${JSON.stringify(seen)}`);
      const lab = normalize(labResults.get(probe));
      t.diagnostic(`${probe}: lab=${lab}`);
      assert.equal(lab, spec.lab ?? want.secure, `${probe} in a lab-mode box`);
    });
  }
});
