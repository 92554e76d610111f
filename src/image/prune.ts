/**
 * `image prune` (and the images part of `system prune`): dangling images, or with `all`
 * every image no container uses; Docker's lines ("untagged: ...", "deleted: ...") and the
 * bytes of the layers that went.
 */
import { containersUsing, listImages, removeImages, type ImageRecord } from './ops.js';
import { hexOf, layerMeta } from './store.js';

export async function pruneImages(o: { all: boolean; keep?: (img: ImageRecord) => boolean }): Promise<{ lines: string[]; bytes: number }> {
  const doomed: ImageRecord[] = [];
  for (const img of await listImages()) {
    if (!o.all && img.repoTags.length > 0) continue;
    if ((await containersUsing(img.id)).length > 0 || o.keep?.(img)) continue;
    doomed.push(img);
  }
  if (!doomed.length) return { lines: [], bytes: 0 };
  const sizes = new Map<string, number>();
  for (const d of new Set(doomed.flatMap((i) => i.diffIds))) sizes.set(d, (await layerMeta(hexOf(d)))?.size ?? 0);
  // by id and forced: every tag goes with it (nothing uses it, checked above)
  const { lines } = await removeImages(doomed.map((i) => i.id), true);
  let bytes = 0;
  for (const l of lines) if (l.startsWith('Deleted: ')) bytes += sizes.get(l.slice('Deleted: '.length)) ?? 0;
  return { lines: lines.map((l) => l.replace(/^Untagged: /, 'untagged: ').replace(/^Deleted: /, 'deleted: ')), bytes };
}
