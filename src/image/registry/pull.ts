/**
 * `pull`: manifest (an index picks the platform), config (checked against its digest),
 * then the missing layers, three at once as Docker does. Each blob streams through a
 * sha256 of its bytes, into the kept blob file and the extractor, all inside the store's
 * tmp/; the layer is renamed into the store only after both the blob digest and the
 * diff-id check out. A per-layer lock makes concurrent pulls of one image download each
 * layer once (the second waits and then finds it stored). Layers are committed one by
 * one, so a pull interrupted at any point (network cut, Ctrl-C, kill -9) keeps the complete
 * layers, leaves its partial work in tmp/ (removed by the next command), and can be run
 * again to fetch only what is missing.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../../state/lock.js';
import { paths } from '../../state/paths.js';
import { TsdError } from '../../sys/errors.js';
import { rmIfExists } from '../../sys/fs.js';
import { blobOf, teeToFile } from '../blobfile.js';
import { commitImages, extractInto, withTmp } from '../load.js';
import { runConfigProblem } from '../formats.js';
import { openSource } from '../source.js';
import { limits } from '../tar-rules.js';
import type { RemoteRef } from '../reference.js';
import { addLayerSource, commitLayer, hasLayer, hexOf, readRecord, readRepos, type ImageConfigJson } from '../store.js';
import { openSession, registryErrors, type Session } from './client.js';
import { readBody } from './http.js';
import { fetchManifest, fetchSmallBlob, type Descriptor } from './manifest.js';
import { formatPlatform, pickEntry, type Platform } from './platform.js';

/**
 * Progress as Docker names it: per layer `Pulling fs layer`, `Waiting`, `Downloading`
 * (with bytes), `Verifying Checksum`, `Download complete`, `Extracting`, `Pull complete`
 * or `Already exists` (push: `Preparing`, `Pushing`, `Pushed`, `Layer already exists`,
 * `Mounted from REPO`); other lines whole.
 */
export interface ProgressEvents {
  layer(id: string, status: string, current?: number, total?: number): void;
  line(text: string): void;
}
type PullEvents = ProgressEvents;

export interface PullResult {
  id: string;
  /** the digest of what the reference named (index or manifest) */
  digest: string;
  /** false when the image was already there, as pulled */
  changed: boolean;
}

const CONCURRENCY = 3;
const shortHex = (d: string): string => hexOf(d).slice(0, 12);

function badBlob(s: Session, d: Descriptor, why: string): TsdError {
  return new TsdError('IMAGE_INVALID', `${s.host}/${s.repository}: layer ${d.digest} ${why}: refusing it, nothing was stored`, {
    hint: 'the registry holds a damaged or tampered blob; push the image again',
  });
}

/** Download one layer into tmp, verify it, and move it into the store. */
async function fetchLayer(s: Session, d: Descriptor, diffId: string, tmp: string, ev: PullEvents): Promise<void> {
  const id = shortHex(d.digest);
  const r = await s.call('GET', `/v2/${s.repository}/blobs/${d.digest}`);
  if (r.status !== 200) {
    const body = await readBody(r, 1 << 20);
    throw new TsdError('REGISTRY', `${s.host}: blob ${d.digest}: ${r.status} ${registryErrors(body)}`, { hint: 'the image is incomplete in the registry' });
  }
  const work = join(tmp, `l-${hexOf(diffId)}`);
  await rmIfExists(work);
  await mkdir(work);
  let got = 0;
  let shown = 0;
  const kept = teeToFile(r.body, join(work, 'blob'), (n) => {
    got += n;
    if (got > d.size) r.body.destroy(badBlob(s, d, `is larger than the ${d.size} bytes the manifest says`));
    if (got - shown >= 1 << 16 || got === d.size) {
      shown = got;
      ev.layer(id, 'Downloading', got, d.size);
    }
  });
  const what = `${s.host}/${s.repository}: layer ${d.digest}`;
  let meta;
  try {
    const src = await openSource(kept.stream, what, limits());
    meta = await extractInto(src, work, what, () => ({
      blob: { ...blobOf(src.compression, kept.result().digest, kept.result().size), mediaType: d.mediaType },
      sources: [`${s.domain}/${s.repository}`],
    }));
  } catch (err) {
    if (err instanceof TsdError && got >= d.size) throw err;
    // the connection broke (or stalled past the timeout): whatever the extractor saw is moot
    throw new TsdError('REGISTRY', `cannot reach ${s.host}: the download of layer ${d.digest} broke off after ${got} of ${d.size} bytes (${(err as Error).message})`, {
      hint: 'run the pull again: the layers already complete are kept',
      cause: err,
    });
  }
  ev.layer(id, 'Verifying Checksum');
  const res = kept.result();
  if (res.size !== d.size) throw badBlob(s, d, `has ${res.size} bytes, not the ${d.size} the manifest says`);
  if (res.digest !== d.digest) throw badBlob(s, d, `does not match its digest (content is ${res.digest})`);
  if (meta.diffId !== diffId) throw badBlob(s, d, `unpacks to ${meta.diffId}, not the diff-id ${diffId} of the image config`);
  ev.layer(id, 'Download complete');
  ev.layer(id, 'Extracting', d.size, d.size);
  await withLock('images', () => commitLayer(work, hexOf(diffId)));
  ev.layer(id, 'Pull complete');
}

