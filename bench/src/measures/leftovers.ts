/** What a runtime leaves behind in its sandbox: links, nft tables, mounts, processes. */
import { run } from '../proc.js';
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
