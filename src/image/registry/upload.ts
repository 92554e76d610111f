/**
 * Putting one blob into a repository, as the distribution API offers it: HEAD first (the
 * registry may have it), then a cross-repository mount from a repository of the same
 * registry known to hold it, then an upload: monolithic (POST, PUT with the bytes) for
 * small blobs, chunked (POST, PATCH with Content-Range per chunk, PUT) for large ones and
 * for archives gzip-compressed on the way, whose digest is known only at the end.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';
import { TsdError } from '../../sys/errors.js';
import { registryErrors, type Session } from './client.js';
import { readBody, type Reply } from './http.js';

export type Outcome = { kind: 'exists' } | { kind: 'mounted'; from: string } | { kind: 'pushed' };

export const chunkSize = (): number => {
  const v = Number(process.env.TSDOCKER_PUSH_CHUNK_SIZE);
  return Number.isSafeInteger(v) && v > 0 ? v : 8 << 20;
};

async function fail(s: Session, what: string, r: Reply): Promise<never> {
  const body = await readBody(r, 1 << 20).catch(() => Buffer.alloc(0));
  throw new TsdError('REGISTRY', `${s.host}/${s.repository}: ${what}: ${r.status} ${registryErrors(body)}`, {
    hint: r.status === 401 || r.status === 403 ? `log in with an account that may push: tsdocker login ${s.domain}` : 'retry the push',
  });
}

function location(s: Session, r: Reply): string {
  const loc = r.headers.location;
  if (!loc) throw new TsdError('REGISTRY', `${s.host}: upload reply without a Location`, { hint: 'the registry is misbehaving' });
  return new URL(loc, s.origin).href;
}

const withDigest = (loc: string, digest: string): string => {
  const u = new URL(loc);
  u.searchParams.set('digest', digest);
  return u.href;
};

export async function blobExists(s: Session, digest: string): Promise<boolean> {
  const r = await s.call('HEAD', `/v2/${s.repository}/blobs/${digest}`);
  r.body.resume();
  if (r.status === 200) return true;
  if (r.status === 404) return false;
  return fail(s, `HEAD blob ${digest}`, r);
}

/** Try a mount from `from` (a repository on the same registry); else the upload location it opened. */
async function startUpload(s: Session, digest: string | undefined, from: string | undefined): Promise<{ mounted: boolean; loc?: string }> {
  const q = digest && from ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}` : '';
  if (from) s.addScope(`repository:${from}:pull`);
  const r = await s.call('POST', `/v2/${s.repository}/blobs/uploads/${q}`, { headers: { 'content-length': '0' } });
  r.body.resume();
  if (r.status === 201 && q) return { mounted: true };
  if (r.status !== 202) return fail(s, 'starting an upload', r);
  return { mounted: false, loc: location(s, r) };
}

async function putMonolithic(s: Session, loc: string, digest: string, bytes: Buffer): Promise<void> {
  const r = await s.call('PUT', withDigest(loc, digest), { body: bytes, headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } });
  if (r.status !== 201) return fail(s, `uploading ${digest}`, r);
  r.body.resume();
}

/** PATCH the chunks of `src` one by one; returns the digest and size of what was sent. */
async function putChunked(s: Session, loc0: string, src: AsyncIterable<Buffer>, onBytes: (n: number) => void): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let loc = loc0;
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const max = chunkSize();
  const flush = async (): Promise<void> => {
    if (pendingLen === 0) return;
    const body = Buffer.concat(pending);
    pending = [];
    pendingLen = 0;
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'content-range': `${offset}-${offset + body.length - 1}` };
    const r = await s.call('PATCH', loc, { body, headers });
    if (r.status !== 202) return fail(s, `uploading a chunk at ${offset}`, r);
    r.body.resume();
    loc = location(s, r);
    offset += body.length;
    onBytes(offset);
  };
  for await (const c of src) {
    hash.update(c);
    for (let at = 0; at < c.length; ) {
      const take = Math.min(max - pendingLen, c.length - at);
      pending.push(c.subarray(at, at + take));
      pendingLen += take;
      at += take;
      if (pendingLen >= max) await flush();
    }
  }
  await flush();
  const digest = `sha256:${hash.digest('hex')}`;
  const r = await s.call('PUT', withDigest(loc, digest), { headers: { 'content-length': '0' } });
  if (r.status !== 201) return fail(s, `finishing the upload of ${digest}`, r);
  r.body.resume();
  return { digest, size: offset };
}

export interface BlobToPush {
  /** known digest and size; undefined when the file is gzip-compressed on the way */
  digest?: string;
  size: number;
  file?: string;
  bytes?: Buffer;
  gzip?: boolean;
  /** repositories on this registry known to hold it */
  mountFrom: string[];
}

/** Put a blob; with `gzip` the digest of the compressed stream is returned too. */
export async function pushBlob(s: Session, b: BlobToPush, onBytes: (n: number) => void): Promise<{ outcome: Outcome; digest: string; size: number }> {
  if (b.digest) {
    if (await blobExists(s, b.digest)) return { outcome: { kind: 'exists' }, digest: b.digest, size: b.size };
    for (const from of b.mountFrom.filter((f) => f !== s.repository)) {
      const m = await startUpload(s, b.digest, from);
      if (m.mounted) return { outcome: { kind: 'mounted', from }, digest: b.digest, size: b.size };
      if (m.loc) return upload(s, b, m.loc, onBytes);
    }
  }
  const { loc } = await startUpload(s, undefined, undefined);
  return upload(s, b, loc!, onBytes);
}

async function upload(s: Session, b: BlobToPush, loc: string, onBytes: (n: number) => void): Promise<{ outcome: Outcome; digest: string; size: number }> {
  if (b.digest && !b.gzip && (b.bytes || b.size <= chunkSize())) {
    const bytes = b.bytes ?? (await readFile(b.file!));
    await putMonolithic(s, loc, b.digest, bytes);
    onBytes(bytes.length);
    return { outcome: { kind: 'pushed' }, digest: b.digest, size: bytes.length };
  }
  const raw = createReadStream(b.file!, { highWaterMark: 1 << 20 });
  const src = (b.gzip ? raw.pipe(createGzip()) : raw) as AsyncIterable<Buffer>;
  const res = await putChunked(s, loc, src, onBytes);
  if (b.digest && !b.gzip && res.digest !== b.digest) {
    throw new TsdError('IMAGE_INVALID', `layer archive ${b.digest} changed on disk (now ${res.digest})`, { hint: 'the image store is damaged; load or pull the image again' });
  }
  return { outcome: { kind: 'pushed' }, ...res };
}
