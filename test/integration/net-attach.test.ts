/**
 * attachNetwork/detachNetwork as the runtime calls them, against stand-in containers
 * (`unshare --net sleep infinity`) inside a sandbox host: per-container attach time,
 * distinct addresses under concurrency, and teardown that is idempotent and works after the
 * container's namespace is gone. The module runs inside the sandbox (a script through
 * nsenter), never in the real host's namespace.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { createSandbox, PROJECT, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;

const SCRIPT = `
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
const dist = process.argv[1];
const { setRoot, paths, ensureLayout } = await import(dist + '/state/paths.js');
setRoot(process.argv[2]);
ensureLayout();
const net = await import(dist + '/net/index.js');
const { createNetwork } = await import(dist + '/net/networks.js');
const N = Number(process.argv[3]);
const standIn = async () => {
  const p = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) { try { if (readFileSync('/proc/' + p.pid + '/comm', 'utf8').trim() === 'sleep') break; } catch {} await new Promise((r) => setTimeout(r, 5)); }
  return p;
};
const id = (i) => String(i).padStart(64, 'f');
await createNetwork({ name: 'n1', subnet: '10.55.0.0/24' });
const out = { times: [], ips: [], errors: [] };
const procs = [];
for (let i = 0; i < N; i++) { mkdirSync(paths.container(id(i)), { recursive: true }); procs.push(await standIn()); }
// sequential attach, timed
for (let i = 0; i < N / 2; i++) {
  const plan = await net.planNetwork({ containerId: id(i), name: 'c' + i, hostname: 'c' + i, network: 'n1', publish: i === 0 ? ['8080:80'] : [], aliases: [], dns: [], dnsSearch: [], addHosts: [] });
  const t0 = performance.now();
  const st = await net.attachNetwork(plan, { containerId: id(i), pid: procs[i].pid });
  out.times.push(performance.now() - t0);
  out.ips.push(st.endpoints[0].ip);
}
// concurrent attach
await Promise.all(procs.slice(N / 2).map(async (p, j) => {
  const i = N / 2 + j;
  const plan = await net.planNetwork({ containerId: id(i), name: 'c' + i, hostname: 'c' + i, network: 'n1', publish: [], aliases: [], dns: [], dnsSearch: [], addHosts: [] });
  const st = await net.attachNetwork(plan, { containerId: id(i), pid: p.pid });
  out.ips.push(st.endpoints[0].ip);
}));
// the namespace goes first (the container died), then teardown runs twice
procs[0].kill('SIGKILL');
await new Promise((r) => setTimeout(r, 100));
for (let k = 0; k < 2; k++) {
  try { await net.detachNetwork(id(0), undefined); } catch (e) { out.errors.push(String(e)); }
}
const td = [];
for (let i = 1; i < N; i++) { const t0 = performance.now(); await net.detachNetwork(id(i), undefined); td.push(performance.now() - t0); procs[i].kill('SIGKILL'); }
out.detachMs = td.reduce((a, b) => a + b, 0) / td.length;
try { await net.detachNetwork(id(1), {}); } catch (e) { out.errors.push(String(e)); }
console.log(JSON.stringify(out));
`;

beforeAll(async () => {
  sb = await createSandbox('tsd-neta');
});
afterAll(async () => {
  await sb?.close();
});

describe('attach/detach against stand-in containers', () => {
  it('attaches 20 stand-ins with distinct addresses under concurrency, and tears down idempotently', async () => {
    const r = await sb.sh([process.execPath, '--input-type=module', '-e', SCRIPT, join(PROJECT, 'dist'), sb.root, '20'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { times: number[]; ips: string[]; errors: string[]; detachMs: number };
    expect(out.errors).toEqual([]);
    expect(new Set(out.ips).size).toBe(20);
    for (const ip of out.ips) expect(ip).toMatch(/^10\.55\.0\.(\d+)$/);
    const sorted = [...out.times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    // speed is the bench's to judge (npm run bench), never a timed test: this only reports it
    console.log(`attach median ${median.toFixed(1)} ms (first, with a published port and the embedded DNS: ${out.times[0]!.toFixed(1)} ms), detach mean ${out.detachMs.toFixed(1)} ms`);
    // nothing left of the containers: only the network's own bridge and rules
    // a stand-in's veth goes with its namespace, which the kernel frees a moment after the
    // kill (detach does not wait for it, as for a real container): give it up to 3 s
    let links = '';
    for (let i = 0; i < 30; i++) {
      links = (await sb.sh(['ip', '-o', 'link'])).stdout;
      if (!/tsd[0-9a-f]{12}/.test(links)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(links).not.toMatch(/tsd[0-9a-f]{12}/);
    const nft = (await sb.sh(['nft', 'list', 'ruleset'])).stdout;
    expect(nft).not.toContain('ctr-');
    expect(nft).not.toContain('8080');
    const leases = await sb.sh(['sh', '-c', `ls ${sb.root}/networks/*/leases/ ${sb.root}/networks/ports/ 2>/dev/null | grep -v : | grep -c . || true`]);
    expect(leases.stdout.trim()).toBe('0');
  });
});
