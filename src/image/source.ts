/**
 * Byte sources for archives and layers: a file or stdin, gzip and zstd recognised by their
 * magic numbers and decompressed (zstd by fzstd, pure JS and streaming, loaded only when a
 * zstd stream appears: Node 20's zlib has no zstd), every decompressed byte hashed (a
 * layer's diff-id is the sha256 of its uncompressed tar) and counted against the size cap,
 * and a compressed stream's expansion against the ratio cap (tar-rules.ts): a bomb stops
 * early, with one line.
 */
import { createHash, type Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable, pipeline } from 'node:stream';
import { TsdError } from '../sys/errors.js';
import { RATIO_FLOOR, type Limits } from './tar-rules.js';
import { byteReader, type ByteReader } from './tar-read.js';

export interface Source {
  reader: ByteReader;
  /** sha256 of the decompressed bytes, valid once the reader is drained */
  digest(): string;
  bytes(): number;
  compression: 'gzip' | 'zstd' | 'none';
}

type Bytes = AsyncIterable<Buffer | Uint8Array>;

async function peek(src: Bytes, n: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = src[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    got.push(b);
    len += b.length;
  }
  const head = Buffer.concat(got);
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (head.length) yield head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      }
    } finally {
      if (!done) await it.return?.(); // abandoned early (an error): close the file
    }
  }
  return { head, rest: rest() };
}

async function* countedIn(src: AsyncIterable<Buffer>, state: { compressed: number }): AsyncGenerator<Buffer> {
  for await (const chunk of src) {
    state.compressed += chunk.length;
    yield chunk;
  }
}

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

// zlib only for a gzipped archive: `run` reaches this module through image/index.ts and must
// not pay for zlib's initialisation
const require = createRequire(import.meta.url);

function gunzip(src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const gz = (require('node:zlib') as typeof import('node:zlib')).createGunzip();
  // a consumer that gave up (malformed tar) no longer listens; a late zlib error must not crash us
  gz.on('error', () => undefined);
  pipeline(Readable.from(src), gz, () => {
    /* errors surface through the iteration of gz */
  });
  return gz;
}

async function* unzstd(src: AsyncIterable<Buffer>, what: string, fzstd: typeof import('fzstd')): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const d = new fzstd.Decompress((chunk) => {
    out.push(Buffer.from(chunk)); // fzstd may reuse its window buffer
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      d.push(chunk, final);
    } catch (err) {
      throw new TsdError('IMAGE_INVALID', `${what}: corrupt zstd data (${(err as Error).message})`, {
        hint: 'the file is incomplete or damaged; copy or save it again',
      });
    }
  };
  for await (const chunk of src) {
    push(chunk, false);
    yield* out.splice(0);
  }
  push(new Uint8Array(0), true);
  yield* out.splice(0);
}

interface Counts {
  bytes: number;
  kind?: 'gzip' | 'zstd';
  /** bytes read before decompression; undefined when the input is not compressed */
  compressed?: number;
}

async function* counted(src: AsyncIterable<Buffer>, hash: Hash, state: Counts, caps: SourceCaps, what: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of src) {
      state.bytes += chunk.length;
      if (state.bytes > caps.maxBytes) {
        throw new TsdError('IMAGE_INVALID', `${what}: more than ${caps.maxBytes} bytes once decompressed`, {
          hint: 'the archive looks like a decompression bomb; raise TSDOCKER_IMAGE_MAX_BYTES if it is genuine',
        });
      }
      if (state.compressed !== undefined && state.bytes > RATIO_FLOOR && state.bytes > caps.maxRatio * state.compressed) {
        throw new TsdError(
          'IMAGE_INVALID',
          `${what}: ${mib(state.compressed)} of ${state.kind} expanded to more than ${mib(state.bytes)}, over ${caps.maxRatio} times`,
          { hint: `the archive looks like a decompression bomb; raise TSDOCKER_IMAGE_MAX_RATIO (now ${caps.maxRatio}) if it is genuine` },
        );
      }
      hash.update(chunk);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof TsdError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && (e.code.startsWith('Z_') || e.code.startsWith('ERR_'))) {
      throw new TsdError('IMAGE_INVALID', `${what}: corrupt compressed data (${e.message})`, {
        hint: 'the file is incomplete or damaged; copy or save it again',
        cause: err,
      });
    }
    throw err;
  }
}

export type SourceCaps = Pick<Limits, 'maxBytes' | 'maxRatio'>;

/** Open bytes (a file stream, stdin) as a tar source, decompressing gzip and zstd. */
export async function openSource(src: Bytes, what: string, caps: SourceCaps): Promise<Source> {
  const { head, rest } = await peek(src, 4);
  let body: AsyncIterable<Buffer> = rest;
  const state: Counts = { bytes: 0 };
  if (head[0] === 0x1f && head[1] === 0x8b) {
    state.compressed = 0;
    state.kind = 'gzip';
    body = gunzip(countedIn(rest, state as { compressed: number }));
  } else if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    state.compressed = 0;
    state.kind = 'zstd';
    body = unzstd(countedIn(rest, state as { compressed: number }), what, await import('fzstd'));
  } else if (head.subarray(0, 3).toString('latin1') === 'BZh' || head.subarray(0, 4).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58]))) {
    throw new TsdError('IMAGE_INVALID', `${what}: bzip2/xz compression is not supported`, {
      hint: 'decompress it first (bunzip2 / unxz) or use gzip',
    });
  }
  const hash = createHash('sha256');
  return {
    reader: byteReader(counted(body, hash, state, caps, what)),
    digest: () => `sha256:${hash.digest('hex')}`,
    bytes: () => state.bytes,
    compression: state.kind ?? 'none',
  };
}
