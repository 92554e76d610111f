/** What a runtime leaves behind in its sandbox: links, nft tables, mounts, processes. */
import { run, sleep } from '../proc.js';
import { sandboxTree } from '../procfs.js';
import type { Sandbox } from '../sandbox.js';
import { mountsOf } from './containers.js';

export interface Snapshot {
  links: string[];
  nft: string[];
  mounts: string[];
  procs: string[];
}

export async function snapshot(sb: Sandbox): Promise<Snapshot> {
  const links = (await run(sb.enter(['ip', '-o', 'link', 'show']))).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => (l.split(': ')[1] ?? '').replace(/@.*/, ''));
  const nft = (await run(sb.enter(['nft', 'list', 'tables']))).stdout.split('\n').filter(Boolean);
  const t = sandboxTree(sb.pid);
  const procs = [...t.runtime, ...t.containers].map((p) => `${p.comm}:${p.pid}:${p.start}`);
  return { links, nft, mounts: mountsOf(sb.pid), procs };
}

const added = (a: string[], b: string[]): string[] => {
  const left = [...a];
  const out: string[] = [];
  for (const x of b) {
    const i = left.indexOf(x);
    if (i >= 0) left.splice(i, 1);
    else out.push(x);
  }
  return out;
};

export interface Leftovers {
  count: number;
  detail: string;
}

export function diff(before: Snapshot, after: Snapshot): Leftovers {
  const parts: [string, string[]][] = [
    ['links', added(before.links, after.links)],
    ['nft tables', added(before.nft, after.nft)],
    ['mounts', added(before.mounts, after.mounts)],
    ['processes', added(before.procs, after.procs).map((p) => p.split(':').slice(0, 2).join(':'))],
  ];
  const count = parts.reduce((n, [, xs]) => n + xs.length, 0);
  const detail = parts
    .filter(([, xs]) => xs.length)
    .map(([k, xs]) => `${xs.length} ${k} (${xs.slice(0, 4).join(', ')}${xs.length > 4 ? ', …' : ''})`)
    .join('; ');
  return { count, detail: detail || 'nothing left' };
}

export interface Settled {
  /** what was left the moment the removal command returned */
  atReturn: Leftovers;
  /** ...and after waiting for it to go (at most maxMs) */
  settled: Leftovers;
  settleMs: number;
}

/** Checks right away, then waits up to maxMs for late teardown (monitors, helpers) to finish. */
export async function settle(sb: Sandbox, before: Snapshot, maxMs = 10_000): Promise<Settled> {
  const t0 = Date.now();
  const atReturn = diff(before, await snapshot(sb));
  let settled = atReturn;
  while (settled.count > 0 && Date.now() - t0 < maxMs) {
    await sleep(250);
    settled = diff(before, await snapshot(sb));
  }
  return { atReturn, settled, settleMs: Date.now() - t0 };
}

export function describe(s: Settled): string {
  if (s.atReturn.count === 0) return 'nothing left';
  const later = s.settled.count === 0 ? `all gone ${(s.settleMs / 1000).toFixed(1)} s later` : `still there ${(s.settleMs / 1000).toFixed(0)} s later: ${s.settled.detail}`;
  return `when rm -f returned: ${s.atReturn.detail}; ${later}`;
}
