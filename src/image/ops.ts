/**
 * Finding, listing, tagging and removing images. Removal follows Docker: removing a tag
 * only untags while other tags remain; removing the last tag or the id deletes the image
 * and the layers no other image uses. An image a container uses is refused unless -f;
 * with -f its tags go but the record stays (dangling `<none>`) until no container uses it,
 * so a container's lower layers never vanish beneath it.
 */
import { emitImage } from '../state/events.js';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { paths } from '../state/paths.js';
import { withLock } from '../state/lock.js';
import { TsdError } from '../sys/errors.js';
import { readJsonIfExists } from '../sys/fs.js';
import { parseImageRef, parseNameRef, parseRemoteRef, shortId } from './reference.js';
import {
  deleteRecord, ensureStore, gcLayers, hexOf, layerDiffDir, listRecords, readRecord, readRepos, tagsOf, writeRepos, type StoredImage,
} from './store.js';

export interface ImageRecord {
  id: string;
  repoTags: string[];
  created: string;
  size: number;
  /** `name@sha256:...` of the registry manifests it was pulled as or pushed to */
  repoDigests: string[];
  config: {
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[];
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  /** absolute, lowest first */
  layerDirs: string[];
  /** the image's config file as loaded, and its layers' diff ids (for `inspect`) */
  imageConfig: StoredImage['config'];
  diffIds: string[];
  loadedAt: string;
}

function toRecord(rec: StoredImage, repos: Record<string, string>): ImageRecord {
  const c = (rec.config.config ?? {}) as Record<string, unknown>;
  const pick: ImageRecord['config'] = {};
  for (const k of ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal'] as const) {
    if (c[k] !== undefined && c[k] !== null) (pick as Record<string, unknown>)[k] = c[k];
  }
  return {
    id: rec.id,
    repoTags: tagsOf(repos, rec.id),
    created: rec.created,
    size: rec.size,
    repoDigests: rec.repoDigests ?? [],
    config: pick,
    layerDirs: lowerDirs(rec.diffIds),
    imageConfig: rec.config,
    diffIds: rec.diffIds,
    loadedAt: rec.loadedAt,
  };
}

/**
 * One dir per distinct layer, lowest first. A layer repeated in an image (Docker's empty
 * layer is common) appears once, at its highest position: overlayfs refuses the same
 * lowerdir twice, and the highest copy is the one whose content wins anyway.
 */
export function lowerDirs(diffIds: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const d of [...diffIds].reverse()) {
    if (seen.has(d)) continue;
    seen.add(d);
    out.push(layerDiffDir(hexOf(d)));
  }
  return out.reverse();
}

function notFound(ref: string): TsdError {
  let shown = ref;
  try {
    const p = parseImageRef(ref);
    if (p.kind === 'name' && !p.idPrefix) shown = p.full;
  } catch {
    /* keep what the user typed */
  }
  return new TsdError('IMAGE_NOT_FOUND', `Unable to find image '${shown}' locally`, { hint: 'pull it (tsdocker pull NAME) or load it (tsdocker load -i FILE)' });
}

interface Found {
  rec: StoredImage;
  /** the name:tag the user gave, when found by name */
  tag?: string;
}

async function find(ref: string, repos: Record<string, string>): Promise<Found> {
  if (ref.includes('@')) {
    // NAME@sha256:...: the image pulled (or pushed) as that manifest
    const r = parseRemoteRef(ref);
    const want = `${r.name}@${r.digest}`;
    const rec = (await listRecords()).find((x) => x.repoDigests?.includes(want));
    if (rec) return { rec };
    throw notFound(ref);
  }
  const p = parseImageRef(ref);
  if (p.kind === 'name') {
    const id = repos[p.full];
    if (id) {
      const rec = await readRecord(hexOf(id));
      if (rec) return { rec, tag: p.full };
    }
  }
  const prefix = p.kind === 'id' ? p.prefix : p.idPrefix;
  // a whole id (what a container's record holds: start, exec): its record, without reading every other one
  if (prefix?.length === 64) {
    const rec = await readRecord(prefix);
    if (rec) return { rec };
  }
  if (prefix !== undefined && (p.kind === 'id' || prefix.length >= 4)) {
    const matches = (await listRecords()).filter((r) => hexOf(r.id).startsWith(prefix));
    if (matches.length > 1) {
      throw new TsdError('BAD_ARGS', `image id prefix '${prefix}' is ambiguous (${matches.length} images)`, {
        hint: 'give more digits of the id',
      });
    }
    if (matches[0]) return { rec: matches[0] };
  }
  throw notFound(ref);
}

