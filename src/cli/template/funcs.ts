/**
 * Template functions: Go's builtins (len, index, slice, print*, comparisons, not, html, js,
 * urlquery; and/or are evaluated lazily in exec.ts) and Docker's (json, split, join, title,
 * lower, upper, pad, truncate). Each declares its parameter kinds so a wrong argument gets
 * Go's "wrong type for value" error; the table header set keeps header text intact.
 */
import { goTypeName, isMap, isStruct, printValue, truthy } from './values.js';

export type Kind = 'any' | 'string' | 'int' | 'strings';
export interface Fn { params: Kind[]; variadic?: Kind; fn: (...args: never[]) => unknown }

const fn = (params: Kind[], f: (...args: never[]) => unknown, variadic?: Kind): Fn => ({ params, fn: f, ...(variadic ? { variadic } : {}) });

function basicKind(v: unknown): string {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v;
  if (v === null || v === undefined) return 'nil';
  throw new Error('invalid type for comparison');
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === 'nil' || kb === 'nil') {
    if (op === 'eq' || op === 'ne') return (a == null && b == null) === (op === 'eq');
    throw new Error('invalid type for comparison');
  }
  if (ka !== kb) throw new Error('incompatible types for comparison');
  if (ka === 'boolean' && op !== 'eq' && op !== 'ne') throw new Error('invalid type for comparison');
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case 'ne': return x !== y;
    case 'lt': return x < y;
    case 'le': return x <= y;
    case 'gt': return x > y;
    case 'ge': return x >= y;
    default: return x === y;
  }
}

function length(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new Error(`len of type ${goTypeName(v)}`);
}

function index(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof k !== 'number' || !Number.isInteger(k)) throw new Error(`cannot index slice/array with type ${goTypeName(k)}`);
      if (k < 0 || k >= v.length) throw new Error(`index out of range: ${k}`);
      v = typeof v === 'string' ? Buffer.from(v)[k] : v[k];
    } else if (isMap(v)) {
      if (typeof k !== 'string') throw new Error(`value has type ${goTypeName(k)}; should be string`);
      v = Object.hasOwn(v, k) ? v[k] : undefined;
    } else if (v === null || v === undefined) {
      throw new Error('index of untyped nil');
    } else {
      throw new Error(`can't index item of type ${goTypeName(v)}`);
    }
  }
  return v;
}

function slice(item: unknown, ...ix: unknown[]): unknown {
  if (typeof item !== 'string' && !Array.isArray(item)) throw new Error(`can't slice item of type ${goTypeName(item)}`);
  const [i = 0, j = item.length] = ix as number[];
  if (i < 0 || j < i || j > item.length) throw new Error(`index out of range: ${j > item.length ? j : i}`);
  return item.slice(i, j);
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let s = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') s += ' ';
    s += printValue(a);
  });
  return s;
}

