// A real room (root, real boxes): 30 learner namespaces behind one NAT join a class by code over self-signed HTTPS (3 in
// Chromium, 27 protocol clients), each passes a lesson step; the instructor's Chromium outside the NAT creates the class,
// watches progress, broadcasts, ends the class and exports the CSV. Reports join-to-prompt p50/p99 with 30 at once.
// Run: npx next build --webpack && node --import tsx --test e2e/room/room.e2e.ts
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { screenText, waitForPhase, waitForScreen } from '../browser.ts';
import { runCommand } from '../terminal-actions.ts';
import { launchInNetns, type NetnsBrowser } from './chromium.ts';
import { connectorIn, type Connector } from './connect.ts';
import { joinFrom, type ProtocolLearner } from './learner.ts';
import { createRoom, roomLinks, roomNamespaces, sweepRooms, type Room } from './netns.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

// Boxes of this test live under their own run dir (read by server/engine/state.ts when it is first imported).
process.env.BOXLAB_RUN ??= '/run/boxlab-room';
const RUN = process.env.BOXLAB_RUN;
const OUT = fileURLToPath(new URL('../../out', import.meta.url));
const PREFIX = process.env.BOXLAB_ROOM_PREFIX ?? 'bxroom2';
const LEARNERS = 30;
const BROWSERS = 3;
const TOKEN = 'room-e2e-instructor-token-0123456789';
const SLUG = 'xray-tour';
// Step 1 of the lesson: its solution, as the lesson file gives it (asserted below, so the two cannot drift apart).
const SOLUTION = 'echo hello > /root/hello.txt';
const PROMPT = /# (\x1b\[6n)?$/;
const skip =
  process.getuid?.() !== 0 ? 'needs root' : !existsSync(join(OUT, 'join.html')) ? 'needs the web bundle (npx next build --webpack)' : false;

interface Msg {
  type: string;
  [k: string]: unknown;
}
/** A protocol learner's control messages (text frames), kept for assertions. */
function controlOf(p: ProtocolLearner): Msg[] {
  const got: Msg[] = [];
  p.ws.on('message', (d, bin) => {
    if (!bin) got.push(JSON.parse(String(d)) as Msg);
  });
  return got;
}
async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
/** Every box the room made (ids and host pids), checked for leftovers by the last test. */
const boxes = new Map<string, number[]>();
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

