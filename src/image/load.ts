/**
 * `load` and `import`: stage the input in the store's tmp/, extract each missing layer into
 * tmp/ while hashing it, check the hash against the config's diff-id, then, under
 * withLock('images'), rename the layers into place and write records and tags. A failure
 * at any point removes the whole tmp dir, so nothing half-stored remains. Each layer's
 * archive is kept beside it (store.ts: blob) for push. `pull` (registry/pull.ts) uses the
 * same steps: withTmp, extractInto, commitImages.
 */
import { promises as fsp, createReadStream, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { withLock } from '../state/lock.js';
import { emitImage } from '../state/events.js';
import { TsdError } from '../sys/errors.js';
import { log } from '../sys/log.js';
import { rmIfExists, writeJsonAtomic } from '../sys/fs.js';
import { extractLayer } from './extract.js';
import { stageArchive } from './archive.js';
import { imagesIn, type ImageSpec } from './formats.js';
import { openSource, type Source } from './source.js';
import { limits } from './tar-rules.js';
import { parseNameRef } from './reference.js';
import { blobOf, teeToFile } from './blobfile.js';
import { applyChanges } from './changes.js';
import {
  cleanStaleTmp, commitLayer, ensureStore, hasLayer, hexOf, layerMeta, readRawConfig, readRecord, readRepos, storeDirs, writeRawConfig,
  writeRecord, writeRepos, type ImageConfigJson, type LayerMeta,
} from './store.js';

const mlog = log.child({ mod: 'image.load' });

export interface LoadedImage {
  id: string;
  repoTags: string[];
}

export interface LoadOutcome {
  images: LoadedImage[];
  /** lines Docker prints besides "Loaded image" (tags taken from another image) */
  notes: string[];
}

type Input = string | NodeJS.ReadableStream;

/**
 * How far a load has read one layer's member of the archive: its diff-id shortened as
 * Docker's progress shows it (12 hex digits), bytes read so far, and the member's size.
 * Called before the first read and after each chunk (1 MiB); the caller throttles drawing.
 */
export type LoadProgress = (shortId: string, read: number, total: number) => void;

async function* counted(bytes: AsyncIterable<Buffer>, report: (read: number) => void): AsyncGenerator<Buffer> {
  let read = 0;
  report(0);
  for await (const chunk of bytes) {
    read += chunk.length;
    report(read);
    yield chunk;
  }
}

function inputBytes(input: Input): AsyncIterable<Buffer> {
  if (typeof input === 'string') {
    let ok = false;
    try {
      ok = statSync(input).isFile();
    } catch {
      /* reported below */
    }
    if (!ok) throw new TsdError('BAD_ARGS', `${input}: no such file`, { hint: 'give the path of a tar archive, or - for stdin' });
  }
  return (typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 20 }) : input) as AsyncIterable<Buffer>;
}

export async function withTmp<T>(fn: (tmp: string) => Promise<T>): Promise<T> {
  ensureStore();
  await cleanStaleTmp();
  const tmp = await fsp.mkdtemp(join(storeDirs.tmp(), `${process.pid}-`));
  try {
    return await fn(tmp);
  } finally {
    await rmIfExists(tmp);
  }
}

/**
 * Extract one layer source into tmpLayer/diff and write its layer.json; returns the diff-id
 * found. `extra` adds what is known once the source is drained (the kept archive: blob).
 */
export async function extractInto(src: Source, tmpLayer: string, what: string, extra?: () => Pick<LayerMeta, 'blob' | 'sources'>): Promise<LayerMeta> {
  await fsp.mkdir(join(tmpLayer, 'diff'), { recursive: true });
  const res = await extractLayer(src.reader, join(tmpLayer, 'diff'), what);
  const meta: LayerMeta = { diffId: src.digest(), size: res.size, entries: res.entries, ...extra?.() };
  await writeJsonAtomic(join(tmpLayer, 'layer.json'), meta);
  return meta;
}

export interface Pending {
  spec: { id: string; config: ImageConfigJson; configBytes?: Buffer; diffIds: string[]; repoTags: string[]; repoDigests?: string[] };
}