function sprintf(format: string, ...args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const a = args[n++];
    let s: string;
    switch (verb) {
      case 'd': s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${goTypeName(a)}=${printValue(a)})`; break;
      case 'f': s = typeof a === 'number' ? a.toFixed(prec ? Number(prec) : 6) : `%!f(${goTypeName(a)}=${printValue(a)})`; break;
      case 'q': s = JSON.stringify(printValue(a)); break;
      case 'x': case 'X': s = typeof a === 'number' ? a.toString(16) : Buffer.from(printValue(a)).toString('hex'); if (verb === 'X') s = s.toUpperCase(); break;
      case 't': s = printValue(a); break;
      default: s = printValue(a); if (prec && verb === 's') s = s.slice(0, Number(prec));
    }
    const w = width ? Number(width) : 0;
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && verb !== 's' ? '0' : ' ');
    return s;
  });
}

const HTML: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' };

/** Docker's json: encoding/json without HTML escaping; a struct is its fields. */
function toJson(v: unknown): string {
  // a bigint (an int64 such as timeNano) is written as the exact integer it is
  const s = JSON.stringify(v === undefined ? null : v, (_k, x: unknown) => (isStruct(x) ? Object.fromEntries(Object.entries(x)) : typeof x === 'bigint' ? `\u0000int:${x}` : x));
  return (s ?? 'null').replace(/"\\u0000int:(-?\d+)"/g, '$1').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export const builtins: Record<string, Fn> = {
  not: fn(['any'], (a: unknown) => !truthy(a)),
  len: fn(['any'], length),
  index: fn(['any'], index as never, 'any'),
  slice: fn(['any'], slice as never, 'int'),
  print: fn([], ((...a: unknown[]) => sprint(a)) as never, 'any'),
  println: fn([], ((...a: unknown[]) => `${a.map((x) => printValue(x)).join(' ')}\n`) as never, 'any'),
  printf: fn(['string'], sprintf as never, 'any'),
  eq: fn(['any'], ((a: unknown, ...bs: unknown[]) => {
    if (bs.length === 0) throw new Error('missing argument for comparison');
    return bs.some((b) => compare('eq', a, b));
  }) as never, 'any'),
  ne: fn(['any', 'any'], (a: unknown, b: unknown) => compare('ne', a, b)),
  lt: fn(['any', 'any'], (a: unknown, b: unknown) => compare('lt', a, b)),
  le: fn(['any', 'any'], (a: unknown, b: unknown) => compare('le', a, b)),
  gt: fn(['any', 'any'], (a: unknown, b: unknown) => compare('gt', a, b)),
  ge: fn(['any', 'any'], (a: unknown, b: unknown) => compare('ge', a, b)),
  html: fn([], ((...a: unknown[]) => sprint(a).replace(/[<>&'"\0]/g, (c) => HTML[c]!)) as never, 'any'),
  js: fn([], ((...a: unknown[]) => sprint(a).replace(/[\\'"<>&=]/g, (c) => (c === '\\' || c === "'" || c === '"' ? `\\${c}` : `\\u00${c.charCodeAt(0).toString(16).toUpperCase()}`))) as never, 'any'),
  urlquery: fn([], ((...a: unknown[]) => encodeURIComponent(sprint(a)).replace(/%20/g, '+')) as never, 'any'),
  // and/or are special forms in exec.ts; listed so the parser knows them
  and: fn(['any'], () => undefined, 'any'),
  or: fn(['any'], () => undefined, 'any'),
};

/** strings.Title: the first letter of each word upper-cased. */
function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/** docker/cli's template functions. */
export const dockerFuncs: Record<string, Fn> = {
  json: fn(['any'], toJson as never),
  split: fn(['string', 'string'], (s: string, sep: string) => (sep === '' ? [...s] : s.split(sep))),
  join: fn(['strings', 'string'], (a: string[], sep: string) => a.join(sep)),
  title: fn(['string'], title),
  lower: fn(['string'], (s: string) => s.toLowerCase()),
  upper: fn(['string'], (s: string) => s.toUpperCase()),
  pad: fn(['string', 'int', 'int'], (s: string, pre: number, post: number) => (s === '' ? s : ' '.repeat(pre) + s + ' '.repeat(post))),
  truncate: fn(['string', 'int'], (s: string, n: number) => (Buffer.byteLength(s) < n ? s : Buffer.from(s).subarray(0, n).toString())),
};

/** Docker's HeaderFunctions: in a table header these leave the column title as it is. */
export const headerFuncs: Record<string, Fn> = {
  json: fn(['string'], (s: string) => s),
  split: fn(['string', 'string'], (s: string) => s),
  join: fn(['string', 'string'], (s: string) => s),
  title: fn(['string'], (s: string) => s),
  lower: fn(['string'], (s: string) => s),
  upper: fn(['string'], (s: string) => s),
  truncate: fn(['string', 'int'], (s: string) => s),
};
