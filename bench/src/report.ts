/** The report: a markdown table on stdout (or JSON), one row per figure. */
import type { Machine } from './machine.js';
import type { Cell, Results } from './results.js';
import { fmt } from './stats.js';

/** `node -e 0` without NODE_EXTRA_CA_CERTS (measured when the environment sets it) */
export const NO_CA = 'node -e 0 (no extra CA)';
export const COLUMNS = ['tsdocker', 'docker', 'docker+tsdocker-oci', 'podman', 'skopeo', 'runc', 'tsdocker-oci', 'node -e 0', NO_CA, 'bare kernel'];

export interface Report {
  machine: Machine;
  versions: Record<string, string>;
  image: string;
  mode: string;
  results: Results;
}

function cellText(c: Cell | undefined, unit: string, foot: (reason: string) => string): string {
  if (!c) return '';
  if ('skipped' in c) return `skipped${foot(c.skipped)}`;
  const s = c.summary;
  const f = unit === 'count' ? (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '—') : fmt;
  if (s.n <= 1 || s.min === s.max) return f(s.median);
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

function ratio(a: Cell | undefined, b: Cell | undefined): string {
  if (!a || !b || 'skipped' in a || 'skipped' in b) return '';
  const x = a.summary.median;
  const y = b.summary.median;
  if (!Number.isFinite(x) || !Number.isFinite(y) || y === 0) return '';
  return `${(x / y).toFixed(x / y >= 10 ? 0 : 2)}×`;
}

export function renderTable(r: Report): string {
  const figs = r.results.figures;
  const cols = COLUMNS.filter((c) => figs.some((f) => f.cells[c]));
  const reasons: string[] = [];
  const foot = (reason: string): string => {
    let i = reasons.indexOf(reason);
    if (i < 0) i = reasons.push(reason) - 1;
    return ` [${i + 1}]`;
  };
  const head = ['figure', 'unit'];
  for (const c of cols) {
    head.push(c);
    if (c !== 'tsdocker' && cols.includes('tsdocker')) head.push(`tsdocker/${c}`);
  }
  const rows = [head, head.map(() => '---')];
  for (const f of figs) {
    if (!cols.some((c) => f.cells[c])) continue;
    const row = [f.label, f.unit];
    for (const c of cols) {
      row.push(cellText(f.cells[c], f.unit, foot));
      if (c !== 'tsdocker' && cols.includes('tsdocker')) row.push(ratio(f.cells.tsdocker, f.cells[c]));
    }
    rows.push(row);
  }
  const m = r.machine;
  const lines = [
    `# tsdocker bench — ${m.date}`,
    '',
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, kernel ${m.kernel}, ${m.os}, node ${m.node}`,
    `versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `image: ${r.image}; run: ${r.mode}`,
    'cells: median (min–max) over the measured runs, after warmups; ratio = tsdocker median / peer median',
    '(for Gbit/s and count-that-answered a ratio above 1 is better; for everything else below 1 is better)',
    '',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
  const notes = figs.flatMap((f) =>
    Object.entries(f.cells).flatMap(([c, cell]) => ('note' in cell && cell.note ? [`- ${f.label}, ${c}: ${cell.note}`] : [])),
  );
  if (notes.length || r.results.notes.length) lines.push('', 'notes:', ...notes, ...r.results.notes.map((n) => `- ${n}`));
  if (reasons.length) lines.push('', 'skipped:', ...reasons.map((s, i) => `- [${i + 1}] ${s}`));
  return lines.join('\n') + '\n';
}

export function renderJson(r: Report): string {
  return JSON.stringify(r, null, 2) + '\n';
}
