/**
 * Reading a request's JSON fields as dockerd's types: Go's zero values (what a client sends
 * for a setting it was not given), strings and lists, and the refusal of a field tsdocker
 * does not implement when its value would change what happens.
 */
import { ApiError } from './http.js';

type Obj = Record<string, unknown>;

/** Go's zero value as JSON: what a client sends for a flag it was not given. */
export function isZero(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.every(isZero);
  if (typeof v === 'object') return Object.values(v as Obj).every(isZero);
  return false;
}

/** Zero values that are not Go's zero: the defaults the docker CLI fills in. */
function isDefault(key: string, v: unknown): boolean {
  if (key === 'MemorySwappiness') return v === null || v === -1;
  if (key === 'RestartPolicy') return isZero({ ...(v as Obj), Name: ['', 'no'].includes(String((v as Obj)?.Name ?? '')) ? '' : (v as Obj).Name });
  return isZero(v);
}

export function refuseUnknown(obj: Obj, known: Set<string>, where: string): void {
  for (const [k, v] of Object.entries(obj)) {
    if (known.has(k) || isDefault(k, v)) continue;
    throw new ApiError(400, `${where}.${k} is not supported by tsdocker yet (got ${JSON.stringify(v)}); leave it out`);
  }
}

export function strings(v: unknown, field: string): string[] {
  if (v === null || v === undefined) return [];
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new ApiError(400, `${field} must be a list of strings`);
  return v as string[];
}

export function str(v: unknown, field: string): string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new ApiError(400, `${field} must be a string`);
  return v;
}
