/** Start latency: wall time of one foreground `run --rm busybox true`, spawn to exit. */
import { timed } from '../proc.js';
import { sample, type Plan, type Summary } from '../stats.js';
import type { NetMode, Runtime } from '../runtimes/types.js';

let port = 20000;

export function startOnce(rt: Runtime, net: NetMode, publish: boolean): () => Promise<number> {
  return () => {
    // a fresh host port each run: a port still draining from the last run must not fail this one
    port = port >= 29999 ? 20000 : port + 1;
    const argv = rt.runArgv({ rm: true, net, publish: publish ? `${port}:80` : undefined, cmd: ['true'] });
    return timed(argv, { timeoutMs: 120_000 });
  };
}

export function startLatency(rt: Runtime, plan: Plan, net: NetMode, publish = false): Promise<Summary> {
  return sample(`${rt.name} start ${net}${publish ? ' -p' : ''}`, plan, startOnce(rt, net, publish));
}
