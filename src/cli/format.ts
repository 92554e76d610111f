/** Output formatting for tables and human times, Docker-style. */

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Go's time.Time.String() of a whole-second time: "2021-03-04 10:11:12 +0000 UTC". */
export function goTime(iso: string): string {
  const d = new Date(Math.floor(Date.parse(iso) / 1000) * 1000);
  if (Number.isNaN(d.getTime())) return iso;
  const off = -d.getTimezoneOffset();
  const p = (n: number) => String(n).padStart(2, '0');
  const local = new Date(d.getTime() + off * 60_000);
  const zone = off === 0 ? 'UTC' : (Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? '');
  const sign = off < 0 ? '-' : '+';
  return `${local.toISOString().slice(0, 10)} ${local.toISOString().slice(11, 19)} ${sign}${p(Math.trunc(Math.abs(off) / 60))}${p(Math.abs(off) % 60)} ${zone}`;
}

/** Scale `bytes` down by `base` until it is below it: [value, unit index]. */
function scale(bytes: number, base: number, units: number): [number, number] {
  let v = bytes;
  let i = 0;
  while (v >= base && i < units - 1) {
    v /= base;
    i++;
  }
  return [v, i];
}

/** Go's %.<prec>g of a value below 1000: significant digits, no trailing zeros. */
function goG(v: number, prec: number): string {
  return String(Number(v.toPrecision(prec)));
}

/** go-units' HumanSizeWithPrecision (decimal: 1.99MB); Docker's images use 3 digits, prune totals 4. */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  const [v, i] = scale(bytes, 1000, units.length);
  return `${goG(v, precision)}${units[i]}`;
}

/** go-units' BytesSize (binary, 4 digits), as `stats` prints memory: 1.5MiB, 1.944GiB */
export function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  const [v, i] = scale(bytes, 1024, units.length);
  return `${goG(v, 4)}${units[i]}`;
}

export function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
