/** Progress and log lines: stderr only. stdout carries the report. */
const t0 = Date.now();

export function log(msg: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

/** A measurement that cannot run here; its message becomes "skipped: <reason>". */
export class Skip extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Skip';
  }
}

export function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n').filter((l) => l.trim() !== '').slice(0, 2).join(' / ').slice(0, 400);
}