/** Under the lock: layers into place, records, tags. */
export async function commitImages(tmp: string, extracted: Map<string, LayerMeta>, images: Pending[]): Promise<LoadOutcome> {
  return withLock('images', async () => {
    for (const hex of extracted.keys()) await commitLayer(join(tmp, `l-${hex}`), hex);
    const repos = await readRepos();
    const notes: string[] = [];
    for (const { spec } of images) {
      let size = 0;
      for (const d of spec.diffIds) {
        const meta = extracted.get(hexOf(d)) ?? (await layerMeta(hexOf(d)));
        if (!meta) throw new TsdError('STATE', `layer ${d} vanished from the store while loading`);
        size += meta.size;
      }
      const prev = await readRecord(hexOf(spec.id));
      if (spec.configBytes && !(await readRawConfig(hexOf(spec.id)))) await writeRawConfig(hexOf(spec.id), spec.configBytes);
      const repoDigests = [...new Set([...(prev?.repoDigests ?? []), ...(spec.repoDigests ?? [])])];
      await writeRecord({
        id: spec.id,
        created: typeof spec.config.created === 'string' ? spec.config.created : '',
        diffIds: spec.diffIds,
        size,
        config: spec.config,
        loadedAt: prev?.loadedAt ?? new Date().toISOString(),
        ...(repoDigests.length ? { repoDigests } : {}),
      });
      for (const tag of spec.repoTags) {
        const old = repos[tag];
        if (old && old !== spec.id) {
          notes.push(`The image ${tag} already exists, renaming the old one with ID ${old} to empty string`);
        }
        repos[tag] = spec.id;
      }
    }
    await writeRepos(repos);
    return { images: images.map(({ spec }) => ({ id: spec.id, repoTags: spec.repoTags })), notes };
  });
}

/** `tsdocker load`: a docker-save or OCI layout archive from a file path or a stream. */
export async function loadArchive(input: Input, label = typeof input === 'string' ? input : 'stdin', progress?: LoadProgress): Promise<LoadOutcome> {
  const lim = limits();
  return withTmp(async (tmp) => {
    const staging = join(tmp, 'archive');
    await fsp.mkdir(staging);
    const outer = await openSource(inputBytes(input), label, lim);
    const staged = await stageArchive(outer.reader, staging, label, lim.maxEntries);
    const specs: ImageSpec[] = await imagesIn(staged);
    const extracted = new Map<string, LayerMeta>();
    for (const spec of specs) {
      for (const [i, layer] of spec.layers.entries()) {
        const hex = hexOf(layer.diffId);
        if (extracted.has(hex) || (await hasLayer(hex))) continue;
        const what = `${label}: layer ${i + 1} of ${spec.repoTags[0] ?? spec.id}`;
        const file = createReadStream(layer.file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>;
        const shortId = hex.slice(0, 12);
        const src = await openSource(progress ? counted(file, (n) => progress(shortId, n, layer.size)) : file, what, lim);
        const meta = await extractInto(src, join(tmp, `l-${hex}`), what, () => ({ blob: blobOf(src.compression, `sha256:${layer.sha256}`, layer.size) }));
        await fsp.rename(layer.file, join(tmp, `l-${hex}`, 'blob'));
        if (meta.diffId !== layer.diffId) {
          throw new TsdError('IMAGE_INVALID', `${what}: content is ${meta.diffId} but the image config says ${layer.diffId}`, {
            hint: 'the archive is corrupt or was tampered with; do not trust its source',
          });
        }
        extracted.set(hex, meta);
        mlog.debug({ layer: layer.diffId, size: meta.size }, 'layer extracted');
      }
    }
    await rmIfExists(staging);
    const pending = specs.map((s) => ({ spec: { id: s.id, config: s.config, configBytes: s.configBytes, diffIds: s.layers.map((l) => l.diffId), repoTags: s.repoTags } }));
    const outcome = await commitImages(tmp, extracted, pending);
    for (const { spec } of pending) emitImage(spec, 'load');
    return outcome;
  });
}

/** `tsdocker import`: a flat root filesystem tar (gzip or not) becomes a one-layer image. */
export async function importTarball(
  input: Input,
  ref: string | undefined,
  label = typeof input === 'string' ? input : 'stdin',
  o: { changes?: string[]; message?: string } = {},
): Promise<LoadedImage> {
  const tag = ref ? parseNameRef(ref).full : undefined;
  const run = applyChanges({}, o.changes ?? []); // a bad change fails before anything is read
  const lim = limits();
  return withTmp(async (tmp) => {
    const work = join(tmp, 'l-new');
    await fsp.mkdir(work);
    const kept = teeToFile(inputBytes(input), join(work, 'blob'));
    const src = await openSource(kept.stream, label, lim);
    const meta = await extractInto(src, work, label, () => ({ blob: blobOf(src.compression, kept.result().digest, kept.result().size) }));
    const hex = hexOf(meta.diffId);
    await fsp.rename(work, join(tmp, `l-${hex}`));
    const now = new Date().toISOString();
    const config: ImageConfigJson = {
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      os: 'linux',
      created: now,
      ...(o.message ? { comment: o.message } : {}),
      config: run,
      rootfs: { type: 'layers', diff_ids: [meta.diffId] },
      history: [{ created: now, comment: o.message || `Imported from ${typeof input === 'string' ? input : '-'}` }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const id = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
    const out = await commitImages(tmp, new Map([[hex, meta]]), [{ spec: { id, config, configBytes, diffIds: [meta.diffId], repoTags: tag ? [tag] : [] } }]);
    emitImage({ id, config }, 'import');
    return out.images[0]!;
  });
}
