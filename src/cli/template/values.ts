/**
 * How JavaScript values stand for Go values in a template: plain objects are maps
 * (map[string]interface {}), objects tagged with GO_TYPE are structs (a missing field is
 * "can't evaluate field"), functions on a struct are its methods. Printing follows fmt's %v.
 */

export const GO_TYPE = Symbol('goType');

export type Struct = Record<string, unknown> & { [GO_TYPE]: string };

/** Tag `fields` as a Go struct of type `type` (e.g. '*formatter.containerContext'). */
export function struct<T extends Record<string, unknown>>(type: string, fields: T): T & Struct {
  return Object.assign(fields, { [GO_TYPE]: type }) as T & Struct;
}

export function isStruct(v: unknown): v is Struct {
  return typeof v === 'object' && v !== null && GO_TYPE in v;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isStruct(v);
}

export function goTypeName(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (isStruct(v)) return v[GO_TYPE];
  if (typeof v === 'function') return 'func';
  return 'map[string]interface {}';
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

function formatNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  // Go's %v of a float64: shortest repr, exponent as e+21 / e-07
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** fmt.Sprint of a value, as text/template prints an action's result. */
export function printValue(v: unknown, nested = false): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((e) => printValue(e, true)).join(' ')}]`;
  if (isStruct(v)) {
    const vals = Object.entries(v).filter(([, x]) => typeof x !== 'function').map(([, x]) => printValue(x, true));
    return `{${vals.join(' ')}}`;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${printValue(o[k], true)}`).join(' ')}]`;
  }
  void nested;
  return String(v);
}
