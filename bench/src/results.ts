/** The figures of one bench run: rows (figures) by columns (runtimes, floors, bare kernel). */
import { log, reasonOf } from './log.js';
import type { Summary } from './stats.js';

export type Cell = { summary: Summary; note?: string } | { skipped: string };

export interface Figure {
  id: string;
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  cells: Record<string, Cell>;
}

export interface Results {
  figures: Figure[];
  notes: string[];
}

export function newResults(defs: readonly Omit<Figure, 'cells'>[]): Results {
  return { figures: defs.map((d) => ({ ...d, cells: {} })), notes: [] };
}

function fig(res: Results, id: string): Figure {
  const f = res.figures.find((x) => x.id === id);
  if (!f) throw new Error(`unknown figure ${id}`);
  return f;
}

export function put(res: Results, id: string, column: string, summary: Summary, note?: string): void {
  fig(res, id).cells[column] = note ? { summary, note } : { summary };
}

export function skip(res: Results, ids: readonly string[], column: string, reason: string): void {
  for (const id of ids) {
    const f = fig(res, id);
    if (!f.cells[column]) f.cells[column] = { skipped: reason };
  }
}

/**
 * Runs one measurement step; if it throws, every figure it would have filled (and has not)
 * for this column is marked "skipped: <reason>" and the bench goes on.
 */
export async function attempt(res: Results, ids: readonly string[], column: string, step: () => Promise<void>): Promise<boolean> {
  try {
    await step();
    return true;
  } catch (err) {
    const reason = reasonOf(err);
    log(`${column}: ${ids.join(', ')} skipped: ${reason}`);
    skip(res, ids, column, reason);
    return false;
  }
}
