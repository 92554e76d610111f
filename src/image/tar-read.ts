/**
 * A pull-based tar reader: ustar, GNU (long names `L`/`K`, base-256 numbers) and pax
 * (`x`, `g`) headers. We wrote our own instead of node-tar's Parser because the
 * extractor does async filesystem work per entry, strictly in order, and a pull-based
 * reader gives that with natural backpressure and no buffering of bodies; reading never
 * touches the filesystem. Truncated or malformed input throws IMAGE_INVALID.
 *
 * Consume each entry's body (or not) before asking for the next entry; an unread body is
 * skipped.
 */
import { TsdError } from '../sys/errors.js';

export type TarType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'other';

export interface TarHeader {
  path: string;
  type: TarType;
  /** the raw typeflag character, for messages */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch (may carry a fraction from pax) */
  mtime: number;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** extended attributes from pax `SCHILY.xattr.<name>` records (file capabilities, user.*), raw bytes */
  xattrs?: Record<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  /** the body, in chunks; for non-file entries it is empty */
  body(): AsyncGenerator<Buffer>;
}

export interface ByteReader {
  /** exactly n bytes; null on a clean end of input before the first byte */
  read(n: number): Promise<Buffer | null>;
  chunks(n: number): AsyncGenerator<Buffer>;
  /** read everything that is left (so a hashing source sees every byte) */
  drain(): Promise<void>;
}

const META_MAX = 1 << 20;

export function truncated(what: string): TsdError {
  return new TsdError('IMAGE_INVALID', `${what}: archive is truncated`, {
    hint: 'the file is incomplete; copy or save it again',
  });
}

function malformed(what: string, why: string): TsdError {
  return new TsdError('IMAGE_INVALID', `${what}: malformed tar archive (${why})`, {
    hint: 'the file is not a tar archive, or it is damaged',
  });
}

export function byteReader(src: AsyncIterable<Buffer | Uint8Array>, what: string): ByteReader {
  const it = src[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  async function more(): Promise<boolean> {
    if (done) return false;
    const r = await it.next();
    if (r.done) {
      done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    return true;
  }
  return {
    async read(n) {
      while (buf.length < n) {
        if (!(await more())) {
          if (buf.length === 0) return null;
          throw truncated(what);
        }
      }
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    },
    async *chunks(n) {
      while (n > 0) {
        if (buf.length === 0 && !(await more())) throw truncated(what);
        const take = Math.min(n, buf.length);
        const out = buf.subarray(0, take);
        buf = buf.subarray(take);
        n -= take;
        yield out;
      }
    },
    async drain() {
      buf = Buffer.alloc(0);
      while (await more()) buf = Buffer.alloc(0);
    },
  };
}

function str(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return (nul >= 0 ? s.subarray(0, nul) : s).toString('utf8');
}

function num(b: Buffer, off: number, len: number, what: string): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    // base-256 (GNU): big-endian, first byte's top bit is the marker
    let v = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    if (!Number.isSafeInteger(v)) throw malformed(what, 'number too large');
    return v;
  }
  const s = f.toString('latin1').replace(/[\0 ]+$/g, '').replace(/^[\0 ]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw malformed(what, `bad number field '${s.slice(0, 12)}'`);
  return parseInt(s, 8);
}

function checksumOk(b: Buffer, what: string): boolean {
  const want = num(b, 148, 8, what);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 32 : b[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return want === unsigned || want === signed;
}

function typeOf(flag: string): TarType {
  switch (flag) {
    case '0': case '\0': case '7': case '': return 'file';
    case '1': return 'hardlink';
    case '2': return 'symlink';
    case '3': return 'char';
    case '4': return 'block';
    case '5': return 'dir';
    case '6': return 'fifo';
    default: return 'other';
  }
}

export const XATTR_PREFIX = 'SCHILY.xattr.';

function xattrsOf(attrs: Record<string, string>): Record<string, Buffer> | undefined {
  const keys = Object.keys(attrs).filter((k) => k.startsWith(XATTR_PREFIX) && k.length > XATTR_PREFIX.length);
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((k) => [k.slice(XATTR_PREFIX.length), Buffer.from(attrs[k]!, 'latin1')]));
}

/** pax records: "<len> <key>=<value>\n" */
export function parsePax(body: Buffer, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    if (sp < 0) break;
    const len = parseInt(body.subarray(off, sp).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= sp - off || off + len > body.length) throw malformed(what, 'bad pax record');
    const raw = body.subarray(sp + 1, off + len - 1);
    const eq = raw.indexOf(0x3d);
    if (eq > 0) {
      const key = raw.subarray(0, eq).toString('utf8');
      // an xattr value is bytes (security.capability is binary): kept one byte per char
      out[key] = raw.subarray(eq + 1).toString(key.startsWith(XATTR_PREFIX) ? 'latin1' : 'utf8');
    }
    off += len;
  }
  return out;
}