/** Each missing layer, once even across processes: a lock per layer, and a second look under it. */
async function fetchLayers(s: Session, layers: Descriptor[], diffIds: string[], tmp: string, ev: PullEvents): Promise<void> {
  const todo: number[] = [];
  for (const [i, l] of layers.entries()) {
    if (await hasLayer(hexOf(diffIds[i]!))) {
      ev.layer(shortHex(l.digest), 'Already exists');
      await addLayerSource(hexOf(diffIds[i]!), `${s.domain}/${s.repository}`);
    } else {
      todo.push(i);
      ev.layer(shortHex(l.digest), 'Pulling fs layer');
    }
  }
  for (const i of todo.slice(CONCURRENCY)) ev.layer(shortHex(layers[i]!.digest), 'Waiting');
  const queue = [...todo];
  const started = new Set<string>();
  let failed = false;
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined && !failed; i = queue.shift()) {
      const l = layers[i]!;
      const hex = hexOf(diffIds[i]!);
      if (started.has(hex)) continue; // the same layer twice in one image
      started.add(hex);
      await withLock(`layer-${hex}`, async () => {
        if (await hasLayer(hex)) ev.layer(shortHex(l.digest), 'Already exists');
        else await fetchLayer(s, l, diffIds[i]!, tmp, ev);
        // the layer is stored: its lock file can go (a waiter then holds the unlinked file,
        // and like any newcomer finds the layer stored when it looks under the lock)
        await rmIfExists(paths.lock(`layer-${hex}`));
      }, 3_600_000).catch((err: unknown) => {
        failed = true; // start no other layer; the ones under way finish and are kept
        throw err;
      });
    }
  };
  const done = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  const bad = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
  if (bad) throw bad.reason;
}

function checkConfig(s: Session, cfg: ImageConfigJson, layers: Descriptor[], want: Platform | undefined): string[] {
  const diffIds = cfg.rootfs?.diff_ids;
  if (cfg.rootfs?.type !== 'layers' || !Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d))) {
    throw new TsdError('IMAGE_INVALID', `${s.host}/${s.repository}: the image config has no valid rootfs.diff_ids`, { hint: 'the image is damaged' });
  }
  if (diffIds.length !== layers.length) {
    throw new TsdError('IMAGE_INVALID', `${s.host}/${s.repository}: the config lists ${diffIds.length} diff-ids but the manifest ${layers.length} layers`, { hint: 'the image is damaged' });
  }
  const problem = runConfigProblem(cfg.config);
  if (problem) throw new TsdError('IMAGE_INVALID', `${s.host}/${s.repository}: image config: ${problem}`, { hint: 'the image is damaged' });
  if (want && cfg.os && cfg.architecture && (cfg.os !== want.os || cfg.architecture !== want.architecture)) {
    throw new TsdError('IMAGE_NOT_FOUND', `image ${s.repository} is for ${formatPlatform(cfg)}, not the requested ${formatPlatform(want)}`, {
      hint: 'pull a multi-platform image, or the one built for this platform',
    });
  }
  return diffIds;
}

const isComplete = async (diffIds: string[]): Promise<boolean> => (await Promise.all(diffIds.map((d) => hasLayer(hexOf(d))))).every(Boolean);

export interface PullOptions {
  platform: Platform;
  platformGiven: boolean;
  events: PullEvents;
  /** printed once the manifest is found, as Docker's `TAG: Pulling from REPO` */
  heading: string;
}

export async function pullImage(ref: RemoteRef, opts: PullOptions): Promise<PullResult> {
  const s = await openSession(ref.domain, ref.repository);
  const shown = ref.full ?? `${ref.name}@${ref.digest}`;
  const top = await fetchManifest(s, ref.reference, shown);
  opts.events.line(opts.heading);
  let m = top;
  if (top.kind === 'index') {
    const entry = pickEntry(top.manifests, opts.platform);
    if (!entry) {
      const have = top.manifests.map((e) => formatPlatform(e.platform ?? {})).filter((p) => !p.startsWith('unknown')).join(', ');
      throw new TsdError('IMAGE_NOT_FOUND', `no matching manifest for ${formatPlatform(opts.platform)} in the manifest list entries of ${shown} (it has ${have || 'none'})`, {
        hint: 'choose one of its platforms with --platform os/arch[/variant]',
      });
    }
    m = await fetchManifest(s, entry.digest, `${shown} (${formatPlatform(opts.platform)})`);
    if (m.kind !== 'manifest') throw new TsdError('IMAGE_INVALID', `${s.host}/${s.repository}: the index of ${shown} nests another index`, { hint: 'the image is damaged' });
  }
  if (m.kind !== 'manifest') throw new Error('unreachable');
  const id = m.config.digest;
  const repoDigest = `${ref.name}@${top.digest}`;
  const before = await readRecord(hexOf(id));
  if (before && (await isComplete(before.diffIds)) && before.repoDigests?.includes(repoDigest) && (!ref.full || (await readRepos())[ref.full] === id)) {
    return { id, digest: top.digest, changed: false };
  }
  const configBytes = await fetchSmallBlob(s, m.config);
  let config: ImageConfigJson;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfigJson;
  } catch {
    throw new TsdError('IMAGE_INVALID', `${s.host}/${s.repository}: the image config is not JSON`, { hint: 'the image is damaged' });
  }
  const diffIds = checkConfig(s, config, m.layers, top.kind === 'index' || opts.platformGiven ? opts.platform : undefined);
  await withTmp(async (tmp) => {
    await fetchLayers(s, m.layers, diffIds, tmp, opts.events);
    await commitImages(tmp, new Map(), [{ spec: { id, config, configBytes, diffIds, repoTags: ref.full ? [ref.full] : [], repoDigests: [repoDigest] } }]);
  });
  return { id, digest: top.digest, changed: true };
}
