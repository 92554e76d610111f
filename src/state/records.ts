/**
 * Checking records when they are read. A record on disk may be garbage (a full disk, a
 * crash of another tool, a hand edit): each record type has a small schema, checked on
 * every read, so a bad file is a `CorruptRecord` error naming the file, never a crash
 * deep inside a command that trusted it. Listings skip such a record and say so once.
 *
 * Hand-written rather than a schema library: a record is checked on the start path
 * (config.json, state.json), and a handful of typeof tests cost nothing measurable.
 */
import { corruptRecord, isCorruptRecord, type TsdError } from '../sys/errors.js';
import { readJsonIfExists, readJsonIfExistsSync } from '../sys/fs.js';
import { log } from '../sys/log.js';

/** A field's expected kind: a typeof name, 'array', 'strings' (string[]), 'object'; '?' suffix = optional. */
export type FieldKind = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'strings';
export type Schema = Record<string, FieldKind | `${FieldKind}?`>;

function kindOk(v: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'array':
      return Array.isArray(v);
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return typeof v === kind;
  }
}

type Field = [name: string, kind: FieldKind, optional: boolean];
const compiled = new WeakMap<Schema, Field[]>();

/** A schema's fields, parsed once (a listing checks hundreds of records against the same few). */
function fieldsOf(schema: Schema): Field[] {
  let fields = compiled.get(schema);
  if (!fields) {
    fields = Object.entries(schema).map(([name, spec]): Field => (spec.endsWith('?') ? [name, spec.slice(0, -1) as FieldKind, true] : [name, spec as FieldKind, false]));
    compiled.set(schema, fields);
  }
  return fields;
}

/** What is wrong with `value` against `schema`, or undefined when it fits. */
export function schemaProblem(value: unknown, schema: Schema): string | undefined {
  if (!kindOk(value, 'object')) return `not a JSON object`;
  const rec = value as Record<string, unknown>;
  for (const [field, kind, optional] of fieldsOf(schema)) {
    const v = rec[field];
    if (v === undefined || (optional && v === null)) {
      if (!optional) return `field "${field}" is missing`;
      continue;
    }
    if (!kindOk(v, kind)) return `field "${field}" is not ${kind === 'strings' ? 'a list of strings' : `a${/^[aeiou]/.test(kind) ? 'n' : ''} ${kind}`}`;
  }
  return undefined;
}

export { corruptRecord, isCorruptRecord };

/** Check `value` (already parsed from `path`) against `schema`; throws CorruptRecord. */
export function checkRecord<T>(path: string, value: unknown, schema: Schema, extra?: (v: T) => string | undefined): T {
  const why = schemaProblem(value, schema) ?? extra?.(value as T);
  if (why) throw corruptRecord(path, why);
  return value as T;
}

/** The container records (types in containers.ts). */
export const containerSchemas: Record<'config' | 'state' | 'exit', Schema> = {
  config: {
    id: 'string', name: 'string', created: 'string', image: 'object', path: 'string', args: 'strings', env: 'strings',
    workingDir: 'string', user: 'string', hostname: 'string', tty: 'boolean', interactive: 'boolean', autoRemove: 'boolean',
    entrypoint: 'strings?', cmd: 'strings?', network: 'object', resources: 'object', labels: 'object?', stopSignal: 'string?', stopTimeout: 'number?', restartPolicy: 'object?', healthcheck: 'object?',
  },
  state: {
    monitorPid: 'number', monitorStartTime: 'number', pid: 'number', pidStartTime: 'number', startedAt: 'string',
    network: 'object?', cleanedUp: 'boolean?',
  },
  exit: { exitCode: 'number', signal: 'number?', finishedAt: 'string', oomKilled: 'boolean?' },
};

/** Read and check a record; undefined when the file does not exist; throws CorruptRecord. */
export async function readRecord<T>(path: string, schema: Schema, extra?: (v: T) => string | undefined): Promise<T | undefined> {
  const raw = await readJsonIfExists<unknown>(path);
  return raw === undefined ? undefined : checkRecord<T>(path, raw, schema, extra);
}

export function readRecordSync<T>(path: string, schema: Schema, extra?: (v: T) => string | undefined): T | undefined {
  const raw = readJsonIfExistsSync<unknown>(path);
  return raw === undefined ? undefined : checkRecord<T>(path, raw, schema, extra);
}

const reported = new Set<string>();

/** Say once per command (one plain line on stderr) that a record was skipped. */
export function reportSkipped(err: TsdError): void {
  if (reported.has(err.message)) return;
  reported.add(err.message);
  log.warn(`skipping ${err.message}`);
}
