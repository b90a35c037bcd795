// The Kubernetes manifests (deploy/kubernetes/*.yaml): each document valid against the Kubernetes schema
// (kubernetes-models), the cross-references between them, the probes' and preStop's own scripts run against a fake
// /api/health; and a broken document or reference gives the validator's error (the checks can fail).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { SETTINGS, settingsOf } from '../../server/protocol/settings.ts';
import { crossCheck, loadManifests, validateDoc, type Doc } from './check.ts';

const DIR = import.meta.dirname;
const docs = loadManifests(DIR);
const kinds = (k: string) => docs.filter((d) => d.obj.kind === k);
const node = kinds('DaemonSet').find((d) => d.obj.metadata.name === 'boxlab-node')!;
const boxlab = node?.obj.spec.template.spec.containers[0];

/** The variables `boxlab serve` reads: its settings' env vars, and the PostgreSQL store's URL. */
const SERVER_ENV = new Set(settingsOf('serve').flatMap(([, s]) => (s.env ? [s.env] : [])));
// Read by the PostgreSQL store (#15 item 3, branch pgstore); a no-op once that setting is in SETTINGS.
SERVER_ENV.add('BOXLAB_DATABASE_URL');

const copy = (d: Doc): Doc => ({ ...d, obj: structuredClone(d.obj) });

test('every document: a known kind, valid against the Kubernetes schema', () => {
  assert.deepEqual([...new Set(docs.map((d) => `${d.obj.apiVersion}/${d.obj.kind}`))].sort(), [
    'apps/v1/DaemonSet',
    'apps/v1/StatefulSet',
    'networking.k8s.io/v1/Ingress',
    'v1/Namespace',
    'v1/Secret',
    'v1/Service',
  ]);
  for (const d of docs) validateDoc(d);
});

