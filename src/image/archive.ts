/**
 * Stage an outer image archive (docker save, OCI layout) into a temp dir: each regular
 * file is written under a generated name (f0, f1, ...) with its sha256, so names from the
 * archive are only ever map keys, never filesystem paths. Symlinks and hard links between
 * archive members (old docker save links repeated layers) are resolved inside the archive.
 */
import { promises as fsp, constants as C } from 'node:fs';
import { createHash } from 'node:crypto';
import { posix, join } from 'node:path';
import { TsdError } from '../sys/errors.js';
import { readTar, type ByteReader } from './tar-read.js';

export interface StagedFile {
  file: string;
  sha256: string;
  size: number;
}

export interface Staged {
  files: Map<string, StagedFile>;
  what: string;
}

const JSON_MAX = 16 << 20;

export function invalid(what: string, why: string): TsdError {
  return new TsdError('IMAGE_INVALID', `${what}: ${why}`, {
    hint: 'load takes a `docker save` archive or an OCI image layout tar; import takes a root filesystem tar',
  });
}

/** Archive member name as a key: no leading ./ or /, `..` resolved within the root; undefined for the root. */
export function memberKey(name: string): string | undefined {
  const n = posix.normalize('/' + name).slice(1).replace(/\/$/, '');
  return n === '' ? undefined : n;
}

export async function stageArchive(r: ByteReader, dir: string, what: string, maxEntries: number): Promise<Staged> {
  const files = new Map<string, StagedFile>();
  const links = new Map<string, string>();
  let n = 0;
  for await (const e of readTar(r, what)) {
    if (++n > maxEntries) throw invalid(what, `more than ${maxEntries} entries`);
    const key = memberKey(e.header.path);
    if (key === undefined) continue;
    const h = e.header;
    if (h.type === 'file') {
      const file = join(dir, `f${n}`);
      const hash = createHash('sha256');
      const fh = await fsp.open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of e.body()) {
          hash.update(chunk);
          await fh.write(chunk);
        }
      } finally {
        await fh.close();
      }
      files.set(key, { file, sha256: hash.digest('hex'), size: h.size });
      links.delete(key);
    } else if (h.type === 'symlink') {
      const target = h.linkpath.startsWith('/') ? memberKey(h.linkpath) : memberKey(posix.join(posix.dirname(key), h.linkpath));
      if (target !== undefined) links.set(key, target);
    } else if (h.type === 'hardlink') {
      const target = memberKey(h.linkpath);
      if (target !== undefined) links.set(key, target);
    }
  }
  await r.drain();
  for (const [key] of links) {
    let t: string | undefined = key;
    for (let hops = 0; t !== undefined && hops < 16 && !files.has(t); hops++) t = links.get(t);
    const f = t === undefined ? undefined : files.get(t);
    if (f && !files.has(key)) files.set(key, f);
  }
  return { files, what };
}

export function member(st: Staged, name: string): StagedFile {
  const key = memberKey(name);
  const f = key === undefined ? undefined : st.files.get(key);
  if (!f) throw invalid(st.what, `'${name}' is missing from the archive`);
  const blob = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(key!);
  if (blob && blob[1] !== f.sha256) {
    throw new TsdError('IMAGE_INVALID', `${st.what}: blob ${blob[1]} does not match its digest (content is sha256:${f.sha256})`, {
      hint: 'the archive is corrupt or was tampered with; do not trust its source',
    });
  }
  return f;
}

export function hasMember(st: Staged, name: string): boolean {
  const key = memberKey(name);
  return key !== undefined && st.files.has(key);
}

export async function readMemberJson<T>(st: Staged, name: string): Promise<{ value: T; bytes: Buffer; sha256: string }> {
  const f = member(st, name);
  if (f.size > JSON_MAX) throw invalid(st.what, `'${name}' is too large for a JSON document`);
  const bytes = await fsp.readFile(f.file);
  const text = bytes.toString('utf8');
  // JSON.parse takes any depth, but JSON.stringify (records, inspect) recurses: a config
  // nested 100,000 deep would overflow the stack far from here
  if (jsonDepthExceeds(text, JSON_MAX_DEPTH)) throw invalid(st.what, `'${name}' nests deeper than ${JSON_MAX_DEPTH} levels`);
  try {
    return { value: JSON.parse(text) as T, bytes, sha256: f.sha256 };
  } catch {
    throw invalid(st.what, `'${name}' is not valid JSON`);
  }
}

/** Go's encoding/json stops at 10000; no image document comes near 100. */
export const JSON_MAX_DEPTH = 1000;

/** Does JSON text nest arrays and objects deeper than `max`? (brackets inside strings do not count) */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
