/** /images/json and /images/{name}/json in dockerd's shapes, through the image store's own functions. */
import type { ServerResponse } from 'node:http';
import { ApiError, filtersParam, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { TsdError } from '../sys/errors.js';

/** GET /images/json: one summary per image, with the tags the filters kept (dockerd's ImageSummary). */
async function list(req: Request, res: ServerResponse): Promise<void> {
  const { listImages } = await import('../image/index.js');
  const { IMAGE_FILTERS, imageRows } = await import('../query/images.js');
  const filters = await filtersParam(req.query, IMAGE_FILTERS);
  const rows = await imageRows(await listImages(), filters);
  const byId = new Map<string, { img: (typeof rows)[number]['img']; tags: string[] }>();
  for (const r of rows) {
    const e = byId.get(r.img.id) ?? { img: r.img, tags: [] };
    if (r.tag !== '<none>') e.tags.push(`${r.repo}:${r.tag}`);
    byId.set(r.img.id, e);
  }
  sendJson(
    res,
    200,
    [...byId.values()].map(({ img, tags }) => ({
      Containers: -1,
      Created: Math.floor(Date.parse(img.created) / 1000) || 0,
      Id: img.id,
      Labels: img.config.Labels ?? null,
      ParentId: '',
      RepoDigests: img.repoDigests ?? [],
      RepoTags: tags,
      SharedSize: -1,
      Size: img.size,
      VirtualSize: img.size,
    })),
  );
}

async function inspect(req: Request, res: ServerResponse): Promise<void> {
  const { resolveImage, inspectImage } = await import('../image/index.js');
  try {
    sendJson(res, 200, inspectImage(await resolveImage(req.params[0]!)));
  } catch (err) {
    if (err instanceof TsdError && err.code === 'IMAGE_NOT_FOUND') throw new ApiError(404, `No such image: ${req.params[0]}`, 'IMAGE_NOT_FOUND');
    throw err;
  }
}

export const imageRoutes: Route[] = [
  ['GET', /^\/images\/json$/, list],
  ['GET', /^\/images\/(.+)\/json$/, inspect],
];