test('a broken document gives the validator its error (the schema check can fail)', () => {
  const bad = copy(node);
  bad.obj.spec.template.spec.containers[0].ports[0].containerPort = '3000';
  assert.throws(() => validateDoc(bad), /30-node\.yaml #1 DaemonSet\/boxlab-node: .*containerPort must be integer/);
  const noSelector = copy(node);
  delete noSelector.obj.spec.selector;
  assert.throws(() => validateDoc(noSelector), /data\/spec must have required property '?selector'?/);
  const unknown = copy(node);
  unknown.obj.kind = 'Deployment';
  assert.throws(() => validateDoc(unknown), /no model for apiVersion apps\/v1 kind Deployment/);
});

test('cross-references hold: selectors, ports, probes, Secret keys, the env the server reads', () => {
  assert.deepEqual(crossCheck(docs, SERVER_ENV), []);
});

test('each cross-check catches its break', () => {
  const broken = (edit: (all: Doc[]) => void): string[] => {
    const all = docs.map(copy);
    edit(all);
    return crossCheck(all, SERVER_ENV);
  };
  const ds = (all: Doc[]) => all.find((d) => d.obj.kind === 'DaemonSet')!.obj.spec.template.spec;
  const svc = (all: Doc[]) => all.find((d) => d.obj.kind === 'Service' && d.obj.metadata.name === 'boxlab')!.obj.spec;
  const cases: [string, (all: Doc[]) => void, RegExp][] = [
    ['selector', (a) => void (svc(a).selector = { app: 'nope' }), /Service\/boxlab: its selector matches no pod/],
    ['targetPort', (a) => void (svc(a).ports[0].targetPort = 'web'), /targetPort web is no container port/],
    ['probe port', (a) => void (ds(a).containers[0].readinessProbe.httpGet.port = 8080), /readinessProbe: port 8080/],
    [
      'exec probe port',
      (a) => void (ds(a).containers[0].livenessProbe.exec.command[2] = "fetch('http://127.0.0.1:9/api/health')"),
      /livenessProbe: asks port 9/,
    ],
    [
      'secret key',
      (a) => void (ds(a).containers[0].env.find((e: { name: string }) => e.name === 'DB_PASSWORD').valueFrom.secretKeyRef.key = 'pw'),
      /Secret boxlab-postgres has no key pw/,
    ],
    [
      'env name',
      (a) => void ds(a).containers[0].env.push({ name: 'BOXLAB_MAX_SESSION', value: '1' }),
      /BOXLAB_MAX_SESSION: the server reads no such variable/,
    ],
    ['env order', (a) => void ds(a).containers[0].env.reverse(), /\$\(DB_PASSWORD\) is not defined before it/],
    [
      'namespace',
      (a) => void (a.find((d) => d.obj.kind === 'Ingress')!.obj.metadata.namespace = 'default'),
      /namespace default is not defined/,
    ],
    [
      'ingress backend',
      (a) => void (a.find((d) => d.obj.kind === 'Ingress')!.obj.spec.rules[0].http.paths[0].backend.service.port = { name: 'web' }),
      /Service boxlab has no port web/,
    ],
    [
      'headless',
      (a) => void (a.find((d) => d.obj.metadata.name === 'boxlab-postgres' && d.obj.kind === 'Service')!.obj.spec.clusterIP = '10.0.0.1'),
      /serviceName boxlab-postgres is no headless Service/,
    ],
  ];
  for (const [what, edit, want] of cases) assert.match(broken(edit).join('\n'), want, what);
});

test('the node: privileged DaemonSet, one per labelled host, the database URL names the PostgreSQL pod, grace covers a session', () => {
  const spec = node.obj.spec.template.spec;
  assert.equal(boxlab.securityContext.privileged, true);
  assert.ok(!spec.hostPID && !spec.hostNetwork, 'no hostPID, no hostNetwork');
  assert.equal(spec.nodeSelector['boxlab.dev/node'], 'true');
  const env = Object.fromEntries(boxlab.env.map((e: { name: string; value?: string }) => [e.name, e]));
  assert.equal(env.BOXLAB_NODE_ID.valueFrom.fieldRef.fieldPath, 'spec.nodeName');
  const pg = kinds('StatefulSet')[0]!.obj;
  const pgEnv = Object.fromEntries(pg.spec.template.spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  const url = new URL(env.BOXLAB_DATABASE_URL.value);
  assert.equal(url.hostname, `${pg.metadata.name}-0.${pg.spec.serviceName}.${pg.metadata.namespace}.svc`);
  assert.equal(url.username, pgEnv.POSTGRES_USER);
  assert.equal(url.pathname, `/${pgEnv.POSTGRES_DB}`);
  assert.equal(url.password, '$(DB_PASSWORD)');
  const { lifetimeSec, graceSec } = SETTINGS;
  assert.ok(spec.terminationGracePeriodSeconds >= lifetimeSec.default! + graceSec.default!, 'the drain may take a whole session');
  assert.equal(env.BOXLAB_RUN.value, '/run/boxlab', 'preStop touches $BOXLAB_RUN/drain');
  assert.ok(existsSync(join(DIR, 'image', 'Dockerfile')) && existsSync(join(DIR, 'image', 'entrypoint.sh')));
});

/** A fake /api/health answering `answers` in turn (the last one repeated). */
async function fakeHealth(t: TestContext, answers: [number, unknown][]): Promise<number> {
  let i = 0;
  const srv = createServer((_req, res) => {
    const [status, body] = answers[Math.min(i++, answers.length - 1)]!;
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  return (srv.address() as AddressInfo).port;
}

function run(argv: string[], env: Record<string, string> = {}): Promise<number | null> {
  return new Promise((resolve) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', env: { ...process.env, ...env } });
    c.on('exit', (code) => resolve(code));
  });
}

test('liveness: 200 or a 503 with a state (draining, full) is alive; an error, a stateless 503, no answer is not', async (t) => {
  const [cmd, flag, script] = boxlab.livenessProbe.exec.command as string[];
  assert.deepEqual(boxlab.startupProbe.exec.command, boxlab.livenessProbe.exec.command);
  const probe = async (answers: [number, unknown][] | null) => {
    const port = answers ? await fakeHealth(t, answers) : 9; // port 9 (discard): nothing listens on loopback
    return run([cmd === 'node' ? process.execPath : cmd!, flag!, script!.replace('127.0.0.1:3000', `127.0.0.1:${port}`)]);
  };
  assert.equal(await probe([[200, { ok: true, state: 'ready' }]]), 0);
  assert.equal(await probe([[503, { ok: true, state: 'draining' }]]), 0);
  assert.equal(await probe([[503, { ok: true, state: 'full' }]]), 0);
  assert.equal(await probe([[503, { error: 'full', reason: 'server_full' }]]), 1, 'no state: not a node answering');
  assert.equal(await probe([[500, { error: 'internal' }]]), 1);
  assert.equal(await probe([[200, '<html>']]), 1);
  assert.equal(await probe(null), 1);
});

test('preStop: writes $BOXLAB_RUN/drain, returns once no session is left', async (t) => {
  const run_ = mkdtempSync(join(tmpdir(), 'boxlab-k8s-'));
  t.after(() => rmSync(run_, { recursive: true, force: true }));
  const [sh, c, script] = boxlab.lifecycle.preStop.exec.command as string[];
  const port = await fakeHealth(t, [
    [503, { state: 'draining', sessions: 2 }],
    [503, { state: 'draining', sessions: 0 }],
  ]);
  const t0 = performance.now();
  const code = await run([sh!, c!, script!.replace('127.0.0.1:3000', `127.0.0.1:${port}`)], {
    BOXLAB_RUN: run_,
    PATH: `${join(process.execPath, '..')}:${process.env.PATH}`,
  });
  assert.equal(code, 0);
  assert.ok(existsSync(join(run_, 'drain')), 'the drain file');
  assert.ok(performance.now() - t0 >= 4500, 'it waited (one round of sleep 5) while a session was live');
});
