/** `images`: rows as docker/cli's imageContext; which images it lists is src/query/images.ts. */
import { goTime, humanSize } from '../format.js';
import { struct, type ListSpec } from '../template/index.js';
import { ago } from '../../query/human.js';
import type { ImageRow } from '../../query/images.js';

export const IMAGES_SPEC: ListSpec = {
  table: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
  headers: {
    ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE',
    Containers: 'CONTAINERS', VirtualSize: 'VIRTUAL SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
  },
};

export function imageRow(r: ImageRow, trunc: boolean) {
  const created = r.img.created && !Number.isNaN(Date.parse(r.img.created)) ? r.img.created : undefined;
  return struct('*formatter.imageContext', {
    Containers: 'N/A',
    CreatedAt: created ? goTime(created) : '',
    CreatedSince: created ? ago(created) : 'N/A',
    Digest: r.digest,
    ID: trunc ? r.img.id.replace(/^sha256:/, '').slice(0, 12) : r.img.id,
    Repository: r.repo,
    SharedSize: 'N/A',
    Size: humanSize(r.img.size),
    Tag: r.tag,
    UniqueSize: 'N/A',
    VirtualSize: humanSize(r.img.size),
  });
}
