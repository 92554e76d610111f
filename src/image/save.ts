/**
 * `save`: images as a docker-save archive in the layout Docker 20.10 writes and loads
 * (and Podman, and our own `load`): `<layer id>/{VERSION,json,layer.tar}` per layer,
 * `<config hex>.json` per image (its exact bytes, so the id survives), `manifest.json` and
 * `repositories`. A layer.tar is the archive the layer arrived as (kept in the store since
 * load and pull keep it), gzip included (Docker's load decompresses it); a zstd one, which
 * Docker 20.10 cannot read, is written decompressed. As `docker save`: a name without a tag
 * saves every tag of that repository, an id saves the image with no tags.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsdError } from '../sys/errors.js';
import { resolveImage } from './ops.js';
import { parseImageRef } from './reference.js';
import { openSource } from './source.js';
import { limits } from './tar-rules.js';
import { TAR_END, tarHeader, tarPadding, type TarEntry } from './tar-write.js';
import { hexOf, layerBlobPath, layerMeta, readRawConfig, readRecord, readRepos } from './store.js';
import { MEDIA } from './media.js';
import { withTmp } from './load.js';

interface Target {
  id: string;
  tags: string[];
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** The images to save, in the order given, each once, with the tags that name them. */
async function targets(refs: string[]): Promise<Target[]> {
  const repos = await readRepos();
  const byId = new Map<string, Target>();
  for (const ref of refs) {
    const p = ref.includes('@') ? undefined : parseImageRef(ref);
    const name = p?.kind === 'name' ? p : undefined;
    const nameOnly = name && !/:[^/]*$/.test(ref);
    const tags = nameOnly ? Object.keys(repos).filter((t) => t.slice(0, t.lastIndexOf(':')) === name.name).sort() : [];
    const found = tags.length ? tags.map((t) => ({ id: repos[t]!, tag: t as string | undefined })) : [];
    if (!found.length) {
      const img = await resolveImage(ref);
      found.push({ id: img.id, tag: name && repos[name.full] === img.id ? name.full : undefined });
    }
    for (const f of found) {
      const t = byId.get(f.id) ?? { id: f.id, tags: [] };
      if (f.tag && !t.tags.includes(f.tag)) t.tags.push(f.tag);
      byId.set(f.id, t);
    }
  }
  return [...byId.values()];
}

async function configBytes(hex: string): Promise<Buffer> {
  const raw = await readRawConfig(hex);
  if (raw) return raw;
  const rec = await readRecord(hex);
  const made = rec && Buffer.from(JSON.stringify(rec.config));
  if (made && sha(made) === hex) return made;
  throw new TsdError('IMAGE_INVALID', `image sha256:${hex} has no stored config file (stored by an older tsdocker)`, {
    hint: 'load or pull the image again, then save it',
  });
}

/** The file that becomes a layer's layer.tar: the kept archive, or a zstd one decompressed into tmp. */
async function layerFile(diffId: string, tmp: string): Promise<string> {
  const hex = hexOf(diffId);
  const meta = await layerMeta(hex);
  if (!meta?.blob) {
    throw new TsdError('IMAGE_INVALID', `layer ${diffId} has no kept archive (stored by an older tsdocker)`, {
      hint: 'load or pull the image again, then save it',
    });
  }
  if (meta.blob.mediaType !== MEDIA.ociLayerZstd) return layerBlobPath(hex);
  const out = join(tmp, `${hex}.tar`);
  const src = await openSource(createReadStream(layerBlobPath(hex)) as AsyncIterable<Buffer>, `layer ${diffId}`, limits());
  async function* all(): AsyncGenerator<Buffer> {
    for (let c = await src.reader.next(); c; c = await src.reader.next()) yield c;
  }
  await pipeline(all(), createWriteStream(out, { flags: 'wx', mode: 0o600 }));
  return out;
}

