// Real-kernel test: a C harness installs the compiled filter and probes syscalls; compared with no rules and no filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSeccompFilterDetailed } from './seccomp.ts';
import { BOX_SECCOMP_POLICY } from '../server/engine/security/policy.ts';

const HARNESS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'seccomp_harness.c');
const EPERM = 1,
  ENOSYS = 38,
  SIGSYS = 31;

interface Probe {
  ret?: number;
  errno?: number;
  signal?: number;
}
type Run = { installed: number | null; probes: Map<string, Probe> };

function run(bin: string, filter: string): Run {
  const out = execFileSync(bin, [filter], { encoding: 'utf8', timeout: 20_000 });
  const probes = new Map<string, Probe>();
  let installed: number | null = null;
  for (const line of out.trim().split('\n')) {
    const [name = '', a, b] = line.split(' ');
    if (name === 'installed') installed = Number(a);
    else if (a === 'signal') probes.set(name, { signal: Number(b) });
    else probes.set(name, { ret: Number(a), errno: Number(b) });
  }
  return { installed, probes };
}

/** What a probe did, ignoring pids and fds: "ok", "errno N" or "signal N". */
const outcome = (p: Probe | undefined) =>
  !p ? 'missing' : p.signal !== undefined ? `signal ${p.signal}` : p.ret! >= 0 ? 'ok' : `errno ${p.errno}`;

const DENIED_EPERM = [
  'keyctl',
  'unshare_user',
  'setns',
  'clone_newns',
  'clone_newuser',
  'tiocsti',
  'tiocsti_hi',
  'tioclinux',
  'bpf',
  'io_uring_setup',
  'mount',
  'ptrace',
  'perf_event_open',
  'finit_module',
  'syslog',
  'personality_norandom',
  'personality_hi',
];
const ALLOWED = ['clone_plain', 'pthread', 'fork', 'getpid', 'tcgets', 'personality_query', 'personality_linux32', 'chroot'];

const cc = spawnSync('cc', ['--version']).status === 0;

test('compiled filter refuses what the policy says, on the real kernel', { skip: !cc && 'no C compiler (cc)' }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-seccomp-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'harness');
  execFileSync('cc', ['-O1', '-Wall', '-Werror', '-pthread', '-o', bin, HARNESS]);

  const full = compileSeccompFilterDetailed(BOX_SECCOMP_POLICY);
  const empty = compileSeccompFilterDetailed({ ...BOX_SECCOMP_POLICY, rules: [] });
  fs.writeFileSync(path.join(dir, 'full.bpf'), full.bpf);
  fs.writeFileSync(path.join(dir, 'empty.bpf'), empty.bpf);
  t.diagnostic(`filter: ${full.instructions} instructions, ${full.rules} rules, ${full.compileMs.toFixed(2)} ms`);

  const withPolicy = run(bin, path.join(dir, 'full.bpf'));
  const noRules = run(bin, path.join(dir, 'empty.bpf'));
  const noFilter = run(bin, 'none');
  assert.equal(withPolicy.installed, full.instructions, 'kernel accepted the whole program');
  assert.equal(noRules.installed, empty.instructions);
  assert.equal(noFilter.installed, null);
  for (const r of [withPolicy, noRules, noFilter]) {
    for (const name of [...DENIED_EPERM, ...ALLOWED, 'clone3', 'x32', 'int80']) {
      assert.ok(r.probes.has(name), `probe ${name} reported`);
    }
  }

  for (const name of DENIED_EPERM) {
    assert.equal(outcome(withPolicy.probes.get(name)), `errno ${EPERM}`, `${name} refused with EPERM`);
    // Without rules the same call must do something else, or this probe proves nothing.
    assert.notEqual(outcome(noRules.probes.get(name)), `errno ${EPERM}`, `${name} not EPERM without rules`);
  }
  // The high-bits TIOCSTI reached the kernel as plain TIOCSTI without the filter (ENOTTY on /dev/null, like 0x5412).
  assert.equal(outcome(noRules.probes.get('tiocsti_hi')), outcome(noRules.probes.get('tiocsti')));

  assert.equal(outcome(withPolicy.probes.get('clone3')), `errno ${ENOSYS}`, 'clone3 says ENOSYS');
  assert.notEqual(outcome(noRules.probes.get('clone3')), `errno ${ENOSYS}`);

  for (const name of ALLOWED) {
    assert.equal(outcome(withPolicy.probes.get(name)), outcome(noRules.probes.get(name)), `${name} unaffected`);
  }
  assert.equal(withPolicy.probes.get('fork')?.ret, 7, 'fork child ran and exited 7');
  assert.equal(outcome(withPolicy.probes.get('pthread')), 'ok', 'glibc threads work (clone3 -> clone fallback)');
  assert.ok((withPolicy.probes.get('getpid')?.ret ?? 0) > 0);

  // Other ABIs: killed by the arch check of any filter, not refused with an errno.
  for (const name of ['x32', 'int80']) {
    const bare = outcome(noFilter.probes.get(name));
    t.diagnostic(`${name}: no filter -> ${bare}, filter -> ${outcome(withPolicy.probes.get(name))}`);
    assert.notEqual(bare, `signal ${SIGSYS}`);
    if (bare === 'ok' || bare.startsWith('errno')) {
      assert.equal(outcome(withPolicy.probes.get(name)), `signal ${SIGSYS}`, `${name} killed with SIGSYS`);
      assert.equal(outcome(noRules.probes.get(name)), `signal ${SIGSYS}`);
    } else {
      assert.notEqual(outcome(withPolicy.probes.get(name)), 'ok', `${name} must not succeed`);
    }
  }
});
