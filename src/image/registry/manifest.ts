/**
 * Manifests as a registry serves them: Docker schema 2 manifests and manifest lists, OCI
 * image manifests and indexes (schema 1 is refused: Docker dropped it). Every document
 * is checked against its digest: the one asked for, else the one the registry names in
 * Docker-Content-Digest, and is addressed by the sha256 of its bytes from then on.
 */
import { createHash } from 'node:crypto';
import { TsdError } from '../../sys/errors.js';
import { readBody } from './http.js';
import { registryErrors, type Session } from './client.js';
import type { IndexEntry } from './platform.js';
import { MEDIA } from '../media.js';

const MT = MEDIA;

const ACCEPT = [MT.dockerManifest, MT.dockerList, MT.ociManifest, MT.ociIndex].join(', ');
const LAYER_TYPES: string[] = [MT.dockerLayerGzip, MT.ociLayer, MT.ociLayerGzip, MT.ociLayerZstd, MT.dockerLayerTar];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
}

export type Fetched =
  | { kind: 'index'; mediaType: string; digest: string; bytes: Buffer; manifests: IndexEntry[] }
  | { kind: 'manifest'; mediaType: string; digest: string; bytes: Buffer; config: Descriptor; layers: Descriptor[] };

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function bad(s: Session, why: string): TsdError {
  return new TsdError('REGISTRY', `${s.host}/${s.repository}: ${why}`, { hint: 'the registry sent something tsdocker cannot use as an image' });
}

function descriptor(s: Session, d: unknown, what: string): Descriptor {
  const o = d as Partial<Descriptor> | undefined;
  if (!o || typeof o.digest !== 'string' || !DIGEST.test(o.digest) || typeof o.size !== 'number' || o.size < 0 || typeof o.mediaType !== 'string') {
    throw bad(s, `${what} is not a valid descriptor (sha256 digest, size, media type)`);
  }
  return { mediaType: o.mediaType, digest: o.digest, size: o.size, urls: o.urls };
}

/** GET a manifest or index by tag or digest; `shown` names it in errors (`app:tag`). */
export async function fetchManifest(s: Session, reference: string, shown: string): Promise<Fetched> {
  const r = await s.call('GET', `/v2/${s.repository}/manifests/${reference}`, { headers: { accept: ACCEPT } });
  const bytes = await readBody(r, 4 << 20);
  if (r.status === 404) {
    throw new TsdError('IMAGE_NOT_FOUND', `manifest for ${shown} not found: ${registryErrors(bytes) || 'manifest unknown'}`, {
      hint: 'check the name and tag (tsdocker pull -a NAME fetches every tag)',
    });
  }
  if (r.status !== 200) throw new TsdError('REGISTRY', `${s.host}: manifest for ${shown}: ${r.status} ${registryErrors(bytes)}`, { hint: 'retry later' });
  const digest = sha256(bytes);
  const want = DIGEST.test(reference) ? reference : (r.headers['docker-content-digest'] as string | undefined);
  if (want && want !== digest) throw bad(s, `manifest ${shown} has digest ${digest}, not ${want}: refusing it`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad(s, `manifest ${shown} is not JSON`);
  }
  const ct = String(r.headers['content-type'] ?? '').split(';')[0]!.trim();
  const mediaType = typeof j.mediaType === 'string' ? j.mediaType : ct;
  if (j.schemaVersion === 1 || /prettyjws$|^application\/vnd\.docker\.distribution\.manifest\.v1\+json$/.test(mediaType)) {
    throw bad(s, `${shown} is a schema 1 manifest, which Docker no longer supports`);
  }
  if (mediaType === MT.dockerList || mediaType === MT.ociIndex || (Array.isArray(j.manifests) && !j.config)) {
    const manifests = (Array.isArray(j.manifests) ? j.manifests : []).map((m, i) => ({ ...(m as object), ...descriptor(s, m, `entry ${i + 1} of the index`) }) as IndexEntry);
    return { kind: 'index', mediaType, digest, bytes, manifests };
  }
  if (!Array.isArray(j.layers)) throw bad(s, `manifest ${shown} has no layers`);
  const config = descriptor(s, j.config, 'the config');
  const layers = j.layers.map((l, i) => descriptor(s, l, `layer ${i + 1}`));
  for (const l of layers) {
    if (!LAYER_TYPES.includes(l.mediaType)) throw bad(s, `layer ${l.digest} has media type ${l.mediaType}, which tsdocker cannot unpack`);
  }
  return { kind: 'manifest', mediaType, digest, bytes, config, layers };
}

/** A small blob (the image config) into memory, checked against its digest. */
export async function fetchSmallBlob(s: Session, d: Descriptor): Promise<Buffer> {
  if (d.size > 16 << 20) throw bad(s, `config ${d.digest} is larger than 16 MiB`);
  const r = await s.call('GET', `/v2/${s.repository}/blobs/${d.digest}`);
  const bytes = await readBody(r, 16 << 20);
  if (r.status !== 200) throw new TsdError('REGISTRY', `${s.host}: blob ${d.digest}: ${r.status} ${registryErrors(bytes)}`, { hint: 'the image is incomplete in the registry' });
  if (sha256(bytes) !== d.digest) throw bad(s, `blob ${d.digest} does not match its digest (got ${sha256(bytes)}): refusing it`);
  return bytes;
}