async function* member(e: TarEntry, body?: Buffer | string): AsyncGenerator<Buffer> {
  if (body === undefined) {
    yield tarHeader(e);
    return;
  }
  if (typeof body !== 'string') {
    yield tarHeader({ ...e, size: body.length });
    yield body;
    yield tarPadding(body.length);
    return;
  }
  const { size } = await fsp.stat(body);
  yield tarHeader({ ...e, size });
  let n = 0;
  for await (const c of createReadStream(body, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > size) throw new TsdError('STATE', `${body} grew while it was saved`);
    yield c;
  }
  if (n !== size) throw new TsdError('STATE', `${body} shrank while it was saved`);
  yield tarPadding(size);
}

/** The archive, as chunks. `tmp` is a scratch directory the caller removes afterwards. */
export async function* saveArchive(refs: string[], tmp: string): AsyncGenerator<Buffer> {
  const list = await targets(refs);
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  for (const t of list) {
    const hex = hexOf(t.id);
    const cfg = await configBytes(hex);
    const config = JSON.parse(cfg.toString('utf8')) as { created?: string; rootfs?: { diff_ids?: string[] } };
    const mtime = Math.floor((Date.parse(config.created ?? '') || 0) / 1000);
    const layers: string[] = [];
    let parent = '';
    for (const diffId of config.rootfs?.diff_ids ?? []) {
      const id = sha(`${parent}\n${diffId}`);
      layers.push(`${id}/layer.tar`);
      if (!written.has(id)) {
        written.add(id);
        const json = { id, ...(parent ? { parent } : {}), created: '1970-01-01T00:00:00Z', container_config: {} };
        yield* member({ name: `${id}/`, type: 'dir', mode: 0o755, mtime });
        yield* member({ name: `${id}/VERSION`, type: 'file', mode: 0o644, mtime }, Buffer.from('1.0'));
        yield* member({ name: `${id}/json`, type: 'file', mode: 0o644, mtime }, Buffer.from(JSON.stringify(json)));
        yield* member({ name: `${id}/layer.tar`, type: 'file', mode: 0o644, mtime }, await layerFile(diffId, tmp));
      }
      parent = id;
    }
    if (!written.has(hex)) {
      written.add(hex);
      yield* member({ name: `${hex}.json`, type: 'file', mode: 0o644, mtime }, cfg);
    }
    manifest.push({ Config: `${hex}.json`, RepoTags: t.tags.length ? t.tags : null, Layers: layers });
    for (const tag of t.tags) {
      const i = tag.lastIndexOf(':');
      (repositories[tag.slice(0, i)] ??= {})[tag.slice(i + 1)] = parent;
    }
  }
  const now = Math.floor(Date.now() / 1000);
  yield* member({ name: 'manifest.json', type: 'file', mode: 0o644, mtime: now }, Buffer.from(JSON.stringify(manifest)));
  if (Object.keys(repositories).length) {
    yield* member({ name: 'repositories', type: 'file', mode: 0o644, mtime: now }, Buffer.from(JSON.stringify(repositories)));
  }
  yield TAR_END;
}

/** Write the archive to `out` (stdout: left open), or to the file `out` (complete or not at all). */
export async function saveImages(refs: string[], out: NodeJS.WritableStream | string): Promise<void> {
  if (typeof out !== 'string') {
    await withTmp((tmp) => pipeline(Readable.from(saveArchive(refs, tmp)), out, { end: false }));
    return;
  }
  const dir = dirname(resolve(out));
  if (!(await fsp.stat(dir).then((s) => s.isDirectory(), () => false))) {
    throw new TsdError('BAD_ARGS', `failed to save image: invalid output path: directory "${dir}" does not exist`, {
      exitCode: 1,
      hint: 'create the directory first, or give another -o path',
    });
  }
  const part = join(dir, `.${basename(out)}.${process.pid}.part`);
  try {
    await withTmp((tmp) => pipeline(Readable.from(saveArchive(refs, tmp)), createWriteStream(part, { flags: 'wx', mode: 0o600 })));
    await fsp.chmod(part, 0o644);
    await fsp.rename(part, out);
  } finally {
    await fsp.rm(part, { force: true });
  }
}
