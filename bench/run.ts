// run.ts: `npm run bench [-- --quick] [--only=create,fork] [--list] [--no-save]`: runs the registered sections,
// prints one markdown report on stdout and writes each section's JSON to bench/results/.
import { saveResult } from './create.ts';
import { machineFacts } from './lib/machine.ts';
import { sections } from './sections/index.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
  .filter(Boolean);
const log = (line: string) => console.error(`[bench] ${line}`);

if (args.includes('--list')) {
  for (const s of sections) console.log(`${s.name.padEnd(10)} ${s.title}`);
  process.exit(0);
}
const unknown = (only ?? []).filter((n) => !sections.some((s) => s.name === n));
if (unknown.length) {
  console.error(`unknown section(s): ${unknown.join(', ')}; --list shows them`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('the benchmark makes real sandboxes, cgroups and mounts: run it as root');
  process.exit(2);
}

const m = machineFacts();
const t0 = performance.now();
const out: string[] = [
  `# Boxlab benchmark${quick ? ' (--quick)' : ''}`,
  '',
  `${m.date} · ${m.kernel} · ${m.cpus} × ${m.cpu} · ${m.memGiB} GiB · Node ${m.node} · ${m.bwrap ?? 'no bwrap'} · ${m.runc ?? 'no runc'} · load ${m.loadavg.join(' ')}`,
];
let failed = false;
for (const s of sections.filter((x) => !only || only.includes(x.name))) {
  const ts = performance.now();
  log(`${s.name}: ${s.title}`);
  try {
    const r = await s.run({ quick, log });
    out.push('', `## ${s.title}`, '', r.markdown);
    if (!args.includes('--no-save')) log(`${s.name}: wrote ${saveResult(s.name, { machine: m, quick, ...r.json }, quick)}`);
  } catch (err) {
    failed = true;
    out.push('', `## ${s.title}`, '', `FAILED: ${(err as Error).stack ?? err}`);
  }
  log(`${s.name}: ${((performance.now() - ts) / 1000).toFixed(1)} s`);
}
out.push('', `Total ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
console.log(out.join('\n'));
process.exit(failed ? 1 : 0);
