/**
 * Many containers started at once on one user network: all run, all have distinct
 * addresses, all are reachable by name from another container, one embedded DNS serves
 * them, and nothing is left after rm and network rm.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createSandbox, BUSYBOX_TAR, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const N = 20;

beforeAll(async () => {
  sb = await createSandbox('tsd-nets');
  const r = await sb.tsd(['load', '-i', BUSYBOX_TAR]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await sb?.close();
});

describe('concurrent starts on one network', () => {
  it(`${N} containers started at once are all reachable by name with distinct addresses`, async () => {
    expect((await sb.tsd(['network', 'create', 'many'])).code).toBe(0);
    const t0 = Date.now();
    const runs = await Promise.all(
      Array.from({ length: N }, (_, i) => sb.tsd(['run', '-d', '--name', `c${i}`, '--network', 'many', 'busybox', 'sleep', '120'], { timeoutMs: 120_000 })),
    );
    console.log(`${N} concurrent run -d: ${Date.now() - t0} ms`);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const inspect = JSON.parse((await sb.tsd(['network', 'inspect', 'many'])).stdout) as { Containers: Record<string, { IPv4Address: string }> }[];
    const ips = Object.values(inspect[0]!.Containers).map((c) => c.IPv4Address);
    expect(ips).toHaveLength(N);
    expect(new Set(ips).size).toBe(N);
    const ping = await sb.tsd(
      ['run', '--rm', '--network', 'many', 'busybox', 'sh', '-c', `f=0; for i in $(seq 0 ${N - 1}); do ping -c1 -W2 c$i >/dev/null 2>&1 || f=$((f+1)); done; echo unreachable=$f`],
      { timeoutMs: 120_000 },
    );
    expect(ping.stdout).toContain('unreachable=0');
    const dnsd = await sb.sh(['sh', '-c', `ps -eo args | grep -c "[d]nsd.js ${sb.root}$"`]);
    expect(dnsd.stdout.trim()).toBe('1');
    const ids = (await sb.tsd(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    expect((await sb.tsd(['rm', '-f', ...ids], { timeoutMs: 120_000 })).code).toBe(0);
    expect((await sb.tsd(['network', 'rm', 'many'])).code).toBe(0);
    expect((await sb.sh(['ip', '-o', 'link'])).stdout.trim().split('\n')).toHaveLength(1);
    expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout).toBe('');
  });
});
