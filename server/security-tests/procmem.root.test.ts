// /proc/<pid>/mem: a box process writing a sibling's memory (ptrace by another name) is refused by the read-only /proc.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { answers, buildProbeImage, runInBox, SKIP, SUITE_LAB, type ProbeImage } from './testing/harness.ts';

// The probe forks a child and writes its flag through /proc/<child>/mem; then opens /proc/self/mem for writing and
// /proc/1/mem for reading. Also: /proc's own mount options, and a write through the magic link /proc/self/fd/3,
// which must still work: it resolves to the file the fd names (here on the overlay), not to a file of the /proc mount.
const SCRIPT = [
  '/probe memwrite',
  `awk '$5 == "/proc" { print "procmnt " $6 }' /proc/self/mountinfo`,
  'exec 3>/tmp/fd3; echo "fd3-ok" > /proc/self/fd/3 && cat /tmp/fd3',
].join('; ');

// Lab mode mounts /proc read-write by design (a nested rw proc needs a rw one visible); lab.root.test.ts records it.
describe('/proc/<pid>/mem inside a box', {
  skip: SKIP || (SUITE_LAB && 'lab mode: /proc is read-write by design, see lab.root.test.ts'),
}, () => {
  let img: ProbeImage;
  before(async () => {
    img = await buildProbeImage();
  });
  after(() => img?.cleanup());

  test('writes refused (EROFS) by the read-only /proc under every switch but proc_ro; with proc_ro off the sibling changes', async (t) => {
    const cfgs = { secure: [], 'no seccomp+caps': ['seccomp', 'caps'], 'no proc_ro': ['proc_ro'] } as const;
    const r: Record<string, { mem: Map<string, string>; procmnt: string; out: string }> = {};
    for (const [name, disable] of Object.entries(cfgs)) {
      const run = await runInBox({ baseDir: img.image, script: SCRIPT, disable: [...disable] });
      assert.equal(run.exit.code, 0, `${name}: ${run.out}`);
      r[name] = { mem: answers(run.lines, 'memwrite'), procmnt: /^procmnt (\S+)$/m.exec(run.out)?.[1] ?? '', out: run.out };
    }
    for (const name of ['secure', 'no seccomp+caps'] as const) {
      const { mem, procmnt, out } = r[name]!;
      assert.match(procmnt, /^ro,/, `${name}: /proc mounted read-only`);
      assert.equal(mem.get('open'), 'err EROFS', `${name}: sibling's mem not writable`);
      assert.equal(mem.get('sibling'), 'unchanged', `${name}: sibling's memory intact`);
      assert.equal(mem.get('self'), 'EROFS', `${name}: /proc/self/mem not writable either`);
      assert.match(out, /^fd3-ok$/m, `${name}: writing through /proc/self/fd/N still works`);
    }
    // The insecure answer: same uid and dumpable is all ptrace_may_access(PTRACE_MODE_ATTACH) asks; the seccomp
    // denial of ptrace and process_vm_writev does not cover this path.
    const open = r['no proc_ro']!;
    assert.match(open.procmnt, /^rw,/);
    assert.equal(open.mem.get('pwrite'), 'ok');
    assert.equal(open.mem.get('sibling'), 'changed', 'with proc_ro disabled the write lands in the sibling');
    assert.equal(open.mem.get('self'), 'ok');
    // Reading a sibling's memory stays possible (same uid, same box): it crosses nothing the box does not own.
    for (const [name, run] of Object.entries(r)) assert.equal(run.mem.get('read-pid1'), 'ok', `${name}: read-only open of /proc/1/mem`);
    t.diagnostic(
      Object.entries(r)
        .map(
          ([k, v]) =>
            `${k}: /proc ${v.procmnt.split(',')[0]}, open ${v.mem.get('open') ?? 'ok'}, pwrite ${v.mem.get('pwrite') ?? '-'}, sibling ${v.mem.get('sibling')}, self ${v.mem.get('self')}, read /proc/1/mem ${v.mem.get('read-pid1')}`,
        )
        .join('; '),
    );
  });
});
