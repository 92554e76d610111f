/**
 * What the restart-policy and healthcheck tests share: inspect a container, wait for a
 * condition (never a fixed time), and list the processes that belong to a sandbox.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Sandbox } from './sandbox.js';

export async function inspectIn(sb: Sandbox, ref: string): Promise<Record<string, any>> {
  const r = await sb.tsd(['inspect', ref]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout)[0];
}

/** Poll `fn` until it holds; fail after `ms` (a bound against hangs, not a timing claim). */
export async function until(what: string, fn: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** argv of every process whose command line names this sandbox's root (its monitors, any tsdocker). */
export function sandboxProcesses(sb: Sandbox): string[][] {
  const out: string[][] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.some((a) => a.includes(sb.root))) out.push(argv);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
