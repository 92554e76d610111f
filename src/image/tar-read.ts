/**
 * Tar entries, parsed by node-tar's Parser (ustar, GNU long names and base-256 numbers, pax;
 * strict: a bad checksum, a truncated body or a non-tar input is an error), loaded on first use
 * from `tar/parse` so only `load` and `import` pay for it. What it yields is only data:
 * every filesystem decision stays in extract.ts and tar-rules.ts.
 *
 * The Parser is push-based; readTar pulls: it writes the next source chunk into the parser
 * only when the consumer needs bytes it has not got, so the extractor's async work per
 * entry, in order, gives backpressure and no body is buffered beyond one source chunk.
 * Consume each entry's body (or not) before asking for the next entry; an unread body is
 * skipped. Truncated or malformed input throws IMAGE_INVALID.
 */
import { createRequire } from 'node:module';
import type { ReadEntry } from 'tar/read-entry';
import { TsdError } from '../sys/errors.js';

// require, not import(): the bundle runs in a vm.Script, where import() has no loader
const require = createRequire(import.meta.url);

export type TarType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo' | 'other';

export interface TarHeader {
  path: string;
  type: TarType;
  /** node-tar's name of the entry type (or the raw typeflag when unknown), for messages */
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
  /**
   * extended attributes from pax `SCHILY.xattr.<name>` records (file capabilities, user.*);
   * undefined value: the record held bytes that are not UTF-8, which node-tar's pax reader
   * does not keep, so the attribute cannot be restored faithfully
   */
  xattrs?: Record<string, Buffer | undefined>;
}

const XATTR_PREFIX = 'SCHILY.xattr.';
const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');

/**
 * The `SCHILY.xattr.*` records of a pax header. node-tar's Pax keeps only the fields it knows,
 * so they are read from the header's text (its 'meta' event), which node-tar decoded as
 * UTF-8: a value whose bytes did not survive that (or a record it garbled) is `undefined`.
 */
export function paxXattrs(meta: string): Record<string, Buffer | undefined> | undefined {
  const b = Buffer.from(meta, 'utf8');
  const out: Record<string, Buffer | undefined> = {};
  let off = 0;
  while (off < b.length) {
    const sp = b.indexOf(0x20, off);
    const len = sp < 0 ? NaN : parseInt(b.subarray(off, sp).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= sp - off || off + len > b.length || b[off + len - 1] !== 0x0a) {
      if (b.includes(REPLACEMENT) && b.includes(XATTR_PREFIX)) out['(unreadable)'] = undefined;
      break;
    }
    const rec = b.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    const key = eq > 0 ? rec.subarray(0, eq).toString('utf8') : '';
    if (key.startsWith(XATTR_PREFIX) && key.length > XATTR_PREFIX.length) {
      const value = Buffer.from(rec.subarray(eq + 1));
      out[key.slice(XATTR_PREFIX.length)] = value.includes(REPLACEMENT) ? undefined : value;
    }
    off += len;
  }
  return Object.keys(out).length ? out : undefined;
}

export interface TarEntry {
  header: TarHeader;
  /** the body, in chunks; for non-file entries it is empty */
  body(): AsyncGenerator<Buffer>;
}

export interface ByteReader {
  /** the next chunk of input; null at its end */
  next(): Promise<Buffer | null>;
  /** read everything that is left (so a hashing source sees every byte) */
  drain(): Promise<void>;
}

/** pax and GNU long-name records larger than this are refused (node-tar would skip them) */
const META_MAX = 1 << 20;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

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

export function byteReader(src: AsyncIterable<Buffer | Uint8Array>): ByteReader {
  const it = src[Symbol.asyncIterator]();
  let done = false;
  const next = async (): Promise<Buffer | null> => {
    if (done) return null;
    const r = await it.next();
    if (r.done) {
      done = true;
      return null;
    }
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
  };
  return {
    next,
    async drain() {
      while ((await next()) !== null);
    },
  };
}

function parserError(err: unknown, what: string): TsdError {
  const e = err as Error & { tarCode?: string };
  const msg = e.message ?? String(err);
  if (/Truncated input/.test(msg)) return truncated(what);
  if (/Unrecognized archive format/.test(msg)) return malformed(what, 'not a tar archive');
  if (/checksum failure/.test(msg)) return malformed(what, 'header checksum mismatch');
  return malformed(what, msg.replace(/^TAR_[A-Z_]+: /, ''));
}

const TYPES: Record<string, TarType> = {
  File: 'file', OldFile: 'file', ContiguousFile: 'file', Link: 'hardlink', SymbolicLink: 'symlink',
  CharacterDevice: 'char', BlockDevice: 'block', Directory: 'dir', FIFO: 'fifo',
};

