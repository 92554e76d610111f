/**
 * Byte sources for archives and layers: a file or stdin, gzip recognised by its magic
 * number and decompressed, every decompressed byte hashed (a layer's diff-id is the
 * sha256 of its uncompressed tar) and counted against the size cap.
 */
import { createHash, type Hash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import { TsdError } from '../sys/errors.js';
import { byteReader, type ByteReader } from './tar-read.js';

export interface Source {
  reader: ByteReader;
  /** sha256 of the decompressed bytes, valid once the reader is drained */
  digest(): string;
  bytes(): number;
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

function gunzip(src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const gz = createGunzip();
  // a consumer that gave up (malformed tar) no longer listens; a late zlib error must not crash us
  gz.on('error', () => undefined);
  pipeline(Readable.from(src), gz, () => {
    /* errors surface through the iteration of gz */
  });
  return gz;
}

async function* counted(src: AsyncIterable<Buffer>, hash: Hash, state: { bytes: number }, max: number, what: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of src) {
      state.bytes += chunk.length;
      if (state.bytes > max) {
        throw new TsdError('IMAGE_INVALID', `${what}: more than ${max} bytes once decompressed`, {
          hint: 'the archive looks like a decompression bomb; raise TSDOCKER_IMAGE_MAX_BYTES if it is genuine',
        });
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

/** Open bytes (a file stream, stdin) as a tar source, decompressing gzip. */
export async function openSource(src: Bytes, what: string, max: number): Promise<Source> {
  const { head, rest } = await peek(src, 4);
  let body: AsyncIterable<Buffer> = rest;
  if (head[0] === 0x1f && head[1] === 0x8b) body = gunzip(rest);
  else if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    throw new TsdError('IMAGE_INVALID', `${what}: zstd-compressed data is not supported`, {
      hint: 'recompress the layers with gzip or save the image uncompressed',
    });
  } else if (head.subarray(0, 3).toString('latin1') === 'BZh' || head.subarray(0, 4).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58]))) {
    throw new TsdError('IMAGE_INVALID', `${what}: bzip2/xz compression is not supported`, {
      hint: 'decompress it first (bunzip2 / unxz) or use gzip',
    });
  }
  const hash = createHash('sha256');
  const state = { bytes: 0 };
  return {
    reader: byteReader(counted(body, hash, state, max, what)),
    digest: () => `sha256:${hash.digest('hex')}`,
    bytes: () => state.bytes,
  };
}
