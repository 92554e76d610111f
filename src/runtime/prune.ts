/**
 * `system prune`: stopped containers, unused networks, with `volumes` unused anonymous
 * volumes, dangling images (every unused image with `all`), in Docker's order; each part
 * says what it removed and the bytes it freed. `keep` is the --filter (until, label).
 */
import { pruneVolumes } from '../state/volumes.js';
import { pruneNetworks } from '../net/networks.js';
import { pruneImages } from '../image/prune.js';
import { pruneContainers } from './lifecycle.js';

/** What a prune filter looks at: when the object was made and its labels. */
export type Keep = (o: { created: string; labels: Record<string, string> }) => boolean;

export interface PruneReport {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
  bytes: number;
}

export async function systemPrune(o: { all: boolean; volumes: boolean; keep: Keep }): Promise<PruneReport> {
  const r: PruneReport = { containers: [], networks: [], volumes: [], images: [], bytes: 0 };
  const ctr = await pruneContainers((v) => !o.keep({ created: v.config.created, labels: v.config.labels ?? {} }));
  r.containers = ctr.removed;
  r.bytes += ctr.bytes;
  r.networks = await pruneNetworks((n) => !o.keep({ created: n.created, labels: n.labels ?? {} }));
  if (o.volumes) {
    const v = await pruneVolumes({ all: false });
    r.volumes = v.names;
    r.bytes += v.bytes;
  }
  const img = await pruneImages({ all: o.all, keep: (i) => o.keep({ created: i.created, labels: i.config.Labels ?? {} }) });
  r.images = img.lines;
  r.bytes += img.bytes;
  return r;
}