function headerOf(e: ReadEntry, xattrs?: Record<string, Buffer | undefined>): TarHeader {
  const type = TYPES[e.type] ?? 'other';
  return {
    path: e.path,
    type,
    typeflag: e.type,
    mode: (e.mode ?? 0) & 0o7777,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    size: type === 'file' || type === 'other' ? e.size : 0,
    mtime: e.mtime ? e.mtime.getTime() / 1000 : 0,
    linkpath: e.linkpath ?? '',
    devmajor: e.header.devmaj ?? 0,
    devminor: e.header.devmin ?? 0,
    ...(xattrs ? { xattrs } : {}),
  };
}

interface Pending {
  entry: ReadEntry;
  chunks: Buffer[];
  ended: boolean;
  ignored: boolean;
  /** from the pax header just before the entry */
  xattrs?: Record<string, Buffer | undefined>;
}

/** Entries of a tar stream; `what` names the archive in errors. */
export async function* readTar(r: ByteReader, what: string): AsyncGenerator<TarEntry> {
  const { Parser } = require('tar/parse') as typeof import('tar/parse');
  const p = new Parser({ strict: true, maxMetaEntrySize: META_MAX, zstd: false, brotli: false });
  const ready: Pending[] = [];
  let failure: TsdError | undefined;
  let finished = false;
  let inputEnded = false;
  let fed = 0;
  let eof = false; // the end-of-archive blocks were seen (what follows them is ignored)
  let head = Buffer.alloc(0); // the first bytes, to spot gzip before node-tar does
  const take = (entry: ReadEntry, ignored: boolean): void => {
    if (ignored && entry.meta) {
      failure ??= malformed(what, 'metadata entry too large');
      return;
    }
    const pe: Pending = { entry, chunks: [], ended: false, ignored, ...(pendingXattrs ? { xattrs: pendingXattrs } : {}) };
    pendingXattrs = undefined;
    if (!ignored) {
      entry.on('data', (c: Buffer) => pe.chunks.push(c));
      entry.on('end', () => (pe.ended = true));
    } else pe.ended = true;
    ready.push(pe);
  };
  // a pax header's text comes as 'meta' just before the entry it describes
  let pendingXattrs: Record<string, Buffer | undefined> | undefined;
  p.on('meta', (m: string) => {
    const x = paxXattrs(m);
    if (x) pendingXattrs = { ...pendingXattrs, ...x };
  });
  p.on('entry', (e: ReadEntry) => take(e, false));
  p.on('ignoredEntry', (e: ReadEntry) => take(e, true));
  let nullBlock = false; // an all-zero header block: where a tar of no entries ends
  p.on('nullBlock', () => (nullBlock = true));
  p.on('error', (err: unknown) => {
    // node-tar calls a tar with no entries (Docker's empty layers: 1024 zero bytes) unrecognized
    if (nullBlock && /Unrecognized archive format/.test((err as Error).message ?? '')) return;
    failure ??= parserError(err, what);
  });
  p.on('end', () => (finished = true));
  p.on('eof', () => (eof = true));

  /** Feed the parser one more chunk; false once everything is parsed. */
  const pump = async (): Promise<boolean> => {
    if (failure) throw failure;
    if (finished) return false;
    if (inputEnded) {
      await new Promise((res) => setImmediate(res)); // let the parser's deferred events run
      if (failure) throw failure;
      return !finished;
    }
    const chunk = await r.next();
    if (chunk) fed += chunk.length;
    if (chunk === null) {
      inputEnded = true;
      if (head.length === 0) return false; // empty input: no entries (the caller says what is missing)
      // node-tar accepts a partial header at the end; a tar is whole 512-byte blocks
      if (fed % 512 !== 0 && !eof) throw truncated(what);
      if (head.length < 2) p.write(head);
      p.end();
    } else if (head.length < 2) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= 2) {
        // node-tar would silently decompress it (again: the source already did once)
        if (head.subarray(0, 2).equals(GZIP_MAGIC)) throw malformed(what, 'a compressed stream inside a compressed stream');
        p.write(head);
      }
    } else {
      p.write(chunk);
    }
    if (failure) throw failure;
    return true;
  };

  for (;;) {
    while (ready.length === 0) if (!(await pump())) return;
    const pe = ready.shift()!;
    const header = headerOf(pe.entry, pe.xattrs);
    const entry: TarEntry = {
      header,
      async *body() {
        for (;;) {
          while (pe.chunks.length) {
            const c = pe.chunks.shift()!;
            if (header.type === 'file' || header.type === 'other') yield c;
          }
          if (pe.ended) return;
          if (!(await pump()) && !pe.ended) throw truncated(what);
        }
      },
    };
    yield entry;
    for await (const _ of entry.body()) void _; // skip what the consumer left unread
  }
}
