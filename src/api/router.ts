/**
 * Routing as dockerd's: an optional /v1.xx prefix (1.24 to 1.41; 400 outside, with
 * dockerd's words), then METHOD + path pattern. The handler tables live in one module per
 * resource group (system, containers, images, networks, volumes); an unknown path is Docker's 404 "page not found".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_VERSION, ApiError, MIN_API_VERSION, sendError, sendJson, type Handler, type Request } from './http.js';
import { systemRoutes } from './system.js';
import { containerRoutes } from './containers.js';
import { imageRoutes } from './images.js';
import { execRoutes } from './exec.js';
import { eventRoutes } from './events.js';
import { fileRoutes } from './files.js';
import { imageFileRoutes } from './image-files.js';
import { networkRoutes } from './networks.js';
import { volumeRoutes } from './volumes.js';
import { containerOpRoutes } from './container-ops.js';

export type Route = [method: string, pattern: RegExp, handler: Handler];

const ROUTES: Route[] = [...systemRoutes, ...containerRoutes, ...imageFileRoutes, ...imageRoutes, ...eventRoutes, ...fileRoutes, ...networkRoutes, ...volumeRoutes, ...containerOpRoutes, ...execRoutes];

function minor(v: string): number {
  return Number(v.split('.')[1]);
}

/** Split the version prefix off; 400 for a version we do not speak. */
export function splitVersion(path: string): { version: string; rest: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (!m) return { version: API_VERSION, rest: path };
  const version = m[1]!;
  if (!version.startsWith('1.') || minor(version) > minor(API_VERSION)) {
    throw new ApiError(400, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (minor(version) < minor(MIN_API_VERSION)) {
    throw new ApiError(400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return { version, rest: m[2]! };
}

/** Find the route; HEAD is served by a GET route. */
export function matchRoute(method: string, path: string): { handler: Handler; params: string[] } | undefined {
  for (const [m, pattern, handler] of ROUTES) {
    if (m !== method && !(method === 'HEAD' && m === 'GET')) continue;
    const found = pattern.exec(path);
    if (found) return { handler, params: found.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}

export async function dispatch(raw: IncomingMessage, res: ServerResponse): Promise<number> {
  try {
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const { version, rest } = splitVersion(url.pathname);
    const route = matchRoute(raw.method ?? 'GET', rest);
    if (!route) {
      sendJson(res, 404, { message: 'page not found' });
      return 404;
    }
    const req: Request = { method: raw.method ?? 'GET', path: rest, query: url.searchParams, version, params: route.params, raw };
    await route.handler(req, res);
    return res.statusCode;
  } catch (err) {
    return sendError(res, err);
  }
}
