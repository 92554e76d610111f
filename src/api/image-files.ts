/**
 * Images through the API, as dockerd serves `docker save/load/tag/rmi/history/image prune/
 * pull`: GET /images/{name}/get and /images/get?names= (a docker-save tar), POST
 * /images/load (the body is one; JSON stream replies), POST /images/{name}/tag, GET
 * /images/{name}/history, DELETE /images/{name}, POST /images/prune, POST /images/create.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, boolParam, filtersParam, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { TsdError, errorMessage } from '../sys/errors.js';

function noSuchImage(ref: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof TsdError && err.code === 'IMAGE_NOT_FOUND') throw new ApiError(404, `No such image: ${ref}`, 'IMAGE_NOT_FOUND');
    throw err;
  };
}

/** A JSON message stream (load, pull): one object per line; a failure after the headers is an error message. */
async function jsonStream(res: ServerResponse, fn: (send: (m: Record<string, unknown>) => void) => Promise<void>): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  const send = (m: Record<string, unknown>): void => void res.write(`${JSON.stringify(m)}\r\n`);
  try {
    await fn(send);
  } catch (err) {
    send({ errorDetail: { message: errorMessage(err) }, error: errorMessage(err) });
  }
  res.end();
}

async function save(refs: string[], res: ServerResponse): Promise<void> {
  const { resolveImage } = await import('../image/index.js');
  const { saveImages } = await import('../image/save.js');
  if (refs.length === 0) throw new ApiError(400, 'no image names given');
  for (const r of refs) await resolveImage(r).catch(noSuchImage(r));
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await saveImages(refs, res);
    res.end();
  } catch {
    res.destroy(); // a tar cut short is the client's error, as dockerd's
  }
}

const getOne = (req: Request, res: ServerResponse) => save([req.params[0]!], res);
const getMany = (req: Request, res: ServerResponse) => save(req.query.getAll('names'), res);

async function load(req: Request, res: ServerResponse): Promise<void> {
  const { loadArchive } = await import('../image/load.js');
  const result = await loadArchive(req.raw, 'request body');
  await jsonStream(res, async (send) => {
    for (const n of result.notes) send({ stream: `${n}\n` });
    for (const img of result.images) {
      if (img.repoTags.length === 0) send({ stream: `Loaded image ID: ${img.id}\n` });
      for (const t of img.repoTags) send({ stream: `Loaded image: ${t}\n` });
    }
  });
}

async function tag(req: Request, res: ServerResponse): Promise<void> {
  const { tagImage } = await import('../image/index.js');
  const repo = req.query.get('repo');
  if (!repo) throw new ApiError(400, 'repository name must have at least one component');
  const t = req.query.get('tag');
  await tagImage(req.params[0]!, `${repo}${t ? `:${t}` : ''}`).catch(noSuchImage(req.params[0]!));
  res.writeHead(201);
  res.end();
}

async function history(req: Request, res: ServerResponse): Promise<void> {
  const { imageHistory } = await import('../image/index.js');
  sendJson(res, 200, await imageHistory(req.params[0]!).catch(noSuchImage(req.params[0]!)));
}

const asItems = (lines: string[]): Record<string, string>[] => lines.map((l): Record<string, string> => (l.startsWith('Untagged: ') ? { Untagged: l.slice(10) } : { Deleted: l.slice(9) }));

async function remove(req: Request, res: ServerResponse): Promise<void> {
  const { removeImages } = await import('../image/index.js');
  const { lines, errors } = await removeImages([req.params[0]!], boolParam(req.query, 'force'));
  if (errors[0]) noSuchImage(req.params[0]!)(errors[0]);
  sendJson(res, 200, asItems(lines));
}

/** POST /images/prune: images without tags (all unused ones with dangling=false) that no container uses. */
async function prune(req: Request, res: ServerResponse): Promise<void> {
  const { listImages, removeImages, containersUsing } = await import('../image/index.js');
  const filters = await filtersParam(req.query, ['dangling', 'label', 'until']);
  const danglingOnly = (filters.get('dangling')?.[0] ?? 'true') !== 'false';
  const items: Record<string, string>[] = [];
  let reclaimed = 0;
  for (const img of await listImages()) {
    if (danglingOnly && img.repoTags.length) continue;
    if ((await containersUsing(img.id)).length) continue;
    const { lines } = await removeImages([img.id], true);
    if (lines.some((l) => l === `Deleted: ${img.id}`)) reclaimed += img.size;
    items.push(...asItems(lines));
  }
  sendJson(res, 200, { ImagesDeleted: items.length ? items : null, SpaceReclaimed: reclaimed });
}

/** POST /images/create: fromImage pulls through the registry code; fromSrc (import from a URL or the body) is not served. */
async function create(req: Request, res: ServerResponse): Promise<void> {
  const from = req.query.get('fromImage');
  if (!from) {
    throw new ApiError(501, `importing an image through the API (fromSrc) is not supported by tsdocker; run \`tsdocker import FILE\` on the host instead`);
  }
  const t = req.query.get('tag');
  const ref = `${from}${t ? `${/^sha256:/.test(t) ? '@' : ':'}${t}` : ''}`;
  const { pullCommand } = await import('../image/registry/index.js');
  await jsonStream(res, (send) =>
    pullCommand(ref, {
      progress: {
        layer: (id, status, current, total) => send({ status, id, ...(current !== undefined ? { progressDetail: { current, total } } : {}) }),
        line: (text) => send({ status: text }),
      },
      out: () => undefined,
    }),
  );
}

export const imageFileRoutes: Route[] = [
  ['POST', /^\/images\/create$/, create],
  ['GET', /^\/images\/get$/, getMany],
  ['POST', /^\/images\/load$/, load],
  ['POST', /^\/images\/prune$/, prune],
  ['GET', /^\/images\/(.+)\/get$/, getOne],
  ['GET', /^\/images\/(.+)\/history$/, history],
  ['POST', /^\/images\/(.+)\/tag$/, tag],
  ['DELETE', /^\/images\/(.+)$/, remove],
];
