/**
 * The commands around a start, with N idle containers running (the levels of scale.ts):
 * `exec NAME true` into one of them (spawn to exit: the CLI, the join of the container's
 * namespaces and cgroup, `true`, the exit status back), and `ps` (the CLI listing every
 * container). Docker's figures include its daemon's work; tsdocker has none, so its CLI
 * does the same work itself. And the start latency at N as a multiple of the empty host's,
 * both measured in the same minutes, interleaved (the target: a start does not slow down
 * with the number of containers).
 */
import { timed } from '../proc.js';
import { put, type Results } from '../results.js';
import type { Runtime } from '../runtimes/types.js';
import { sample, summarize, type Plan } from '../stats.js';
import type { FigureDef } from '../figures.js';

export function opsFigureDefs(levels: number[]): FigureDef[] {
  return [
    ...levels.map((n): FigureDef => ({ id: `exec.with${n}`, label: `\`exec\` of \`true\` into a running container, ${n} running`, unit: 'ms', better: 'lower' })),
    ...levels.map((n): FigureDef => ({ id: `ps.with${n}`, label: `\`ps\` with ${n} containers running`, unit: 'ms', better: 'lower' })),
    ...levels.map((n): FigureDef => ({ id: `start.rel${n}`, label: `start with ${n} others running / start on the empty host (medians, same column, interleaved)`, unit: 'x', better: 'lower' })),
  ];
}

/** Figures at level `n`; `name` is one of the idle containers. */
export async function opsAt(res: Results, rt: Runtime, plan: Plan, n: number, name: string): Promise<void> {
  const cli = rt.cliArgv;
  if (!cli) throw new Error('no CLI argv for this runtime');
  put(res, `exec.with${n}`, rt.name, await sample(`${rt.name} exec (${n} running)`, plan, () => timed(cli(['exec', name, 'true']), { timeoutMs: 60_000 })));
  put(res, `ps.with${n}`, rt.name, await sample(`${rt.name} ps (${n} running)`, plan, () => timed(cli(['ps']), { timeoutMs: 60_000 })));
}

/** start.with<n> over start.ref<n>: the empty host's starts, interleaved with those at n (scale.ts). */
export function startRelative(res: Results, rt: Runtime, n: number): void {
  const cell = (id: string) => {
    const c = res.figures.find((f) => f.id === id)?.cells[rt.name];
    return c && 'summary' in c ? c.summary.median : undefined;
  };
  const base = cell(`start.ref${n}`);
  const at = cell(`start.with${n}`);
  if (base && at) put(res, `start.rel${n}`, rt.name, summarize([at / base], 'x'));
}