async function readAll(r: ByteReader, size: number, what: string): Promise<Buffer> {
  if (size > META_MAX) throw malformed(what, 'metadata entry too large');
  const b = (await r.read(size)) ?? Buffer.alloc(0);
  if (b.length < size) throw truncated(what);
  return Buffer.from(b);
}

const pad = (n: number): number => (512 - (n % 512)) % 512;

/** Entries of a tar stream; `what` names the archive in errors. */
export async function* readTar(r: ByteReader, what: string): AsyncGenerator<TarEntry> {
  let global: Record<string, string> = {};
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await r.read(512);
    if (block === null) return; // end of input at a header boundary: accepted, as Go and GNU tar do
    if (block.every((c) => c === 0)) return;
    if (!checksumOk(block, what)) throw malformed(what, 'header checksum mismatch');
    const typeflag = String.fromCharCode(block[156]!);
    let size = num(block, 124, 12, what);
    const magic = block.subarray(257, 263).toString('latin1');
    if (['x', 'g', 'L', 'K'].includes(typeflag)) {
      const body = await readAll(r, size, what);
      await r.read(pad(size));
      if (typeflag === 'x') pax = { ...pax, ...parsePax(body, what) };
      else if (typeflag === 'g') global = { ...global, ...parsePax(body, what) };
      else if (typeflag === 'L') longName = str(body, 0, body.length);
      else longLink = str(body, 0, body.length);
      continue;
    }
    const attrs = { ...global, ...pax };
    let path = str(block, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = str(block, 345, 155);
      if (prefix) path = `${prefix}/${path}`;
    }
    if (longName !== undefined) path = longName;
    if (attrs.path !== undefined) path = attrs.path;
    let linkpath = longLink ?? str(block, 157, 100);
    if (attrs.linkpath !== undefined) linkpath = attrs.linkpath;
    const paxNum = (key: string, fallback: number): number => {
      const v = attrs[key];
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw malformed(what, `bad pax ${key}`);
      return n;
    };
    size = paxNum('size', size);
    if (!Number.isSafeInteger(size)) throw malformed(what, 'bad size');
    const type = typeOf(typeflag);
    const header: TarHeader = {
      path,
      type,
      typeflag,
      mode: num(block, 100, 8, what) & 0o7777,
      uid: paxNum('uid', num(block, 108, 8, what)),
      gid: paxNum('gid', num(block, 116, 8, what)),
      size: type === 'file' || type === 'other' ? size : 0,
      mtime: paxNum('mtime', num(block, 136, 12, what)),
      linkpath,
      devmajor: num(block, 329, 8, what),
      devminor: num(block, 337, 8, what),
    };
    const xattrs = xattrsOf(attrs);
    if (xattrs) header.xattrs = xattrs;
    pax = {};
    longName = undefined;
    longLink = undefined;
    // bodies of links, dirs and devices are ignored but must be skipped when present
    const bodySize = size;
    let consumed = 0;
    const entry: TarEntry = {
      header,
      async *body() {
        if (type !== 'file' && type !== 'other') return;
        for await (const c of r.chunks(bodySize - consumed)) {
          consumed += c.length;
          yield c;
        }
      },
    };
    yield entry;
    if (consumed < bodySize) for await (const c of r.chunks(bodySize - consumed)) consumed += c.length;
    await r.read(pad(bodySize)).then((b) => {
      if (b === null && pad(bodySize) > 0) throw truncated(what);
    });
  }
}