test('a room of 30 behind one NAT: join by code over HTTPS, one step each, live dashboard, broadcast, end, CSV', {
  skip,
  timeout: 300_000,
}, async (t: TestContext) => {
  assert.ok(
    readFileSync(fileURLToPath(new URL(`../../lessons/${SLUG}.md`, import.meta.url)), 'utf8').includes(`\n${SOLUTION}\n`),
    "the step's solution",
  );
  await sweepRooms(PREFIX); // what a killed run of this test left
  const home = mkdtempSync(join(tmpdir(), 'boxlab-room-e2e-'));
  const browsers: NetnsBrowser[] = [];
  const protocol: ProtocolLearner[] = [];
  const connectors: Connector[] = [];
  let room: Room | null = null;
  let srv: ServerProcess | null = null;
  const loadBefore = load();
  try {
    room = await createRoom({ learners: LEARNERS, prefix: PREFIX });
    // The server in its own process (BOXLAB_RUN inherited): its event loop is not the one of the 27 protocol clients.
    srv = await startServerProcess({
      config: {
        host: room.serverAddress,
        port: 57000 + Math.floor(Math.random() * 1000),
        tls: 'self-signed',
        staticDir: OUT,
        maxSessions: LEARNERS + 5,
      },
      home,
      course: { instructorToken: TOKEN, dbPath: join(home, 'boxlab.db') },
    });
    const base = `https://${room.serverAddress}:${srv.port}`;
    const pin = srv.spki;

    // The instructor, outside the NAT, in Chromium: signs in, creates the class (name, one lesson, box limits).
    const ib = await launchInNetns(room.instructor.name, pin);
    browsers.push(ib);
    const teacher = await (await ib.browser.newContext({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true })).newPage();
    teacher.on('pageerror', (e) => console.log(`# instructor page error: ${e.message}`));
    // Typed into before the page is hydrated, the token would be lost: a person is slower than networkidle.
    await teacher.goto(`${base}/classroom`, { waitUntil: 'networkidle' });
    await teacher.fill('[data-testid=token]', TOKEN);
    await teacher.click('[data-testid=sign-in] button[type=submit]');
    await teacher.click('[data-testid=new-class]');
    await teacher.fill('[data-testid=class-name]', 'Room 30');
    await teacher.check(`[data-testid=class-lesson-${SLUG}]`);
    await teacher.fill('[data-testid=class-memory]', '64M');
    await teacher.fill('[data-testid=class-pids]', '64');
    await teacher.fill('[data-testid=class-cap]', String(LEARNERS));
    await teacher.click('[data-testid=create-class-submit]');
    await teacher.waitForSelector('[data-testid=projector-view]');
    const code = ((await teacher.textContent('[data-testid=projector-code]')) ?? '').trim();
    assert.match(code, /^[A-HJKMNP-Z2-9]{6}$/);
    await teacher.keyboard.press('Escape');
    const made = (await srv.state()).classes.find((c) => c.code === code);
    assert.deepEqual(made, { code, lessons: [SLUG], memory: '64M', pids: 64, cap: LEARNERS });

    // Three learners in Chromium, each inside its own namespace, the join form filled: they submit with the others.
    const names = room.learners.map((_, i) => `Learner ${String(i + 1).padStart(2, '0')}`);
    const pages: Page[] = [];
    await Promise.all(
      room.learners.slice(0, BROWSERS).map(async (l, i) => {
        const b = await launchInNetns(l.name, pin);
        browsers.push(b);
        const p = await b.browser.newPage();
        p.on('pageerror', (e) => console.log(`# ${names[i]} page error: ${e.message}`));
        await p.goto(`${base}/join`, { waitUntil: 'networkidle' });
        await p.fill('[data-testid=join-code]', code.toLowerCase());
        await p.fill('[data-testid=join-name]', names[i]!);
        // The page looked the code up (GET /api/join/<code>) and names the class: the learner knows it is the right one.
        await p.waitForSelector('[data-testid=join-class-name]:has-text("Room 30")', { timeout: 30_000 });
        pages[i] = p;
      }),
    );

    // The protocol clients' helpers stand ready in their namespaces (a page's browser is already running too).
    const via = await Promise.all(
      room.learners.slice(BROWSERS).map(async (l) => {
        const c = await connectorIn(l.name);
        connectors.push(c); // closed in finally even if another one fails to start
        return c;
      }),
    );

    // 30 join at once. Join-to-prompt: a page from its Join click to the prompt on its screen (the resume code and
    // the lesson's Start between); a protocol client from its sockets (made at once by its standing helper) to the prompt.
    const loadAtJoin = load();
    const to = { host: room.serverAddress, port: srv.port, pin };
    // The 27 protocol clients share this process (their TLS and WebSockets): its event loop's delay during the join
    // bounds how late a client notices its answer (the server runs in a process of its own).
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const joinMs: { kind: 'page' | 'protocol'; ms: number; fromGo: number }[] = [];
    const pageSteps: string[] = [];
    const pagePost: number[] = [];
    const protoAt: { start: number; post: number }[] = [];
    const joins = room.learners.map(async (l, i) => {
      if (i < BROWSERS) {
        const p = pages[i]!;
        const c0 = performance.now();
        const answered = p
          .waitForResponse((r) => new URL(r.url()).pathname === '/api/join' && r.request().method() === 'POST', { timeout: 120_000 })
          .then((r) => (assert.equal(r.status(), 201), performance.now()));
        await p.click('[data-testid=join-submit]');
        await p.waitForSelector('[data-testid=resume-code]', { timeout: 120_000 });
        const joinedAt = performance.now();
        pagePost.push((await answered) - c0);
        await p.click('[data-testid=start-lesson]');
        await p.waitForURL(new RegExp(`/lessons/${SLUG}`));
        const lessonAt = performance.now();
        await waitForPhase(p, 'running', 180_000);
        await waitForScreen(p, /#$/, 60_000);
        const ms = performance.now() - c0;
        pageSteps.push(`${(joinedAt - c0).toFixed(0)}+${(lessonAt - joinedAt).toFixed(0)}+${(performance.now() - lessonAt).toFixed(0)}`);
        joinMs.push({ kind: 'page', ms, fromGo: performance.now() - t0 });
        return;
      }
      const p = await joinFrom(
        l.name,
        to,
        names[i]!,
        { path: '/api/join', body: JSON.stringify({ code, name: names[i] }) },
        via[i - BROWSERS],
      );
      protocol.push(p);
      const ctl = controlOf(p);
      // What the lesson page does on its socket: say where the learner is, now and after every hello.
      const where = JSON.stringify({ type: 'lesson', slug: SLUG, step: 0 });
      p.ws.send(where);
      p.ws.on('message', (d, bin) => !bin && String(d).includes('"type":"hello"') && p.ws.send(where));
      protoAt.push({ start: p.at.sockets - t0, post: p.at.created - p.at.sockets });
      await p.waitText(PROMPT, 180_000);
      joinMs.push({ kind: 'protocol', ms: performance.now() - p.at.sockets, fromGo: performance.now() - t0 });
      (p as ProtocolLearner & { ctl?: Msg[] }).ctl = ctl;
    });
    const joined = await Promise.allSettled(joins);
    loop.disable();
    const failed = joined.flatMap((r, i) =>
      r.status === 'rejected' ? [`${names[i]}: ${String(r.reason).split('\n').slice(0, 3).join(' ')}`] : [],
    );
    assert.deepEqual(failed, [], 'every learner reaches a prompt');
    const all = joinMs.map((j) => j.ms);
    const pg = joinMs.filter((j) => j.kind === 'page').map((j) => j.ms);
    const pr = joinMs.filter((j) => j.kind === 'protocol').map((j) => j.ms);
    const line =
      `room e2e: ${LEARNERS} joined at once behind one NAT (${BROWSERS} Chromium): join-to-prompt p50 ${pct(all, 50).toFixed(0)} ms, p99 ${pct(all, 99).toFixed(0)} ms` +
      ` (Chromium p50 ${pct(pg, 50).toFixed(0)} / max ${Math.max(...pg).toFixed(0)} ms; protocol p50 ${pct(pr, 50).toFixed(0)} / p99 ${pct(pr, 99).toFixed(0)} ms);` +
      ` all 30 at a prompt ${Math.max(...joinMs.map((j) => j.fromGo)).toFixed(0)} ms after the go; load ${loadBefore} before, ${loadAtJoin} at the join, ${load()} after`;
    const fromGo = joinMs.filter((j) => j.kind === 'protocol').map((j) => j.fromGo);
    const split =
      `Chromium join click to resume code + to the lesson page + to the prompt (ms): ${pageSteps.join(', ')}; its POST /api/join answered after ${pagePost.map((x) => x.toFixed(0)).join(', ')} ms.` +
      ` Protocol: sockets ready ${pct(
        protoAt.map((x) => x.start),
        50,
      ).toFixed(0)}/${Math.max(...protoAt.map((x) => x.start)).toFixed(0)} ms (p50/max) after the go, TLS + POST /api/join p50 ${pct(
        protoAt.map((x) => x.post),
        50,
      ).toFixed(0)} / p99 ${pct(
        protoAt.map((x) => x.post),
        99,
      ).toFixed(0)} ms, go to prompt p50 ${pct(fromGo, 50).toFixed(0)} / p99 ${pct(fromGo, 99).toFixed(0)} ms.` +
      ` Event loop of the test's clients meanwhile: delay p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms, max ${(loop.max / 1e6).toFixed(0)} ms`;
    console.log(`# ${line}\n# ${split}`);
    t.diagnostic(line);
    t.diagnostic(split);
    assert.equal(joinMs.length, LEARNERS);
    const state = await srv.state();
    const addrs = new Set(state.sessions.map((s) => s.addr));
    const learnerAddrs = new Set(state.sessions.filter((s) => s.member).map((s) => s.addr));
    assert.deepEqual([...learnerAddrs], [room.natAddress], 'every learner came through the NAT');
    assert.ok(
      [...addrs].every((a) => a === room!.natAddress || a === room!.instructor.address),
      `only the NAT and the instructor: ${[...addrs].join(' ')}`,
    );

    for (const { box } of state.sessions) if (box) boxes.set(box.id, box.pids);
    assert.ok(boxes.size >= LEARNERS, `${boxes.size} boxes`);

    // One lesson step each: the solution typed, the server's check on the real box turns green.
    await Promise.all([
      ...pages.map(async (p) => {
        await p.click('[data-testid=terminal]');
        await runCommand(p, SOLUTION, 60_000);
        await p.waitForFunction(() => document.querySelector('[data-testid=step-0]')?.getAttribute('data-state') === 'passed', undefined, {
          timeout: 90_000,
        });
      }),
      ...protocol.map(async (p) => {
        const ctl = (p as ProtocolLearner & { ctl?: Msg[] }).ctl!;
        await until('the server knows the step', () => ctl.some((m) => m.type === 'check' && m.slug === SLUG && m.step === 0), 60_000);
        p.type(`${SOLUTION}\r`);
        await until(
          `${p.sessionId} passes step 1`,
          () => ctl.some((m) => m.type === 'check' && m.slug === SLUG && m.step === 0 && m.passed === true),
          90_000,
        );
      }),
    ]);

    // The dashboard, live: every name, each with its first step passed (its square) and done 1 of the lesson's steps.
    await teacher.waitForFunction(
      (n) => {
        const rows = [...document.querySelectorAll('[data-testid=roster-row]')];
        return (
          rows.length === n &&
          rows.every(
            (r) =>
              r.querySelector('[data-testid=roster-step]')?.getAttribute('data-state') === 'passed' &&
              /^1\//.test(r.querySelector('td:nth-child(2)')?.textContent ?? ''),
          )
        );
      },
      LEARNERS,
      { timeout: 60_000 },
    );
    const shown = await teacher.locator('[data-testid=roster-name]').allTextContents();
    assert.deepEqual(shown.sort(), [...names].sort());

    // Broadcast from the instructor's own terminal: the pages show the banner, the protocol clients are told.
    await teacher.click('[role=tab]:has-text("My terminal")');
    await waitForPhase(teacher, 'running', 60_000);
    await teacher.click('[data-testid=broadcast]');
    await Promise.all(pages.map((p) => p.waitForSelector('[data-testid=broadcast-banner]', { timeout: 20_000 })));
    for (const p of protocol) {
      const ctl = (p as ProtocolLearner & { ctl?: Msg[] }).ctl!;
      await until(`${p.sessionId} hears the broadcast`, () => ctl.some((m) => m.type === 'broadcast' && m.active === true), 20_000);
    }

    // End the class: every learner is told, every box goes; then the CSV, downloaded in the instructor's page.
    teacher.once('dialog', (d) => void d.accept());
    await teacher.click('[data-testid=end-this-class]');
    await Promise.all(
      pages.map((p) => p.waitForFunction(() => window.__boxlab?.client.getView().phase === 'ended', undefined, { timeout: 30_000 })),
    );
    for (const p of protocol) {
      const ctl = (p as ProtocolLearner & { ctl?: Msg[] }).ctl!;
      await until(`${p.sessionId} hears the end`, () => ctl.some((m) => m.type === 'class_ended'), 20_000);
    }
    await teacher.waitForSelector('[data-testid=archived]', { timeout: 20_000 });
    const [download] = await Promise.all([teacher.waitForEvent('download'), teacher.click('[data-testid=export-csv]')]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .split('\r\n')
      .filter(Boolean);
    assert.equal(csv[0], 'class,class_code,learner,joined_at,lesson,lesson_title,step,step_title,status,opened_at,passed_at,seconds');
    for (const n of names) {
      const rows = csv.filter((r) => r.startsWith(`Room 30,${code},${n},`));
      assert.ok(
        rows.some((r) => new RegExp(`,${SLUG},[^,]*,1,[^,]*,passed,`).test(r)),
        `${n}: step 1 passed in the CSV (${rows[0] ?? 'no row'})`,
      );
    }
    t.diagnostic(
      `csv: ${csv.length - 1} rows for ${names.length} learners; screen of a page at the end: ${JSON.stringify((await screenText(pages[0]!)).slice(-40))}`,
    );
    const end = Date.now() + 30_000;
    let left = (await srv.state()).sessions.filter((s) => s.member);
    while (left.length && Date.now() < end)
      left = (await new Promise((r) => setTimeout(r, 200)), await srv.state()).sessions.filter((s) => s.member);
    assert.deepEqual(left, [], 'no class member has a session after the end');
  } finally {
    for (const p of protocol) p.close();
    for (const c of connectors) c.close();
    for (const b of browsers) await b.close();
    await srv?.close();
    await room?.destroy();
    rmSync(home, { recursive: true, force: true });
  }
});

test('the room left nothing behind: namespaces, host links, boxes', { skip }, async () => {
  assert.deepEqual(await roomNamespaces(PREFIX), []);
  assert.deepEqual(await roomLinks(PREFIX), []);
  const { readRecords } = await import('../../server/engine/state.ts');
  assert.deepEqual(
    readRecords(RUN).map((r) => r.id),
    [],
    `no box record under ${RUN}`,
  );
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`${RUN}/`));
  assert.deepEqual(mounts, [], `no mount under ${RUN}`);
  assert.ok(boxes.size >= LEARNERS, 'the room test recorded its boxes');
  // cgroup v1 has a directory per controller, v2 one: none may still hold a box of this room; none of their processes lives.
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? ['/sys/fs/cgroup']
    : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  const cgroupsLeft = [...boxes.keys()].flatMap((id) => roots.map((r) => join(r, 'boxlab', id)).filter((d) => existsSync(d)));
  assert.deepEqual(cgroupsLeft, [], 'no cgroup of a box left');
  const alive = [...boxes.values()].flat().filter((pid) => {
    try {
      return process.kill(pid, 0);
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, [], 'no process of a box left');
  const sandboxes = join(RUN, 'sandboxes');
  assert.deepEqual(existsSync(sandboxes) ? readdirSync(sandboxes) : [], [], 'no sandbox directory');
});
