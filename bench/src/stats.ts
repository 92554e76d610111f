/** Samples and their summary: warmup runs are thrown away, then median and spread. */
import { log } from './log.js';

export interface Summary {
  unit: string;
  median: number;
  min: number;
  max: number;
  mean: number;
  sd: number;
  n: number;
  values: number[];
}

export function summarize(values: readonly number[], unit: string): Summary {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const mid = Math.floor(n / 2);
  const median = n === 0 ? NaN : n % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { unit, median, min: v[0] ?? NaN, max: v[n - 1] ?? NaN, mean, sd, n, values: [...values] };
}

export interface Plan {
  warmup: number;
  /** at least this many measured runs */
  minRuns: number;
  /** ...and keep going until this much time was spent measuring (hyperfine's rule) */
  minMs: number;
  maxRuns: number;
}

/** hyperfine-style: warmups, then at least minRuns and at least minMs, at most maxRuns. */
export async function sample(label: string, plan: Plan, once: () => Promise<number>, unit = 'ms'): Promise<Summary> {
  for (let i = 0; i < plan.warmup; i++) await once();
  const values: number[] = [];
  const t0 = Date.now();
  while (values.length < plan.maxRuns && (values.length < plan.minRuns || Date.now() - t0 < plan.minMs)) {
    values.push(await once());
  }
  const s = summarize(values, unit);
  log(`${label}: median ${fmt(s.median)} ${unit} (${fmt(s.min)}–${fmt(s.max)}, n=${s.n})`);
  return s;
}

/**
 * `sample` of several measures at once, interleaved: each round runs every one once (in
 * turn, the order reversed every other round), so drift of the machine (other work, the
 * page cache, a writeback) reaches them alike and their ratio holds. Rounds: as `sample`.
 */
export async function sampleInterleaved(labels: readonly string[], plan: Plan, onces: readonly (() => Promise<number>)[], unit = 'ms'): Promise<Summary[]> {
  const order = (round: number) => (round % 2 ? [...onces.keys()].reverse() : [...onces.keys()]);
  for (let i = 0; i < plan.warmup; i++) for (const k of order(i)) await onces[k]!();
  const values: number[][] = onces.map(() => []);
  const t0 = Date.now();
  for (let round = 0; round < plan.maxRuns && (round < plan.minRuns || Date.now() - t0 < plan.minMs); round++) {
    for (const k of order(round)) values[k]!.push(await onces[k]!());
  }
  return values.map((v, k) => {
    const s = summarize(v, unit);
    log(`${labels[k]}: median ${fmt(s.median)} ${unit} (${fmt(s.min)}–${fmt(s.max)}, n=${s.n})`);
    return s;
  });
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
