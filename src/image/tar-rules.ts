/**
 * The pure rules for untrusted layer entries (no filesystem here, so they are unit-tested):
 * which names are accepted and what they become, what a whiteout is, and the caps that
 * stop a decompression bomb. CVE-2014-9356/9358 (traversal through names and links) and
 * CVE-2017-14992 (bombs) are the reasons; see shared/reference/performance-security.md §4.
 */
import { TsdError } from '../sys/errors.js';

export const OPAQUE_MARKER = '.wh..wh..opq';
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface Limits {
  /** uncompressed bytes per tar stream */
  maxBytes: number;
  /** decompressed bytes per compressed byte of a gzip stream, once past RATIO_FLOOR */
  maxRatio: number;
  /** entries per tar stream */
  maxEntries: number;
  /** path components */
  maxDepth: number;
}

function envNum(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isSafeInteger(v) && v > 0 ? v : fallback;
}

/**
 * A gzip stream may expand any amount up to this many bytes (small layers of zeros or text
 * are legitimately tiny); past it, at most maxRatio times what was read.
 */
export const RATIO_FLOOR = 64 << 20;

/**
 * Caps against decompression bombs (CVE-2017-14992): 16 GiB per tar stream (a layer or an
 * archive), 100 times expansion of a gzip stream past 64 MiB (real layers expand 2-10
 * times; 3 MiB of gzip can hold 1 GiB of zeros), 2 million entries. TSDOCKER_IMAGE_MAX_BYTES,
 * TSDOCKER_IMAGE_MAX_RATIO and TSDOCKER_IMAGE_MAX_ENTRIES override them.
 */
export function limits(): Limits {
  return {
    maxBytes: envNum('TSDOCKER_IMAGE_MAX_BYTES', 16 * 1024 ** 3),
    maxRatio: envNum('TSDOCKER_IMAGE_MAX_RATIO', 100),
    maxEntries: envNum('TSDOCKER_IMAGE_MAX_ENTRIES', 2_000_000),
    maxDepth: 256,
  };
}

export function unsafe(what: string, entry: string, why: string): TsdError {
  return new TsdError('IMAGE_INVALID', `${what}: refusing entry '${entry.slice(0, 200)}': ${why}`, {
    hint: 'the archive tries to write outside its layer or is malformed; do not trust its source',
  });
}

/**
 * The path components of an entry name, relative to the layer root. A leading `/` is
 * contained (stripped, as tar does); `.` and empty components are dropped; `..` is
 * resolved lexically and refused when it would leave the root. [] is the root itself.
 */
export function entryComponents(name: string, what = 'layer', maxDepth = 256): string[] {
  if (name.includes('\0')) throw unsafe(what, name, 'NUL byte in name');
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw unsafe(what, name, "'..' leaves the layer root");
      out.pop();
      continue;
    }
    if (Buffer.byteLength(part) > 255) throw unsafe(what, name, 'name component longer than 255 bytes');
    out.push(part);
  }
  if (out.length > maxDepth) throw unsafe(what, name, `deeper than ${maxDepth} directories`);
  return out;
}

/** Linux PATH_MAX: a path given to a system call fits in 4096 bytes with its NUL. */
export const PATH_MAX = 4096;

/**
 * Refuse an entry whose path, once stored under `abs`'s prefix (the layer directory), the
 * kernel would refuse with ENAMETOOLONG; `role` names what the path is in the message.
 */
export function checkStoredLength(what: string, entry: string, abs: string, role = 'path'): void {
  if (Buffer.byteLength(abs) >= PATH_MAX) throw unsafe(what, entry, `${role} longer than ${PATH_MAX - 1} bytes once stored`);
}

export type Whiteout =
  | { kind: 'none' }
  /** `.wh..wh..opq`: the parent directory hides everything below it in lower layers */
  | { kind: 'opaque' }
  /** `.wh.NAME`: NAME is deleted; becomes a 0:0 character device NAME */
  | { kind: 'file'; name: string }
  /** other `.wh..wh.*` names (aufs bookkeeping): dropped */
  | { kind: 'meta' };

export function classifyWhiteout(base: string): Whiteout {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return { kind: 'meta' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') return { kind: 'meta' };
  return { kind: 'file', name };
}

/** Mode bits kept on extracted entries: permissions plus setuid, setgid and sticky. */
export function keptMode(mode: number): number {
  return mode & 0o7777;
}
