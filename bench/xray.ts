// Measures the x-ray (root, real sandboxes): sampler cost with 50 processes and 300 files, and bytes pushed per second idle/busy.
// Run: node --import tsx bench/xray.ts   (numbers go into docs/xray.md)
import { WebSocket } from 'ws';
import { clientProtocols } from '../server/protocol/messages.ts';
import type { XrayView } from '../server/protocol/xray.ts';
import { BoxTracker, PipeShell, sleep } from '../server/engine/testing/helpers.ts';
import { startServer } from '../server/root/compose.ts';
import { XraySampler } from '../server/xray/sampler.ts';

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

async function samplerCost(): Promise<void> {
  const tracker = new BoxTracker();
  try {
    const sh = await PipeShell.open(tracker);
    await sh.run(
      'for i in $(seq 48); do sleep 600 & done; mkdir -p /tmp/m; i=0; while [ $i -lt 300 ]; do echo $i > /tmp/m/f$i; i=$((i+1)); done',
    );
    const sets: Array<[string, XrayView[]]> = [
      ['procs', ['procs']],
      ['ns', ['ns']],
      ['cgroup', ['cgroup']],
      ['fs', ['fs']],
      ['mounts', ['mounts']],
      ['all five', ['procs', 'ns', 'cgroup', 'fs', 'mounts']],
    ];
    console.log('| views | processes | files | wall median ms | wall p90 ms | CPU per sample ms | full message bytes |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, views] of sets) {
      let full = 0;
      const s = new XraySampler(sh.box, (m) => (full ||= JSON.stringify(m).length));
      s.select(views);
      const first = await s.sampleOnce();
      full = JSON.stringify(first).length;
      const walls: number[] = [];
      const c0 = process.cpuUsage();
      const N = 200;
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        await s.sampleOnce();
        walls.push(performance.now() - t0);
      }
      const c = process.cpuUsage(c0);
      const procs = first?.procs?.set.length ?? '';
      const files = first?.fs?.set.length ?? '';
      console.log(
        `| ${name} | ${procs} | ${files} | ${pct(walls, 0.5).toFixed(2)} | ${pct(walls, 0.9).toFixed(2)} | ${((c.user + c.system) / 1000 / N).toFixed(2)} | ${full} |`,
      );
    }
  } finally {
    await tracker.destroyAll();
  }
}

/** Bytes of x-ray text frames per second over a real socket, for one tab's subscription. */
async function bytesPerSecond(): Promise<void> {
  const server = await startServer({ config: { port: 0, host: '127.0.0.1' }, log: () => {} });
  try {
    const r = await fetch(`${server.url}/api/session`, { method: 'POST' });
    const { token } = (await r.json()) as { token: string };
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`, clientProtocols(token), { origin: server.url });
    let bytes = 0;
    let msgs = 0;
    let biggest = 0;
    let running = false;
    ws.on('message', (data, binary) => {
      if (binary) return;
      const text = data.toString();
      if (text.startsWith('{"type":"xray"')) {
        bytes += text.length;
        msgs++;
        biggest = Math.max(biggest, text.length);
      } else if (text.includes('"state":"running"')) running = true;
    });
    await new Promise((res) => ws.once('open', res));
    while (!running) await sleep(20);
    const type = (s: string) => ws.send(Buffer.from(s));
    type('clear\n');
    await sleep(500);
    const tabs: Array<[string, XrayView[]]> = [
      ['Namespaces', ['ns']],
      ['Processes', ['procs']],
      ['cgroups', ['cgroup']],
      ['Layers', ['fs', 'mounts']],
    ];
    const measure = async (views: XrayView[], ms: number) => {
      ws.send(JSON.stringify({ type: 'xray', views }));
      await sleep(400); // the full message is not part of the steady state
      bytes = 0;
      msgs = 0;
      biggest = 0;
      await sleep(ms);
      ws.send(JSON.stringify({ type: 'xray', views: [] }));
      await sleep(100);
      return { bps: Math.round((bytes * 1000) / ms), mps: ((msgs * 1000) / ms).toFixed(1), biggest };
    };
    console.log('\n| tab | idle B/s | idle msg/s | busy B/s | busy msg/s | largest busy message B |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, views] of tabs) {
      const idle = await measure(views, 5000);
      // Busy: a file rewritten, a process started and reaped and cpu burnt, several times a second.
      type(
        '(i=0; while [ $i -lt 100000 ]; do echo $i > /tmp/busy$((i % 20)); sleep 0.1; i=$((i+1)); done) & B=$!; (while :; do :; done) & C=$!\n',
      );
      await sleep(300);
      const busy = await measure(views, 5000);
      type('kill $B $C; rm -f /tmp/busy*\n');
      await sleep(300);
      console.log(`| ${name} | ${idle.bps} | ${idle.mps} | ${busy.bps} | ${busy.mps} | ${busy.biggest} |`);
    }
    ws.close();
  } finally {
    await server.close();
  }
}

await samplerCost();
await bytesPerSecond();
