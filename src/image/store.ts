/**
 * The image store, inside paths.images():
 *
 *   layers/<hex>/diff/       a layer, extracted once, keyed by its diff-id (an overlayfs lowerdir)
 *   layers/<hex>/layer.json  { diffId, size, entries, blob?, sources? }
 *   layers/<hex>/blob        the layer's archive as it arrived (compressed or not), kept for
 *                            push: a tar rebuilt from diff/ would not hash to the diff-id
 *   records/<hex>.json       an image: id, config (the image config JSON), diff-ids, size, repo digests
 *   configs/<hex>.json       an image config's bytes exactly (the image id is their sha256)
 *   repositories.json        { "name:tag": "sha256:<hex>" }, changed only under withLock('images')
 *   tmp/<pid>-*              work in progress; renamed into place only when complete
 *
 * Records and the index are written atomically (temp, fsync, rename).
 */
import { promises as fsp, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { paths, ensureLayout } from '../state/paths.js';
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic, rmIfExists } from '../sys/fs.js';
import { isErrno } from '../sys/errors.js';

export interface ImageConfigJson {
  created?: string;
  architecture?: string;
  os?: string;
  config?: Record<string, unknown> | null;
  rootfs?: { type?: string; diff_ids?: string[] };
  [key: string]: unknown;
}

export interface StoredImage {
  id: string;
  created: string;
  diffIds: string[];
  size: number;
  config: ImageConfigJson;
  loadedAt: string;
  /** `name@sha256:<manifest digest>` for each registry manifest this image was pulled as or pushed to */
  repoDigests?: string[];
}

export interface LayerBlob {
  digest: string;
  mediaType: string;
  size: number;
}

export interface LayerMeta {
  diffId: string;
  size: number;
  entries: number;
  /** the archive kept in blob/ */
  blob?: LayerBlob;
  /** for an uncompressed blob: what its gzip compression (as push sends it) came to */
  gzipped?: LayerBlob;
  /** `registry/repository` names known to hold the blob (for cross-repository mounts) */
  sources?: string[];
}

export const HEX64 = /^[0-9a-f]{64}$/;
export const hexOf = (id: string): string => id.replace(/^sha256:/, '');

const base = (): string => paths.images();
export const storeDirs = {
  layers: () => join(base(), 'layers'),
  records: () => join(base(), 'records'),
  configs: () => join(base(), 'configs'),
  tmp: () => join(base(), 'tmp'),
  repos: () => join(base(), 'repositories.json'),
};
export const layerDir = (hex: string): string => join(storeDirs.layers(), hex);
export const layerDiffDir = (hex: string): string => join(layerDir(hex), 'diff');
export const layerBlobPath = (hex: string): string => join(layerDir(hex), 'blob');
const recordPath = (hex: string): string => join(storeDirs.records(), `${hex}.json`);
const configPath = (hex: string): string => join(storeDirs.configs(), `${hex}.json`);

export function ensureStore(): void {
  ensureLayout();
  for (const d of [base(), storeDirs.layers(), storeDirs.records(), storeDirs.configs(), storeDirs.tmp()]) mkdirSync(d, { recursive: true, mode: 0o700 });
}

export async function hasLayer(hex: string): Promise<boolean> {
  return (await readJsonIfExists<LayerMeta>(join(layerDir(hex), 'layer.json'))) !== undefined;
}

export async function layerMeta(hex: string): Promise<LayerMeta | undefined> {
  return readJsonIfExists<LayerMeta>(join(layerDir(hex), 'layer.json'));
}

/** Move a complete layer (tmp dir with diff/ and layer.json) into place; false when it was already there. */
export async function commitLayer(tmpLayer: string, hex: string): Promise<boolean> {
  if (await hasLayer(hex)) return false;
  await rmIfExists(layerDir(hex)); // an incomplete leftover without layer.json
  await fsp.rename(tmpLayer, layerDir(hex));
  return true;
}

/** Record that `source` (registry/repository) holds this layer's blob, and what push compressed it to. */
export async function addLayerSource(hex: string, source: string, gzipped?: LayerBlob): Promise<void> {
  const meta = await layerMeta(hex);
  if (!meta || (meta.sources?.includes(source) && (!gzipped || meta.gzipped?.digest === gzipped.digest))) return;
  const sources = [...(meta.sources ?? []).filter((x) => x !== source), source].slice(-16);
  await writeJsonAtomic(join(layerDir(hex), 'layer.json'), { ...meta, sources, ...(gzipped ? { gzipped } : {}) });
}

/** The exact config bytes of an image, when the store has them. */
export async function readRawConfig(hex: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(configPath(hex));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

export async function writeRawConfig(hex: string, bytes: Buffer): Promise<void> {
  await writeFileAtomic(configPath(hex), bytes);
}

export async function readRecord(hex: string): Promise<StoredImage | undefined> {
  return readJsonIfExists<StoredImage>(recordPath(hex));
}

export async function writeRecord(rec: StoredImage): Promise<void> {
  await writeJsonAtomic(recordPath(hexOf(rec.id)), rec);
}

export async function deleteRecord(hex: string): Promise<void> {
  await rmIfExists(recordPath(hex));
  await rmIfExists(configPath(hex));
}

export async function listRecords(): Promise<StoredImage[]> {
  let names: string[];
  try {
    names = await fsp.readdir(storeDirs.records());
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: StoredImage[] = [];
  for (const n of names) {
    const m = /^([0-9a-f]{64})\.json$/.exec(n);
    if (!m) continue;
    const rec = await readRecord(m[1]!);
    if (rec) out.push(rec);
  }
  return out;
}

export async function readRepos(): Promise<Record<string, string>> {
  return (await readJsonIfExists<Record<string, string>>(storeDirs.repos())) ?? {};
}

export async function writeRepos(repos: Record<string, string>): Promise<void> {
  const sorted = Object.fromEntries(Object.entries(repos).sort(([a], [b]) => a.localeCompare(b)));
  await writeJsonAtomic(storeDirs.repos(), sorted);
}

export function tagsOf(repos: Record<string, string>, id: string): string[] {
  return Object.keys(repos).filter((t) => repos[t] === id).sort();
}

/** Delete layers no image record references. Call under withLock('images'). Returns deleted diff-ids. */
export async function gcLayers(): Promise<string[]> {
  const used = new Set<string>();
  for (const rec of await listRecords()) for (const d of rec.diffIds) used.add(hexOf(d));
  let names: string[];
  try {
    names = await fsp.readdir(storeDirs.layers());
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const deleted: string[] = [];
  for (const n of names) {
    if (used.has(n)) continue;
    // rename first so a half-deleted layer is never visible under its name
    const doomed = join(storeDirs.tmp(), `${process.pid}-gc-${n}`);
    await fsp.rename(layerDir(n), doomed);
    await rmIfExists(doomed);
    if (HEX64.test(n)) deleted.push(`sha256:${n}`);
  }
  return deleted;
}

/** Remove tmp/ work of processes that are gone (a crash mid-load leaves it). */
export async function cleanStaleTmp(): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(storeDirs.tmp());
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if (isErrno(err, 'ESRCH')) await rmIfExists(join(storeDirs.tmp(), n));
    }
  }
}
