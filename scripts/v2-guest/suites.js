#!/usr/bin/env node
// suites.js: `npm run test:v2`: the privileged engine, cgroup, limits and security suites inside the cgroup v2 guest,
// with one closing line for CI; then a second boot under the host's real systemd (systemd-check.sh: D-Bus delegation).
// Usage: node scripts/v2-guest/suites.js [--budget SEC] [--checkout DIR] [filters...]; the filter `systemd` is that boot.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * What runs by default: every privileged test that creates cgroups or boxes through the engine (engine tests incl.
 * limits, the cgroup layer, the security probes) and the native layer's root tests (seccomp; clone3 into a cgroup
 * where present). Other root suites (web, cli, lessons, xray, bench) reach the same engine through more layers and
 * cost far more start-up time under emulation; they stay on the host's `npm test`.
 */
export const V2_SUITES = ['server/engine/', 'server/security-tests/', 'native-bindings/'];

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    budget: { type: 'string', default: process.env.BOXLAB_V2_BUDGET ?? '2400' },
    checkout: { type: 'string' },
    smp: { type: 'string' },
    mem: { type: 'string' },
  },
});
const wanted = positionals.filter((f) => f !== 'systemd');
// The real-systemd boot runs by default and when asked for by name.
const withSystemd = !positionals.length || positionals.includes('systemd');
const filters = positionals.length ? wanted : V2_SUITES;
const run = join(import.meta.dirname, 'run.js');
const args = [run, '--timeout', opt.budget];
for (const k of ['checkout', 'smp', 'mem']) if (opt[k]) args.push(`--${k}`, opt[k]);
// One scripts/test.js per filter (it takes one path filter), all in one boot; any failure fails the whole.
const sq = (x) => `'${x.replace(/'/g, `'\\''`)}'`;
const stamp = (what) => `echo "[v2-suites $(cut -d' ' -f1 /proc/uptime)s] ${what}"`;
// By default also the lessons only a v2 host can prove (front matter `needs: [cgroup-v2]`; skipped on the host).
const V2_LESSONS = 'lab-cgroup';
const lessons = positionals.length
  ? []
  : [
      stamp(`start lessons ${V2_LESSONS}`),
      `BOXLAB_LESSON_SLUGS=${V2_LESSONS} node scripts/test.js --phases=root server/lessons/lessons.root.test.ts || rc=1`,
    ];
const script = [
  'rc=0',
  ...filters.flatMap((f) => [stamp(`start ${f}`), `node scripts/test.js --phases=root ${sq(f)} || rc=1`]),
  ...lessons,
  stamp('end'),
  'exit $rc',
].join('; ');
args.push('--', 'sh', '-c', script);

const t0 = Date.now();
const child = filters.length ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] }) : null;
// Kept as they stream: each test.js closing line, and the harness's own lines (boot time).
const closing = [];
let boot = '?';
let partial = '';
child?.stdout.setEncoding('utf8');
child?.stdout.on('data', (b) => {
  process.stdout.write(b);
  const lines = (partial + b).split('\n');
  partial = lines.pop();
  for (const l of lines) {
    // test.js closes with "N passed, N failed, N skipped" (its phase lines start with ===): one per filter.
    const m = /^(\d+) passed, (\d+) failed, (\d+) skipped$/.exec(l);
    if (m) closing.push(m);
    boot = /^\[v2-guest .*\bboot ([\d.?]+)s/.exec(l)?.[1] ?? boot;
  }
});
/** The second boot: scripts/v2-guest/systemd-check.sh under a real systemd, in what is left of the budget. */
function systemdBoot() {
  const left = Math.floor(Number(opt.budget) - (Date.now() - t0) / 1000);
  if (left < 120) return Promise.resolve({ code: 124, boot: '?', why: `only ${left}s of the budget left` });
  const sargs = [run, '--systemd', '--timeout', String(left)];
  for (const k of ['checkout', 'smp', 'mem']) if (opt[k]) sargs.push(`--${k}`, opt[k]);
  sargs.push('--', 'sh', 'scripts/v2-guest/systemd-check.sh');
  const c = spawn(process.execPath, sargs, { stdio: ['ignore', 'pipe', 'inherit'] });
  let sdBoot = '?';
  c.stdout.setEncoding('utf8');
  c.stdout.on('data', (b) => {
    process.stdout.write(b);
    sdBoot = /\[v2-guest .*\bboot ([\d.?]+)s/.exec(b)?.[1] ?? sdBoot;
  });
  return new Promise((resolve) =>
    c.on('close', (code) => resolve({ code, boot: sdBoot, why: code === 124 ? 'time budget ran out' : `exit ${code}` })),
  );
}

const main = child ? new Promise((resolve) => child.on('close', resolve)) : Promise.resolve(0);
main.then(async (code) => {
  const sd = withSystemd ? await systemdBoot() : null;
  const mins = ((Date.now() - t0) / 60000).toFixed(1);
  let pass = 0;
  let fail = 0;
  let skip = 0;
  let why = '';
  for (const m of closing) {
    pass += Number(m[1]);
    fail += Number(m[2]);
    skip += Number(m[3]);
  }
  const expected = filters.length + (lessons.length ? 1 : 0);
  const complete = closing.length === expected;
  if (code === 124) why = ` (time budget of ${opt.budget}s ran out)`;
  else if (!complete) why = ` (${closing.length} of ${expected} test summaries from the guest, exit ${code})`;
  // A guest that died or timed out without every summary must not read as green.
  if ((code !== 0 && fail === 0) || !complete) fail += 1;
  if (sd) {
    if (sd.code === 0) pass += 1;
    else fail += 1;
  }
  const sdText = sd ? `; real systemd: ${sd.code === 0 ? 'passed' : `FAILED (${sd.why})`}, boot ${sd.boot ?? '?'}s` : '';
  console.log(
    `\n=== cgroup v2 guest [${[...filters, ...(sd ? ['systemd'] : [])].join(' ')}]: ${pass} passed, ${fail} failed, ${skip} skipped${why}${child ? `; boot ${boot}s` : ''}${sdText}; ${mins} min ===`,
  );
  process.exitCode = code === 0 && complete && (!sd || sd.code === 0) ? 0 : code || 1;
});
