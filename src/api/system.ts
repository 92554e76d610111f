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

export const systemRoutes: Route[] = [
  ['GET', /^\/_ping$/, ping],
  ['GET', /^\/version$/, async (_req, res) => sendJson(res, 200, (await import('../runtime/system-info.js')).engineVersion())],
  ['GET', /^\/info$/, async (_req, res) => sendJson(res, 200, await (await import('../runtime/system-info.js')).engineInfo())],
];
