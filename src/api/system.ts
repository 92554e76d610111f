/** /_ping, /version and /info, in Docker's shapes: the same source as the CLI's `version` and `info`. */
import { API_VERSION, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import type { ServerResponse } from 'node:http';

async function ping(req: Request, res: ServerResponse): Promise<void> {
  const body = req.method === 'HEAD' ? '' : 'OK';
  res.writeHead(200, {
    'API-Version': API_VERSION,
    'Docker-Experimental': 'false',
    OSType: 'linux',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** GET /system/df: dockerd's types.DiskUsage, from the same source as `system df`. */
async function diskUsage(_req: Request, res: ServerResponse): Promise<void> {
  const { systemDiskUsage } = await import('../runtime/disk-usage.js');
  const { listItem } = await import('./containers.js');
  const du = await systemDiskUsage();
  sendJson(res, 200, {
    LayersSize: du.layersSize,
    Images: du.images.map(({ image: i, size, shared, containers }) => ({
      Containers: containers,
      Created: Math.floor(Date.parse(i.created) / 1000) || 0,
      Id: i.id,
      Labels: i.config.Labels ?? null,
      ParentId: '',
      RepoDigests: i.repoDigests,
      RepoTags: i.repoTags,
      SharedSize: shared,
      Size: size,
      VirtualSize: size,
    })),
    Containers: await Promise.all(du.containers.map(async (c) => ({ ...(await listItem(c.view)), SizeRw: c.sizeRw, SizeRootFs: 0 }))),
    Volumes: du.volumes.map(({ volume: { Anonymous: _, ...vol }, size, refCount }) => ({ ...vol, UsageData: { Size: size, RefCount: refCount } })),
    BuildCache: [],
  });
}

export const systemRoutes: Route[] = [
  ['GET', /^\/system\/df$/, diskUsage],
  ['GET', /^\/_ping$/, ping],
  ['GET', /^\/version$/, async (_req, res) => sendJson(res, 200, (await import('../runtime/system-info.js')).engineVersion())],
  ['GET', /^\/info$/, async (_req, res) => sendJson(res, 200, await (await import('../runtime/system-info.js')).engineInfo())],
];
