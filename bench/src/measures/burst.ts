/**
 * N `run -d` at once on the default bridge. Each container looks up its default gateway
 * (the sandbox, playing the host) and connects to a collector listening there; the figure is
 * the wall time from launch until N distinct addresses have connected. Then one `rm -f` of
 * all N, timed, and a check that nothing is left.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { log } from '../log.js';
import { background, run, stop } from '../proc.js';
import { attempt, put, type Results } from '../results.js';
import type { Runtime } from '../runtimes/types.js';
import { summarize } from '../stats.js';
import { removeAll } from './containers.js';
import { describe, settle, snapshot } from './leftovers.js';

const PORT = 17777;
const SCRIPT =
  'i=0; while [ $i -lt 300 ]; do ' +
  'gw=$(ip route | awk \'/^default/ {print $3}\'); ' +
  `[ -n "$gw" ] && echo hi | nc -w 2 "$gw" ${PORT} >/dev/null 2>&1 && break; ` +
  'i=$((i+1)); sleep 0.1; done; exec sleep 3600';

export async function burstFigures(res: Results, rt: Runtime, n: number, helpers: string): Promise<void> {
  const col = rt.name;
  const names = Array.from({ length: n }, (_, i) => `tsdb-burst-${i}`);
  const before = await snapshot(rt.sandbox);
  let launched = false;
  let allRan = false;
  await attempt(res, ['burst.wall', 'burst.distinct'], col, async () => {
    const coll = background(rt.sandbox.enterNet([process.execPath, join(helpers, 'collector.mjs'), String(PORT), String(n), '180000']), undefined, true);
    try {
      const lines = createInterface({ input: coll.child.stdout! });
      const it = lines[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.value !== 'ready') throw new Error('collector did not start');
      const seen = new Set<string>();
      const t0 = process.hrtime.bigint();
      let wall = NaN;
      launched = true;
      const runs = Promise.all(
        names.map((name) => run(rt.runArgv({ name, detach: true, net: 'bridge', cmd: ['sh', '-c', SCRIPT] }), { timeoutMs: 300_000 })),
      );
      // a failed `run -d` ends the wait at once: its container will never answer
      const failedRuns = runs.then((rs) => rs.filter((r) => r.code !== 0));
      const failedEarly = failedRuns.then((f) => (f.length ? ('failed' as const) : new Promise<never>(() => undefined)));
      for (;;) {
        const next = await Promise.race([it.next(), failedEarly]);
        if (next === 'failed' || next.done) break;
        seen.add(next.value);
        if (seen.size >= n) {
          wall = Number(process.hrtime.bigint() - t0) / 1e6;
          break;
        }
      }
      const failed = await failedRuns;
      if (failed.length) {
        const why = (failed[0]?.stderr ?? '').trim().split('\n').slice(-1)[0] ?? '';
        throw new Error(`${failed.length}/${n} run -d failed: ${why}`);
      }
      allRan = true;
      put(res, 'burst.distinct', col, summarize([seen.size], 'count'));
      if (!Number.isFinite(wall)) throw new Error(`only ${seen.size}/${n} containers answered within 180 s`);
      log(`${col} burst: ${n} answered in ${wall.toFixed(0)} ms from ${seen.size} addresses`);
      put(res, 'burst.wall', col, summarize([wall], 'ms'));
    } finally {
      await stop(coll.pid, 1000);
    }
  });
  if (!launched) return;
  if (!allRan) {
    await removeAll(rt, names).catch(() => undefined);
    return;
  }
  await attempt(res, ['teardown.rm', 'teardown.left'], col, async () => {
    const ms = await removeAll(rt, names);
    put(res, 'teardown.rm', col, summarize([ms], 'ms'));
    log(`${col}: rm -f of ${n} took ${ms.toFixed(0)} ms`);
    const left = await settle(rt.sandbox, before);
    put(res, 'teardown.left', col, summarize([left.atReturn.count], 'count'), describe(left));
    if (left.atReturn.count) log(`${col}: after rm -f: ${describe(left)}`);
  });
}
