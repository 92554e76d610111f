/**
 * `system df` as docker/cli's diskUsageContext: one row per type (TYPE TOTAL ACTIVE SIZE
 * RECLAIMABLE, reclaimable with its share in percent), or with -v a table per type.
 */
import type { DiskUsage } from '../../runtime/disk-usage.js';
import { humanSize } from '../format.js';
import { formatList, struct, type ListSpec } from '../template/index.js';
import { containerRow } from './containers.js';
import { imageRow } from './images.js';

export const DF_SPEC: ListSpec = {
  table: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
  headers: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
};

/** "1.2MB (50%)" when there is anything at all, as docker/cli writes it. */
function reclaimable(bytes: number, total: number): string {
  return total > 0 ? `${humanSize(bytes, 4)} (${Math.trunc((bytes * 100) / total)}%)` : humanSize(bytes, 4);
}

const active = (state: string) => /running|paused|restarting/.test(state);

export function dfRows(du: DiskUsage): unknown[] {
  const row = (Type: string, total: number, act: number, size: number, recl: string) =>
    struct('*formatter.diskUsageContext', { Type, TotalCount: String(total), Active: String(act), Size: humanSize(size, 4), Reclaimable: recl });
  const usedByImages = du.images.filter((i) => i.containers > 0).reduce((n, i) => n + i.size - i.shared, 0);
  const ctrSize = du.containers.reduce((n, c) => n + c.sizeRw, 0);
  const ctrIdle = du.containers.filter((c) => !active(c.view.status)).reduce((n, c) => n + c.sizeRw, 0);
  const volSize = du.volumes.reduce((n, v) => n + v.size, 0);
  const volIdle = du.volumes.filter((v) => v.refCount === 0).reduce((n, v) => n + v.size, 0);
  return [
    row('Images', du.images.length, du.images.filter((i) => i.containers > 0).length, du.layersSize, reclaimable(du.layersSize - usedByImages, du.layersSize)),
    row('Containers', du.containers.length, du.containers.filter((c) => active(c.view.status)).length, ctrSize, reclaimable(ctrIdle, ctrSize)),
    row('Local Volumes', du.volumes.length, du.volumes.filter((v) => v.refCount > 0).length, volSize, reclaimable(volIdle, volSize)),
    row('Build Cache', 0, 0, 0, '0B'),
  ];
}

const IMAGE_TABLE: ListSpec = {
  table: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
  headers: { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', Containers: 'CONTAINERS' },
};
const CONTAINER_TABLE: ListSpec = {
  table: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
  headers: { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', LocalVolumes: 'LOCAL VOLUMES', Size: 'SIZE', RunningFor: 'CREATED', Status: 'STATUS', Names: 'NAMES' },
};
const VOLUME_TABLE: ListSpec = { table: 'table {{.Name}}\t{{.Links}}\t{{.Size}}', headers: { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' } };
const CACHE_TABLE: ListSpec = {
  table: 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}',
  headers: { ID: 'CACHE ID', CacheType: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED' },
};

/** `system df -v`: docker/cli's verbose layout. */
export function dfVerbose(du: DiskUsage): string {
  const images = du.images.flatMap((u) => {
    const tags = u.image.repoTags.length ? u.image.repoTags : ['<none>:<none>'];
    return tags.map((t) => {
      const i = t.lastIndexOf(':');
      const base = imageRow({ repo: t.slice(0, i), tag: t.slice(i + 1), digest: '<none>', img: u.image }, true) as Record<string, unknown>;
      return struct('*formatter.imageContext', { ...base, Size: humanSize(u.size), SharedSize: humanSize(u.shared), UniqueSize: humanSize(u.size - u.shared), Containers: String(u.containers) });
    });
  });
  const containers = du.containers.map((c) => struct('*formatter.containerContext', { ...(containerRow(c.view, true) as Record<string, unknown>), Size: humanSize(c.sizeRw) }));
  const volumes = du.volumes.map((v) => struct('*formatter.volumeContext', { Name: v.volume.Name, Links: String(v.refCount), Size: humanSize(v.size, 4) }));
  return [
    'Images space usage:\n',
    formatList(IMAGE_TABLE.table, images, IMAGE_TABLE),
    'Containers space usage:\n',
    formatList(CONTAINER_TABLE.table, containers, CONTAINER_TABLE),
    'Local Volumes space usage:\n',
    formatList(VOLUME_TABLE.table, volumes, VOLUME_TABLE),
    'Build cache usage: 0B\n',
    formatList(CACHE_TABLE.table, [], CACHE_TABLE),
  ].join('\n');
}
