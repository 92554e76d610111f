/**
 * Container files through the API, as dockerd serves `docker cp`, `docker diff` and
 * `docker export`: HEAD/GET/PUT /containers/{id}/archive (the path's stat in the
 * X-Docker-Container-Path-Stat header, base64 JSON), /changes and /export; POST /commit.
 */
import type { ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { ApiError, boolParam, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { TsdError } from '../sys/errors.js';

const ID = '([^/]+)';

function pathParam(req: Request): string {
  const p = req.query.get('path');
  if (!p) throw new ApiError(400, 'bad parameter: path cannot be empty');
  return p;
}

/** A path that is not there is dockerd's 404 "Could not find the file X in container Y". */
function notFound(err: unknown): never {
  if (err instanceof TsdError && /^Could not find the file /.test(err.message)) throw new ApiError(404, err.message, 'CONTAINER_NOT_FOUND');
  throw err;
}

/** moby's archive.PreserveTrailingDotOrSeparator over an absolute path. */
function containerPath(p: string): { path: string; base: string } {
  const abs = posix.join('/', p);
  const path = p.endsWith('/.') || p === '.' ? `${abs === '/' ? '' : abs}/.` : abs;
  return { path, base: p.endsWith('/.') || p === '.' ? '.' : posix.basename(abs) || '/' };
}

function statHeader(st: { name: string; size: number; mode: number; mtime: string; linkTarget: string }): string {
  return Buffer.from(JSON.stringify({ name: st.name, size: st.size, mode: st.mode, mtime: st.mtime, linkTarget: st.linkTarget })).toString('base64');
}

async function stream(res: ServerResponse, status: number, headers: Record<string, string>, body: AsyncIterable<Buffer>): Promise<void> {
  res.writeHead(status, headers);
  for await (const chunk of body) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
  res.end();
}

async function archiveGet(req: Request, res: ServerResponse): Promise<void> {
  const { containerArchive, containerPathStat } = await import('../runtime/cp.js');
  const { path, base } = containerPath(pathParam(req));
  const st = await containerPathStat(req.params[0]!, path).catch(notFound);
  const header = { 'X-Docker-Container-Path-Stat': statHeader(st) };
  if (req.method === 'HEAD') {
    res.writeHead(200, header);
    res.end();
    return;
  }
  const tar = await containerArchive(req.params[0]!, path, base).catch(notFound);
  await stream(res, 200, { ...header, 'Content-Type': 'application/x-tar' }, tar);
}

async function archivePut(req: Request, res: ServerResponse): Promise<void> {
  const { extractToContainer } = await import('../runtime/cp.js');
  const { path } = containerPath(pathParam(req));
  await extractToContainer(req.params[0]!, path, req.raw as AsyncIterable<Buffer>, boolParam(req.query, 'copyUIDGID')).catch(notFound);
  res.writeHead(200);
  res.end();
}

async function changes(req: Request, res: ServerResponse): Promise<void> {
  const { containerChanges } = await import('../runtime/changes.js');
  const list = await containerChanges(req.params[0]!);
  sendJson(res, 200, list.length ? list : null);
}

async function exportHandler(req: Request, res: ServerResponse): Promise<void> {
  const { exportContainer } = await import('../runtime/cp.js');
  await stream(res, 200, { 'Content-Type': 'application/x-tar' }, await exportContainer(req.params[0]!));
}

/** POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes= */
async function commit(req: Request, res: ServerResponse): Promise<void> {
  const { commitContainer } = await import('../runtime/commit.js');
  for await (const _ of req.raw) void _; // the body's container config (the client sends null): the container's own settings are used
  const container = req.query.get('container');
  if (!container) throw new ApiError(400, 'bad parameter: container cannot be empty');
  const repo = req.query.get('repo');
  const tag = req.query.get('tag');
  const pause = req.query.get('pause');
  const id = await commitContainer(container, {
    author: req.query.get('author') || undefined,
    message: req.query.get('comment') || undefined,
    changes: req.query.getAll('changes').flatMap((c) => c.split('\n')).filter(Boolean),
    pause: pause === null || pause === '' ? true : boolParam(req.query, 'pause'),
    tag: repo ? `${repo}${tag ? `:${tag}` : ''}` : undefined,
  });
  sendJson(res, 201, { Id: id });
}

export const fileRoutes: Route[] = [
  ['GET', new RegExp(`^/containers/${ID}/archive$`), archiveGet],
  ['PUT', new RegExp(`^/containers/${ID}/archive$`), archivePut],
  ['GET', new RegExp(`^/containers/${ID}/changes$`), changes],
  ['GET', new RegExp(`^/containers/${ID}/export$`), exportHandler],
  ['POST', /^\/commit$/, commit],
];
