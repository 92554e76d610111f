/**
 * -v, --mount, --tmpfs and image VOLUMEs as mount requests (Docker's grammar and rules),
 * validated without side effects. Targets are container paths: they are normalized here
 * and resolved inside the rootfs by the monitor (never through a symlink out of it).
 *   -v /host:/ctr[:opts]   bind (a missing host directory is created, as Docker does)
 *   -v name:/ctr[:opts]    named volume (created on first use, image content copied in)
 *   -v /ctr                anonymous volume
 *   --mount type=bind|volume|tmpfs,source=,target=,readonly,...  (a missing bind source is refused)
 *   --tmpfs /ctr[:opts]
 */
import { statSync } from 'node:fs';
import { isAbsolute, posix, resolve } from 'node:path';
import { TsdError } from '../sys/errors.js';
import { isVolumeName, validateVolumeName } from '../state/volumes.js';
import { MS } from './mounts.js';

export type MountRequest =
  | { kind: 'bind'; source: string; target: string; readonly: boolean; createSource: boolean; recursive: boolean }
  | { kind: 'volume'; name?: string; target: string; readonly: boolean; nocopy: boolean; labels?: Record<string, string> }
  | { kind: 'tmpfs'; target: string; flags: number; data: string };

function bad(msg: string, hint?: string): TsdError {
  return new TsdError('BAD_ARGS', msg, { hint });
}

export function normalizeTarget(target: string, spec: string): string {
  if (!target || !target.startsWith('/')) throw bad(`invalid mount config "${spec}": the mount target must be an absolute container path`);
  const t = posix.normalize(target).replace(/\/+$/, '');
  if (t === '' || t === '/') throw bad(`invalid mount config "${spec}": the mount target can't be "/"`);
  return t;
}

const PROPAGATION = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);

function checkPropagation(p: string, spec: string): void {
  if (p !== 'private' && p !== 'rprivate') {
    throw bad(`bind propagation "${p}" in "${spec}" is not supported by tsdocker`, 'volumes are mounted rprivate; leave the propagation option out');
  }
}

/** -v / --volume */
export function parseVolumeFlag(spec: string, cwd = process.cwd()): MountRequest {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw bad(`invalid volume specification: "${spec}"`, 'expected [SOURCE:]TARGET[:OPTIONS]');
  const isMode = (s: string) => s.split(',').every((o) => ['ro', 'rw', 'z', 'Z', 'nocopy', 'consistent', 'cached', 'delegated'].includes(o) || PROPAGATION.has(o));
  let source: string | undefined;
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2 && isMode(parts[1]!) && parts[0]!.startsWith('/') && !parts[1]!.startsWith('/')) {
    [target, mode] = parts as [string, string];
  } else [source, target, mode = ''] = parts as [string, string, string?];
  const opts = mode ? mode.split(',') : [];
  if (mode && !isMode(mode)) throw bad(`invalid mode "${mode}" in volume specification "${spec}"`, 'options are ro, rw, nocopy, z, Z');
  if (opts.includes('ro') && opts.includes('rw')) throw bad(`invalid mode "${mode}": ro and rw conflict`);
  for (const o of opts) if (PROPAGATION.has(o)) checkPropagation(o, spec);
  const readonly = opts.includes('ro');
  target = normalizeTarget(target, spec);
  if (source === undefined) return { kind: 'volume', target, readonly, nocopy: opts.includes('nocopy') };
  if (source.startsWith('/') || source.startsWith('./') || source.startsWith('../') || source === '.' || source === '..') {
    if (opts.includes('nocopy')) throw bad(`invalid mode "nocopy" for a bind mount in "${spec}"`);
    return { kind: 'bind', source: resolve(cwd, source), target, readonly, createSource: true, recursive: true };
  }
  validateVolumeName(source);
  return { kind: 'volume', name: source, target, readonly, nocopy: opts.includes('nocopy') };
}