/** The runtime's entry point: an image by name[:tag], id or unique id prefix. */
export async function resolveImage(ref: string): Promise<ImageRecord> {
  const repos = await readRepos();
  return toRecord((await find(ref, repos)).rec, repos);
}

export async function listImages(): Promise<ImageRecord[]> {
  const repos = await readRepos();
  const recs = (await listRecords()).map((r) => toRecord(r, repos));
  return recs.sort((a, b) => b.created.localeCompare(a.created) || a.id.localeCompare(b.id));
}

/** Containers (id or name) whose record says they use image `id`. */
export async function containersUsing(id: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(paths.containers());
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    try {
      const c = await readJsonIfExists<{ id?: string; image?: { id?: string } }>(join(paths.container(n), 'config.json'));
      if (c?.image?.id === id) out.push(c.id ?? n);
    } catch {
      /* a record being written or damaged: not ours to judge */
    }
  }
  return out;
}

export async function tagImage(source: string, target: string): Promise<void> {
  const t = parseNameRef(target);
  ensureStore();
  await withLock('images', async () => {
    const repos = await readRepos();
    const { rec } = await find(source, repos);
    repos[t.full] = rec.id;
    await writeRepos(repos);
    emitImage(rec, 'tag', t.full);
  });
}

/** Remove images; returns Docker's output lines (Untagged:/Deleted:). Errors for some refs are collected. */
export async function removeImages(refs: string[], force: boolean): Promise<{ lines: string[]; errors: TsdError[] }> {
  ensureStore();
  return withLock('images', async () => {
    const lines: string[] = [];
    const errors: TsdError[] = [];
    let deletedAny = false;
    for (const ref of refs) {
      try {
        const repos = await readRepos();
        const { rec, tag } = await find(ref, repos);
        const tags = tagsOf(repos, rec.id);
        const users = await containersUsing(rec.id);
        if (tag && tags.length > 1) {
          delete repos[tag];
          await writeRepos(repos);
          lines.push(`Untagged: ${tag}`);
          emitImage(rec, 'untag');
          continue;
        }
        if (!tag && tags.length > 1 && !force) {
          throw new TsdError('IMAGE_IN_USE', `conflict: unable to delete ${shortId(rec.id)} (must be forced) - image is referenced in multiple repositories`, {
            hint: 'remove the tags one by one, or use rmi -f',
          });
        }
        if (users.length && !force) {
          throw new TsdError('IMAGE_IN_USE', `conflict: unable to remove image ${tag ?? shortId(rec.id)} - container ${users[0]!.slice(0, 12)} is using it`, {
            hint: 'remove the container first (tsdocker rm), or use rmi -f to untag it anyway',
          });
        }
        for (const t of tags) delete repos[t];
        await writeRepos(repos);
        for (const t of tags) lines.push(`Untagged: ${t}`);
        for (const _ of tags) emitImage(rec, 'untag');
        if (users.length) continue; // forced: the record stays, dangling, while containers use it
        await deleteRecord(hexOf(rec.id));
        lines.push(`Deleted: ${rec.id}`);
        emitImage(rec, 'delete');
        deletedAny = true;
      } catch (err) {
        if (err instanceof TsdError) errors.push(err);
        else throw err;
      }
    }
    if (deletedAny) for (const d of await gcLayers()) lines.push(`Deleted: ${d}`);
    return { lines, errors };
  });
}

