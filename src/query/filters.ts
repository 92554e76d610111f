/**
 * --filter KEY=VALUE as Docker's filters.Args: values of one key are alternatives (OR), keys
 * combine with AND, `label` values must all hold. `match` is Docker's Match (equal, or the
 * value as a regular expression found in the text), `exact` its ExactMatch. Pure: used by
 * ps, images, network ls, volume ls and the API server.
 */
import { TsdError } from '../sys/errors.js';

export type Filters = Map<string, string[]>;

/** Parse repeated --filter flags, refusing keys the command does not know (Docker: exit 1). */
export function parseFilters(specs: string[], valid: readonly string[]): Filters {
  const f: Filters = new Map();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq < 0) {
      throw new TsdError('BAD_ARGS', `invalid argument "${spec}" for "-f, --filter" flag: bad format of filter (expected name=value)`, {
        hint: 'write --filter KEY=VALUE',
      });
    }
    const key = spec.slice(0, eq).trim().toLowerCase();
    const value = spec.slice(eq + 1).trim();
    if (!valid.includes(key)) throw invalidFilter(key, undefined, valid);
    f.set(key, [...(f.get(key) ?? []), value]);
  }
  return f;
}

export function invalidFilter(key: string, value: string | undefined, valid?: readonly string[]): TsdError {
  return new TsdError('BAD_ARGS', `Invalid filter '${key}${value === undefined ? '' : `=${value}`}'`, {
    exitCode: 1,
    ...(valid ? { hint: `filters here: ${valid.join(', ')}` } : {}),
  });
}

export function values(f: Filters, key: string): string[] {
  return f.get(key) ?? [];
}

/** Docker's Match: no values for the key passes; else any value equal to, or a regexp found in, `text`. */
export function match(f: Filters, key: string, ...texts: string[]): boolean {
  const vs = values(f, key);
  if (vs.length === 0) return true;
  return vs.some((v) =>
    texts.some((t) => {
      if (v === t) return true;
      try {
        return new RegExp(v).test(t);
      } catch {
        return false;
      }
    }),
  );
}

/** Docker's ExactMatch. */
export function exact(f: Filters, key: string, text: string): boolean {
  const vs = values(f, key);
  return vs.length === 0 || vs.includes(text);
}

/** Docker's MatchKVList: every `label=KEY` or `label=KEY=VALUE` holds. */
export function matchLabels(f: Filters, key: string, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return values(f, key).every((v) => {
    const eq = v.indexOf('=');
    if (eq < 0) return Object.hasOwn(l, v);
    const k = v.slice(0, eq);
    return Object.hasOwn(l, k) && l[k] === v.slice(eq + 1);
  });
}

/** A boolean filter (dangling=true): undefined when absent; Docker refuses anything but true/false/1/0. */
export function boolFilter(f: Filters, key: string): boolean | undefined {
  const vs = values(f, key);
  if (vs.length === 0) return undefined;
  const bad = vs.find((v) => !/^(true|false|1|0)$/i.test(v));
  if (bad !== undefined) throw invalidFilter(key, bad);
  const want = vs.map((v) => /^(true|1)$/i.test(v));
  if (new Set(want).size > 1) throw invalidFilter(key, vs.join(','));
  return want[0];
}

/** Docker's port filter value: 80, 80/udp, 8000-8080/tcp; the set of "port/proto" keys. */
export function portSet(f: Filters, key: string): Set<string> | undefined {
  const vs = values(f, key);
  if (vs.length === 0) return undefined;
  const set = new Set<string>();
  for (const v of vs) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(v);
    if (!m) throw invalidFilter(key, v);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (hi < lo || hi > 65535) throw invalidFilter(key, v);
    for (let p = lo; p <= hi; p++) set.add(`${p}/${m[3] ?? 'tcp'}`);
  }
  return set;
}