function parseBoolOpt(key: string, value: string | undefined, spec: string): boolean {
  if (value === undefined || /^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw bad(`invalid value for ${key} in "${spec}": "${value}"`);
}

/** tmpfs mount options (Docker's --tmpfs grammar) into MS_* flags and data; defaults nosuid,nodev,noexec. */
export function tmpfsOptions(opts: string[], spec: string): { flags: number; data: string } {
  let flags: number = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const data: string[] = [];
  const toggles: Record<string, [number, boolean]> = {
    ro: [MS.RDONLY, true], rw: [MS.RDONLY, false], noexec: [MS.NOEXEC, true], exec: [MS.NOEXEC, false],
    nosuid: [MS.NOSUID, true], suid: [MS.NOSUID, false], nodev: [MS.NODEV, true], dev: [MS.NODEV, false],
    noatime: [MS.NOATIME, true], strictatime: [MS.STRICTATIME, true], relatime: [MS.RELATIME, true],
  };
  for (const o of opts.filter(Boolean)) {
    const t = toggles[o];
    if (t) {
      flags = t[1] ? flags | t[0] : flags & ~t[0];
      continue;
    }
    const [k, v] = o.split('=', 2) as [string, string | undefined];
    if (k === 'size' && v !== undefined) {
      const m = /^(\d+)([kmg%]?)$/i.exec(v);
      if (!m) throw bad(`invalid tmpfs size "${v}" in "${spec}"`, 'e.g. size=64m');
      data.push(`size=${v}`);
    } else if (k === 'mode' && v !== undefined && /^[0-7]{1,4}$/.test(v)) data.push(`mode=${v}`);
    else if ((k === 'uid' || k === 'gid' || k === 'nr_inodes') && v !== undefined && /^\d+[kmg]?$/.test(v)) data.push(`${k}=${v}`);
    else throw bad(`invalid tmpfs option "${o}" in "${spec}"`, 'options: size=, mode=, uid=, gid=, nr_inodes=, ro, rw, exec, noexec, suid, nosuid, dev, nodev');
  }
  return { flags, data: data.join(',') };
}

/** --tmpfs /ctr[:opts] */
export function parseTmpfsFlag(spec: string): MountRequest {
  const i = spec.indexOf(':');
  const target = normalizeTarget(i < 0 ? spec : spec.slice(0, i), spec);
  return { kind: 'tmpfs', target, ...tmpfsOptions(i < 0 ? [] : spec.slice(i + 1).split(','), spec) };
}

/** --mount key=value,... */
export function parseMountFlag(spec: string, cwd = process.cwd()): MountRequest {
  const f: Record<string, string | undefined> = {};
  for (const field of spec.split(',')) {
    if (!field) continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    f[key] = eq < 0 ? undefined : field.slice(eq + 1);
  }
  const type = f.type ?? 'volume';
  const source = f.source ?? f.src;
  const rawTarget = f.target ?? f.destination ?? f.dst;
  const known = new Set(['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', 'consistency', 'bind-propagation',
    'bind-nonrecursive', 'bind-recursive', 'volume-nocopy', 'volume-driver', 'volume-label', 'tmpfs-size', 'tmpfs-mode']);
  for (const k of Object.keys(f)) if (!known.has(k)) throw bad(`unexpected key '${k}' in '${spec}'`);
  if (rawTarget === undefined) throw bad(`invalid mount config "${spec}": target is required`);
  const target = normalizeTarget(rawTarget, spec);
  const readonly = 'readonly' in f ? parseBoolOpt('readonly', f.readonly, spec) : 'ro' in f ? parseBoolOpt('ro', f.ro, spec) : false;
  const onlyFor = (prefix: string) => {
    for (const k of Object.keys(f)) if (/^(bind|volume|tmpfs)-/.test(k) && !k.startsWith(prefix)) throw bad(`invalid mount config "${spec}": ${k} cannot be used with type=${type}`);
  };
  if (type === 'bind') {
    onlyFor('bind-');
    if (!source) throw bad(`invalid mount config for type "bind": field Source must not be empty`);
    if (f['bind-propagation']) checkPropagation(f['bind-propagation'], spec);
    const abs = resolve(cwd, source);
    if (!isAbsolute(source) && !source.startsWith('.')) throw bad(`invalid mount config for type "bind": invalid source "${source}"`, 'give an absolute host path');
    try {
      statSync(abs);
    } catch {
      throw bad(`invalid mount config for type "bind": bind source path does not exist: ${abs}`, 'create it first, or use -v, which creates a missing host directory');
    }
    const nonrec = 'bind-nonrecursive' in f ? parseBoolOpt('bind-nonrecursive', f['bind-nonrecursive'], spec) : false;
    return { kind: 'bind', source: abs, target, readonly, createSource: false, recursive: !nonrec };
  }
  if (type === 'volume') {
    onlyFor('volume-');
    if (f['volume-driver'] && f['volume-driver'] !== 'local') throw bad(`volume driver "${f['volume-driver']}" is not supported`, 'tsdocker has the local driver only');
    if (source !== undefined && source !== '' && !isVolumeName(source)) validateVolumeName(source);
    const nocopy = 'volume-nocopy' in f ? parseBoolOpt('volume-nocopy', f['volume-nocopy'], spec) : false;
    const labels = volumeLabels(spec);
    return { kind: 'volume', name: source || undefined, target, readonly, nocopy, ...(labels ? { labels } : {}) };
  }
  if (type === 'tmpfs') {
    onlyFor('tmpfs-');
    if (source) throw bad(`invalid mount config for type "tmpfs": source is not allowed`);
    const opts: string[] = [];
    if (f['tmpfs-size'] !== undefined) opts.push(`size=${tmpfsSize(f['tmpfs-size'], spec)}`);
    if (f['tmpfs-mode'] !== undefined) opts.push(`mode=${f['tmpfs-mode']}`);
    if (readonly) opts.push('ro');
    return { kind: 'tmpfs', target, ...tmpfsOptions(opts, spec) };
  }
  throw bad(`invalid mount type "${type}" in "${spec}"`, 'types are bind, volume and tmpfs');
}

/** every volume-label=KEY=VALUE of a --mount (repeatable, so read from the spec itself) */
function volumeLabels(spec: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  for (const field of spec.split(',')) {
    const m = /^volume-label=([^=]+)(?:=(.*))?$/i.exec(field.trim());
    if (m) labels[m[1]!] = m[2] ?? '';
  }
  return Object.keys(labels).length ? labels : undefined;
}

/** --mount tmpfs-size takes bytes or a size with a unit (64m). */
function tmpfsSize(v: string, spec: string): string {
  const m = /^(\d+)([kmg])?b?$/i.exec(v.trim());
  if (!m) throw bad(`invalid tmpfs-size "${v}" in "${spec}"`, 'e.g. tmpfs-size=64m');
  return `${m[1]}${(m[2] ?? '').toLowerCase()}`;
}

export interface MountFlags {
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
}

/** Every mount of the container, in order: user mounts, then image VOLUMEs not covered by them (anonymous). */
export function planMounts(flags: MountFlags, imageVolumes: Record<string, object> = {}, cwd = process.cwd()): MountRequest[] {
  const reqs = [
    ...(flags.volume ?? []).map((s) => parseVolumeFlag(s, cwd)),
    ...(flags.mount ?? []).map((s) => parseMountFlag(s, cwd)),
    ...(flags.tmpfs ?? []).map((s) => parseTmpfsFlag(s)),
  ];
  const seen = new Set<string>();
  for (const r of reqs) {
    if (seen.has(r.target)) throw bad(`Duplicate mount point: ${r.target}`, 'give each mount its own target');
    seen.add(r.target);
  }
  for (const path of Object.keys(imageVolumes).sort()) {
    const target = normalizeTarget(path, `image VOLUME ${path}`);
    if (!seen.has(target)) {
      seen.add(target);
      reqs.push({ kind: 'volume', target, readonly: false, nocopy: false });
    }
  }
  return reqs;
}
