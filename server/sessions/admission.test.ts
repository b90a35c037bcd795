// Admission by host memory: the MemAvailable budget, no double counting, and the typed 503 over HTTP (fake meminfo, fake boxes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refusedResponse } from '../protocol/messages.ts';
import { parseBytes } from '../protocol/size.ts';
import { MemoryAdmission, memAvailable } from './admission.ts';
import { loadConfig } from '../web/config.ts';
import { http, start, TestClient } from '../root/testing/test-client.ts';

const MiB = 1024 * 1024;
const meminfo = (availMiB: number) =>
  `MemTotal:       24576000 kB\nMemFree:          100000 kB\nMemAvailable:   ${availMiB * 1024} kB\nBuffers: 1 kB\n`;

test('MemAvailable is read in kB (proc(5)); absent on old kernels', () => {
  assert.equal(memAvailable(meminfo(1000)), 1000 * MiB);
  assert.equal(memAvailable('MemTotal: 1 kB\nMemFree: 1 kB\n'), null);
  // The limit's text goes through the one grammar (protocol/size.ts; admission.ts had its own copy).
  assert.equal(parseBytes('256M'), 256 * MiB);
  assert.equal(parseBytes('1.5G'), 1.5 * 1024 * MiB);
  assert.throws(() => parseBytes('lots'), /is not a size/);
});

test('ratio 1: the whole promise must fit in MemAvailable + what boxes use now', () => {
  const a = new MemoryAdmission({ ratio: 1, read: () => meminfo(1000) });
  assert.equal(a.decide({ promised: 0, charged: 0, want: 256 * MiB }).ok, true);
  assert.equal(a.decide({ promised: 768 * MiB, charged: 0, want: 256 * MiB }).ok, false, '1024 MiB promised > 1000 MiB');
  assert.equal(a.decide({ promised: 512 * MiB, charged: 0, want: 256 * MiB }).ok, true, '768 of 1000');
  // Boxes using 200 MiB made MemAvailable 200 MiB smaller; counting it as backing again is what keeps it fair.
  assert.equal(a.decide({ promised: 768 * MiB, charged: 200 * MiB, want: 256 * MiB }).ok, true, '1024 of 1200');
  const no = a.decide({ promised: 768 * MiB, charged: 0, want: 256 * MiB });
  assert.ok(!no.ok);
  assert.match(
    no.message,
    /another 256 MiB box: boxes already hold 768 MiB of 1000 MiB the host can back \(MemAvailable 1000 MiB \+ 0 MiB in use by boxes\)/,
  );
});

test('ratio 1.5 overcommits; a missing MemAvailable admits; a bad ratio is refused', () => {
  const a = new MemoryAdmission({ ratio: 1.5, read: () => meminfo(1000) });
  assert.equal(a.decide({ promised: 1024 * MiB, charged: 0, want: 256 * MiB }).ok, true, '1280 of 1500');
  const no = a.decide({ promised: 1280 * MiB, charged: 0, want: 256 * MiB });
  assert.ok(!no.ok && /overcommit 1.5/.test(no.message));
  assert.equal(
    new MemoryAdmission({ ratio: 1, read: () => 'MemTotal: 1 kB\n' }).decide({ promised: 1e15, charged: 0, want: 1e15 }).ok,
    true,
  );
  assert.equal(
    new MemoryAdmission({
      ratio: 1,
      read: () => {
        throw new Error('no procfs');
      },
    }).decide({ promised: 0, charged: 0, want: 1 }).ok,
    true,
  );
  assert.throws(() => new MemoryAdmission({ ratio: 0 }), RangeError);
});

test('BOXLAB_MEMORY_OVERCOMMIT: default 1, a ratio, off; nonsense is a ConfigError', () => {
  assert.equal(loadConfig({}, []).memoryOvercommit, 1);
  assert.equal(loadConfig({ BOXLAB_MEMORY_OVERCOMMIT: '1.5' }, []).memoryOvercommit, 1.5);
  assert.equal(loadConfig({}, ['--memory-overcommit', 'off']).memoryOvercommit, 0);
  assert.throws(() => loadConfig({ BOXLAB_MEMORY_OVERCOMMIT: 'lots' }, []), /must be a ratio/);
  assert.throws(() => loadConfig({ BOXLAB_MEMORY_OVERCOMMIT: '0' }, []), /must be a ratio/);
});

test('POST /api/session: 503 host_memory (typed, with message and Retry-After) once the promise would pass the backing; freed memory admits again', async (t) => {
  let avail = 1000;
  const { url, srv } = await start(
    t,
    { memoryBytes: 256 * MiB, memoryOvercommit: 1, maxSessions: 10, maxPerClient: 10 },
    { readMeminfo: () => meminfo(avail) },
  );
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await http(url, 'POST', '/api/session', '{}');
    assert.equal(r.status, 201, `box ${i + 1} (${(i + 1) * 256} MiB of 1000)`);
    tokens.push((JSON.parse(r.body) as { token: string }).token);
  }
  const refused = await http(url, 'POST', '/api/session', '{}');
  assert.equal(refused.status, 503);
  const body = refusedResponse.parse(JSON.parse(refused.body));
  assert.equal(body.error, 'host_memory');
  assert.ok(
    body.error === 'host_memory' && /another 256 MiB box/.test(body.message) && /Try again in \d+ s/.test(body.message),
    JSON.stringify(body),
  );
  assert.equal(refused.headers['retry-after'], String(body.retryAfterSec));
  assert.ok(
    body.error === 'host_memory' &&
      body.retry === `Try again in ${body.retryAfterSec} s, when a box is due to end.` &&
      body.message.endsWith(body.retry),
  );
  assert.equal(srv.manager.size, 3, 'the earlier sessions live');
  // A box that runs counts its charged memory as backing (the fake charges ~1 MB): not enough for a fourth.
  const c = new TestClient(url, tokens[0] ?? null);
  await c.opened();
  await c.until(() => srv.manager.sessions().some((s) => s.session.state === 'running'), 3000, 'a running box');
  assert.equal((await http(url, 'POST', '/api/session', '{}')).status, 503);
  // The host gains memory (another program exited): admitted again.
  avail = 1100;
  await new Promise((r) => setTimeout(r, 300)); // past the 250 ms sampling window
  assert.equal((await http(url, 'POST', '/api/session', '{}')).status, 201);
  await c.close();
});
