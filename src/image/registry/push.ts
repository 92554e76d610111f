/**
 * `push`: every layer blob (the archive kept at load or pull; an uncompressed one is
 * gzip-compressed on the way, as Docker pushes), the config (its exact bytes), then the
 * manifest last, so the registry never names a tag whose content it lacks. A Docker
 * schema 2 manifest, as Docker pushes, unless a layer is zstd (which schema 2 cannot
 * name): then an OCI manifest. Layer media types follow the manifest's family.
 */
import { TsdError } from '../../sys/errors.js';
import { withLock } from '../../state/lock.js';
import type { RemoteRef } from '../reference.js';
import { addLayerSource, hexOf, layerBlobPath, layerMeta, readRawConfig, readRecord, writeRecord, type LayerBlob } from '../store.js';
import { resolveImage } from '../ops.js';
import { MEDIA } from '../media.js';
import { openSession, registryErrors, type Session } from './client.js';
import { readBody } from './http.js';
import { sha256 } from './manifest.js';
import { pushBlob, type Outcome } from './upload.js';
import type { ProgressEvents as PushEvents } from './pull.js';

const CONCURRENCY = 3;
const TO_OCI: Record<string, string> = { [MEDIA.dockerLayerGzip]: MEDIA.ociLayerGzip, [MEDIA.dockerLayerTar]: MEDIA.ociLayer };
const TO_DOCKER: Record<string, string> = { [MEDIA.ociLayerGzip]: MEDIA.dockerLayerGzip, [MEDIA.ociLayer]: MEDIA.dockerLayerTar };

function describe(o: Outcome): string {
  return o.kind === 'exists' ? 'Layer already exists' : o.kind === 'mounted' ? `Mounted from ${o.from}` : 'Pushed';
}

async function pushLayer(s: Session, diffId: string, ev: PushEvents): Promise<LayerBlob> {
  const hex = hexOf(diffId);
  const id = hex.slice(0, 12);
  const meta = await layerMeta(hex);
  if (!meta?.blob) {
    throw new TsdError('IMAGE_INVALID', `layer ${diffId} has no kept archive (stored by an older tsdocker)`, {
      hint: 'load or pull the image again, then push it',
    });
  }
  const gzip = meta.blob.mediaType === MEDIA.dockerLayerTar || meta.blob.mediaType === MEDIA.ociLayer;
  const known = gzip ? meta.gzipped : meta.blob;
  const prefix = `${s.domain}/`;
  const mountFrom = (meta.sources ?? []).filter((x) => x.startsWith(prefix)).map((x) => x.slice(prefix.length)).reverse();
  const total = known?.size ?? meta.blob.size;
  const res = await pushBlob(
    s,
    { digest: known?.digest, size: total, file: layerBlobPath(hex), gzip, mountFrom },
    (n) => ev.layer(id, 'Pushing', n, Math.max(n, total)),
  );
  const sent: LayerBlob = gzip ? { digest: res.digest, size: res.size, mediaType: MEDIA.dockerLayerGzip } : meta.blob;
  ev.layer(id, describe(res.outcome));
  await addLayerSource(hex, `${s.domain}/${s.repository}`, gzip ? sent : undefined);
  return sent;
}

export async function pushImage(ref: RemoteRef, ev: PushEvents): Promise<{ digest: string; size: number }> {
  if (ref.digest || !ref.full) throw new TsdError('BAD_ARGS', `cannot push a digest reference (${ref.canonical})`, { hint: 'push NAME[:TAG]' });
  const img = await resolveImage(ref.full);
  const hex = hexOf(img.id);
  const rec = await readRecord(hex);
  let config = await readRawConfig(hex);
  if (!config && rec && sha256(Buffer.from(JSON.stringify(rec.config))) === img.id) config = Buffer.from(JSON.stringify(rec.config));
  if (!config || !rec) {
    throw new TsdError('IMAGE_INVALID', `image ${ref.full} has no exact config bytes in the store (stored by an older tsdocker)`, { hint: 'load or pull it again, then push' });
  }
  const s = await openSession(ref.domain, ref.repository, { push: true });
  ev.line(`The push refers to repository [${ref.domain}/${ref.repository}]`);
  const distinct = [...new Set(rec.diffIds)];
  for (const d of [...distinct].reverse()) ev.layer(hexOf(d).slice(0, 12), 'Preparing');
  for (const d of distinct.slice(0, -CONCURRENCY)) ev.layer(hexOf(d).slice(0, 12), 'Waiting');
  const sent = new Map<string, LayerBlob>();
  const queue = [...distinct];
  const worker = async (): Promise<void> => {
    for (let d = queue.shift(); d !== undefined; d = queue.shift()) sent.set(d, await pushLayer(s, d, ev));
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  const layers = rec.diffIds.map((d) => sent.get(d)!);
  const oci = layers.some((l) => l.mediaType === MEDIA.ociLayerZstd);
  const cfgDesc = { mediaType: oci ? MEDIA.ociConfig : MEDIA.dockerConfig, size: config.length, digest: img.id };
  await pushBlob(s, { digest: img.id, size: config.length, bytes: config, mountFrom: [] }, () => undefined);
  const manifest = {
    schemaVersion: 2,
    mediaType: oci ? MEDIA.ociManifest : MEDIA.dockerManifest,
    config: cfgDesc,
    layers: layers.map((l) => ({ mediaType: (oci ? TO_OCI : TO_DOCKER)[l.mediaType] ?? l.mediaType, size: l.size, digest: l.digest })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
  const r = await s.call('PUT', `/v2/${s.repository}/manifests/${ref.tag}`, { body: bytes, headers: { 'content-type': manifest.mediaType, 'content-length': String(bytes.length) } });
  const reply = await readBody(r, 1 << 20);
  if (r.status !== 201) {
    throw new TsdError('REGISTRY', `${s.host}/${s.repository}: manifest ${ref.tag} refused: ${r.status} ${registryErrors(reply)}`, { hint: 'retry the push' });
  }
  const digest = sha256(bytes);
  await withLock('images', async () => {
    const now = await readRecord(hex);
    const rd = `${ref.name}@${digest}`;
    if (now && !now.repoDigests?.includes(rd)) await writeRecord({ ...now, repoDigests: [...(now.repoDigests ?? []), rd] });
  });
  ev.line(`${ref.tag}: digest: ${digest} size: ${bytes.length}`);
  return { digest, size: bytes.length };
}
