// Checks of the Kubernetes manifests beside this file: every YAML document parsed and validated against the
// Kubernetes OpenAPI schema (kubernetes-models, picked by apiVersion/kind), then the cross-references a schema cannot
// see. Used by manifests.test.ts (the unit phase of `npm test`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { parseAllDocuments } from 'yaml';

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML until validated
export type Doc = { file: string; index: number; obj: any };

/** The kinds these manifests use, by `apiVersion/kind`; another kind is an error until its model is added here. */
const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/StatefulSet': StatefulSet,
  'networking.k8s.io/v1/Ingress': Ingress,
};

/** Every document of every .yaml file in `dir`; a YAML syntax error throws with its file. */
export function loadManifests(dir: string): Doc[] {
  const docs: Doc[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()) {
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).forEach((d, index) => {
      if (d.errors.length) throw new Error(`${file} document ${index + 1}: ${d.errors[0]!.message}`);
      const obj = d.toJS();
      if (obj) docs.push({ file, index, obj });
    });
  }
  return docs;
}

/** The schema check of one document: throws "<file> #n <Kind>/<name>: data/spec/... must be ..." (ajv's words). */
export function validateDoc(d: Doc): void {
  const where = `${d.file} #${d.index + 1} ${d.obj?.kind}/${d.obj?.metadata?.name}`;
  const Model = MODELS[`${d.obj?.apiVersion}/${d.obj?.kind}`];
  if (!Model) throw new Error(`${where}: no model for apiVersion ${d.obj?.apiVersion} kind ${d.obj?.kind} (add it to MODELS)`);
  try {
    new Model(d.obj as never).validate();
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: see Doc
type Any = any;
const workloads = (docs: Doc[]) => docs.filter((d) => d.obj.kind === 'DaemonSet' || d.obj.kind === 'StatefulSet');
const containersOf = (w: Doc): Any[] => w.obj.spec.template.spec.containers ?? [];
const portsOf = (w: Doc): Any[] => containersOf(w).flatMap((c) => c.ports ?? []);
const hasPort = (w: Doc, p: string | number) => portsOf(w).some((q) => q.name === p || q.containerPort === p);

/** What a schema cannot see: names that must meet, ports that must exist, env the server reads. Empty: all hold. */
export function crossCheck(docs: Doc[], serverEnv: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const ns = new Set(docs.filter((d) => d.obj.kind === 'Namespace').map((d) => d.obj.metadata.name));
  for (const d of docs)
    if (d.obj.kind !== 'Namespace' && !ns.has(d.obj.metadata.namespace))
      problems.push(`${d.obj.kind}/${d.obj.metadata.name}: namespace ${d.obj.metadata.namespace} is not defined here`);
  const secrets = new Map(
    docs
      .filter((d) => d.obj.kind === 'Secret')
      .map((d) => [d.obj.metadata.name, new Set(Object.keys({ ...d.obj.data, ...d.obj.stringData }))]),
  );
  const services = docs.filter((d) => d.obj.kind === 'Service');
  for (const s of services) {
    const sel: Record<string, string> = s.obj.spec.selector ?? {};
    const match = workloads(docs).filter((w) => Object.entries(sel).every(([k, v]) => w.obj.spec.template.metadata.labels?.[k] === v));
    if (!Object.keys(sel).length || !match.length) problems.push(`Service/${s.obj.metadata.name}: its selector matches no pod template`);
    for (const p of s.obj.spec.ports ?? [])
      if (match.length && !match.some((w) => hasPort(w, p.targetPort ?? p.port)))
        problems.push(`Service/${s.obj.metadata.name}: targetPort ${p.targetPort} is no container port of the pods it selects`);
  }
  for (const w of workloads(docs)) {
    const name = `${w.obj.kind}/${w.obj.metadata.name}`;
    const sel: Record<string, string> = w.obj.spec.selector?.matchLabels ?? {};
    if (!Object.entries(sel).every(([k, v]) => w.obj.spec.template.metadata.labels?.[k] === v))
      problems.push(`${name}: spec.selector does not match its own pod template's labels`);
    if (
      w.obj.kind === 'StatefulSet' &&
      !services.some((s) => s.obj.metadata.name === w.obj.spec.serviceName && s.obj.spec.clusterIP === 'None')
    )
      problems.push(`${name}: serviceName ${w.obj.spec.serviceName} is no headless Service`);
    for (const c of containersOf(w)) {
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const probe = c[kind];
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (port !== undefined && !hasPort(w, port)) problems.push(`${name} ${kind}: port ${port} is no container port`);
        // An exec probe that asks the server itself must ask the port it listens on.
        for (const m of String(probe?.exec?.command?.join(' ') ?? '').matchAll(/127\.0\.0\.1:(\d+)/g))
          if (!hasPort(w, Number(m[1]))) problems.push(`${name} ${kind}: asks port ${m[1]}, no container port`);
      }
      const env: Any[] = c.env ?? [];
      env.forEach((e, i) => {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secrets.get(ref.name)?.has(ref.key)) problems.push(`${name} env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
        // $(NAME) expands only a variable defined earlier in the list (Kubernetes' dependent environment variables).
        for (const m of String(e.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
          if (!env.slice(0, i).some((x) => x.name === m[1])) problems.push(`${name} env ${e.name}: $(${m[1]}) is not defined before it`);
      });
      if (!c.image?.includes('boxlab')) continue;
      // The Boxlab container: every variable is one the server reads, or only feeds another's $(NAME).
      for (const e of env) {
        const used = env.some((x) => String(x.value ?? '').includes(`$(${e.name})`));
        if (!serverEnv.has(e.name) && !used) problems.push(`${name} env ${e.name}: the server reads no such variable`);
      }
    }
  }
  for (const ing of docs.filter((d) => d.obj.kind === 'Ingress'))
    for (const rule of ing.obj.spec.rules ?? [])
      for (const p of rule.http?.paths ?? []) {
        const b = p.backend.service;
        const svc = services.find((s) => s.obj.metadata.name === b.name);
        const port = b.port.name ?? b.port.number;
        if (!svc) problems.push(`Ingress/${ing.obj.metadata.name}: no Service ${b.name}`);
        else if (!(svc.obj.spec.ports ?? []).some((q: Any) => q.name === port || q.port === port))
          problems.push(`Ingress/${ing.obj.metadata.name}: Service ${b.name} has no port ${port}`);
      }
  return problems;
}
