/**
 * Many idle detached containers on the default bridge: start latency with N others
 * running (interleaved with starts on an empty instance of the same runtime), and the memory of the runtime's own processes (monitors, shims, conmon,
 * daemons; never the containers' processes) per container, (PSS(N) − PSS(0)) / N.
 */
import { log, reasonOf } from '../log.js';
import { failure, pool, run, sleep } from '../proc.js';
import { memSum, sandboxTree } from '../procfs.js';
import { attempt, put, skip, type Results } from '../results.js';
import type { Runtime } from '../runtimes/types.js';
import { sampleInterleaved, summarize, type Plan } from '../stats.js';
import { removeAll } from './containers.js';
import { describe, settle, snapshot } from './leftovers.js';
import { startLatency, startOnce } from './start.js';
import { opsAt, startRelative } from './ops.js';

const MiB = 1024;

/**
 * `openEmpty` opens a second instance of the runtime (its own sandbox and state, no
 * container): the empty host whose starts are interleaved with those at each level, so the
 * ratio of the two is taken in the same minutes (the start on the empty host measured at the
 * beginning of the column, start.bridge, is minutes older: drift of the machine entered it).
 */
export async function scaleFigures(res: Results, rt: Runtime, levels: number[], plan: Plan, openEmpty: () => Promise<Runtime>): Promise<void> {
  const col = rt.name;
  const names: string[] = [];
  let empty: Runtime | undefined;
  let emptySkip = '';
  try {
    empty = await openEmpty();
  } catch (err) {
    emptySkip = `no second, empty instance: ${reasonOf(err)}`;
  }
  const before = await snapshot(rt.sandbox);
  const base = memSum(sandboxTree(rt.sandbox.pid).runtime);
  put(res, 'mem.base', col, summarize([base.pssKiB / MiB], 'MiB'));
  const ids = levels.map((n) => `start.with${n}`);
  const perPss: number[] = [];
  const perRss: number[] = [];
  try {
    for (const [li, n] of levels.entries()) {
      const ok = await attempt(res, ids.slice(li), col, async () => {
        const todo = Array.from({ length: n - names.length }, (_, i) => `tsdb-idle-${n}-${i}`);
        log(`${col}: starting ${todo.length} idle containers (to ${n})`);
        await pool(todo, 4, async (name) => {
          const argv = rt.runArgv({ name, detach: true, net: 'bridge', cmd: ['sleep', '3600'] });
          const r = await run(argv, { timeoutMs: 120_000 });
          if (r.code !== 0) throw failure(argv, r);
          names.push(name);
        });
        await sleep(2000);
        const m = memSum(sandboxTree(rt.sandbox.pid).runtime);
        perPss.push((m.pssKiB - base.pssKiB) / MiB / n);
        perRss.push((m.rssKiB - base.rssKiB) / MiB / n);
        log(`${col}: ${n} idle: runtime PSS ${(m.pssKiB / MiB).toFixed(1)} MiB, ${perPss.at(-1)?.toFixed(2)} MiB per container`);
        if (empty) {
          const [at, ref] = await sampleInterleaved([`${col} start bridge (${n} running)`, `${col} start bridge (empty host, interleaved)`], plan, [startOnce(rt, 'bridge', false), startOnce(empty, 'bridge', false)]);
          put(res, `start.with${n}`, col, at!);
          put(res, `start.ref${n}`, col, ref!);
          startRelative(res, rt, n);
        } else {
          put(res, `start.with${n}`, col, await startLatency(rt, plan, 'bridge'));
          skip(res, [`start.ref${n}`, `start.rel${n}`], col, emptySkip);
        }
        await attempt(res, [`exec.with${n}`, `ps.with${n}`], col, () => opsAt(res, rt, plan, n, names[0]!));
      });
      if (!ok) break;
    }
    if (perPss.length) {
      put(res, 'mem.pss', col, summarize(perPss, 'MiB'), `at ${levels.slice(0, perPss.length).join(', ')} containers`);
      put(res, 'mem.rss', col, summarize(perRss, 'MiB'));
    }
  } finally {
    const left = await empty?.close().catch((err: unknown) => [`closing the empty instance: ${reasonOf(err)}`]);
    if (left?.length) res.notes.push(`${col}: the empty instance left ${left.length} process(es): ${left.slice(0, 5).join(', ')}`);
    await attempt(res, ['teardown.rmAll'], col, async () => {
      if (!perPss.length) {
        await removeAll(rt, names).catch(() => undefined);
        throw new Error('no level of idle containers could be started');
      }
      const ms = await removeAll(rt, names);
      const left = await settle(rt.sandbox, before);
      put(res, 'teardown.rmAll', col, summarize([ms], 'ms'), describe(left));
      log(`${col}: rm -f of ${names.length} took ${ms.toFixed(0)} ms; ${describe(left)}`);
    });
  }
}
