/**
 * An image's history as Docker's daemon builds it (GET /images/{name}/history, `docker
 * history`): one item per entry of the config's `history`, newest first; an entry that made
 * a layer (not `empty_layer`) gets that layer's size, in diff-id order; the newest item
 * carries the image id and its tags, the others `<missing>` (there are no parent images in
 * a store of loaded and pulled images, as in Docker's).
 */
import { TsdError } from '../sys/errors.js';
import { resolveImage } from './ops.js';
import { hexOf, layerMeta } from './store.js';

export interface HistoryItem {
  Id: string;
  /** seconds since the epoch (Go's zero time when the entry has none) */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

const GO_ZERO = -62135596800;

export async function imageHistory(ref: string): Promise<HistoryItem[]> {
  const img = await resolveImage(ref);
  const entries = (Array.isArray(img.imageConfig.history) ? img.imageConfig.history : []) as HistoryEntry[];
  const items: HistoryItem[] = [];
  let layer = 0;
  for (const h of entries) {
    let size = 0;
    if (!h.empty_layer) {
      const diffId = img.diffIds[layer++];
      if (!diffId) {
        throw new TsdError('IMAGE_INVALID', `image ${img.id}: too many non-empty layers in History section`, {
          hint: 'the image config is inconsistent; rebuild or pull the image again',
        });
      }
      size = (await layerMeta(hexOf(diffId)))?.size ?? 0;
    }
    const t = Date.parse(h.created ?? '');
    items.unshift({
      Id: '<missing>',
      Created: Number.isNaN(t) ? GO_ZERO : Math.floor(t / 1000),
      CreatedBy: h.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h.comment ?? '',
    });
  }
  if (items[0]) {
    items[0].Id = img.id;
    items[0].Tags = img.repoTags.length ? img.repoTags : null;
  }
  return items;
}
