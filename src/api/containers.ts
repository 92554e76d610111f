/**
 * /containers: list, inspect, start, stop, kill, wait, remove, in dockerd's shapes and
 * statuses (304 already started/stopped, 404 no such container, 409 not running or running).
 * create lives in create.ts, logs in logs.ts; every action is the runtime's own function.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, boolParam, filtersParam, intParam, sendEmpty, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { createHandler } from './create.js';
import { logsHandler } from './logs.js';
import { updateHandler } from './update.js';
import { findContainer, readContainer, listContainers, type ContainerView } from '../state/containers.js';
import { TsdError } from '../sys/errors.js';

/** One container as GET /containers/json lists it. */
export async function listItem(v: ContainerView): Promise<Record<string, unknown>> {
  const { inspectContainer } = await import('../runtime/inspect.js');
  const { statusText } = await import('../query/containers.js');
  const c = v.config;
  const full = (await inspectContainer(v)) as { NetworkSettings: { Networks?: unknown }; Mounts: Record<string, unknown>[]; HostConfig: { NetworkMode: string } };
  const ports = v.status === 'running' ? (((v.state?.network as { ports?: { hostIp: string; hostPort: number; containerPort: number; proto: string }[] }) ?? {}).ports ?? []) : [];
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: c.image.ref,
    ImageID: c.image.id,
    // dockerd's list: an argument with a space in single quotes
    Command: [c.path, ...c.args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' '),
    Created: Math.floor(Date.parse(c.created) / 1000),
    Ports: ports.map((p) => ({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto })),
    Labels: c.labels ?? {},
    State: v.status,
    Status: statusText(v),
    HostConfig: { NetworkMode: full.HostConfig.NetworkMode },
    NetworkSettings: { Networks: full.NetworkSettings.Networks ?? {} },
    Mounts: full.Mounts,
  };
}

async function list(req: Request, res: ServerResponse): Promise<void> {
  const { PS_FILTERS, filterContainers } = await import('../query/containers.js');
  const { reconcile } = await import('../runtime/lifecycle.js');
  const filters = await filtersParam(req.query, PS_FILTERS);
  const limit = intParam(req.query, 'limit') ?? -1;
  await reconcile();
  let views = await filterContainers(await listContainers(), filters, boolParam(req.query, 'all') || limit > 0);
  if (limit > 0) views = views.slice(0, limit);
  const items = await Promise.all(views.map(listItem));
  if (boolParam(req.query, 'size')) {
    const { containerSizes } = await import('../runtime/disk-usage.js');
    const sizes = await containerSizes(views);
    for (const [i, v] of views.entries()) Object.assign(items[i]!, { SizeRw: sizes.get(v.config.id)?.rw ?? 0, SizeRootFs: sizes.get(v.config.id)?.rootFs ?? 0 });
  }
  sendJson(res, 200, items);
}

async function inspect(req: Request, res: ServerResponse): Promise<void> {
  const { inspectContainer } = await import('../runtime/inspect.js');
  sendJson(res, 200, await inspectContainer(await findContainer(req.params[0]!)));
}

async function start(req: Request, res: ServerResponse): Promise<void> {
  const v = await findContainer(req.params[0]!);
  if (v.status === 'running') return sendEmpty(res, 304);
  const { startExisting } = await import('../runtime/restart.js');
  const { connectPending } = await import('./attach.js');
  await startExisting(v.config.id, { beforeGo: connectPending });
  sendEmpty(res, 204);
}

/** The pty's size (docker run -it, docker attach); 409 when it does not run, as dockerd. */
async function resize(req: Request, res: ServerResponse): Promise<void> {
  const v = await findContainer(req.params[0]!);
  if (v.status !== 'running') throw new ApiError(409, `Container ${v.config.id} is not running`);
  const { resizeContainer } = await import('./attach.js');
  await resizeContainer(v.config.id, intParam(req.query, 'h') ?? 0, intParam(req.query, 'w') ?? 0);
  sendEmpty(res, 200);
}

async function stop(req: Request, res: ServerResponse): Promise<void> {
  const v = await findContainer(req.params[0]!);
  if (v.status !== 'running') return sendEmpty(res, 304);
  const { stopContainer } = await import('../runtime/lifecycle.js');
  await stopContainer(v.config.id, intParam(req.query, 't') ?? 10, req.query.get('signal') || 'SIGTERM');
  sendEmpty(res, 204);
}

async function kill(req: Request, res: ServerResponse): Promise<void> {
  const { killContainer, parseSignal } = await import('../runtime/lifecycle.js');
  const v = await findContainer(req.params[0]!);
  const signal = req.query.get('signal') || 'SIGKILL';
  parseSignal(signal);
  if (v.status !== 'running') throw new ApiError(409, `Cannot kill container: ${req.params[0]}: Container ${v.config.id} is not running`, 'CONTAINER_NOT_RUNNING');
  await killContainer(v.config.id, signal);
  sendEmpty(res, 204);
}

/**
 * Docker's wait: the status line at once, the body when the condition holds: not-running
 * (the default), next-exit (an exit after this call) or removed (the status is the exit
 * record seen before the removal). A client that goes away ends it.
 */
async function wait(req: Request, res: ServerResponse): Promise<void> {
  const { exitCodeOf } = await import('../runtime/lifecycle.js');
  const condition = req.query.get('condition') || 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new ApiError(400, `invalid condition: "${condition}"`);
  const v = await findContainer(req.params[0]!);
  const id = v.config.id;
  const before = v.exit?.finishedAt;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  let gone = false;
  res.on('close', () => (gone = true));
  const done = (cur: ContainerView | undefined): boolean => {
    if (cur === undefined) return true;
    if (condition === 'removed') return false;
    if (condition === 'next-exit') return cur.status === 'exited' && cur.exit?.finishedAt !== before;
    return cur.status !== 'running';
  };
  let cur: ContainerView | undefined = v;
  let status: number | undefined;
  while (!gone) {
    if (cur?.exit && cur.exit.finishedAt !== before) status = exitCodeOf(cur);
    if (done(cur)) break;
    await new Promise((r) => setTimeout(r, 20));
    cur = await readContainer(id);
  }
  if (gone) return;
  if (cur) status ??= exitCodeOf(cur);
  const body = status === undefined ? { StatusCode: -1, Error: { Message: `container ${id} was removed before its exit status was seen` } } : { StatusCode: status, Error: null };
  res.end(`${JSON.stringify(body)}\n`);
}

async function remove(req: Request, res: ServerResponse): Promise<void> {
  if (boolParam(req.query, 'link')) throw new ApiError(400, 'links are not supported by tsdocker');
  const v = await findContainer(req.params[0]!);
  const force = boolParam(req.query, 'force');
  if (v.status === 'running' && !force) {
    throw new ApiError(409, `You cannot remove a running container ${v.config.id}. Stop the container before attempting removal or force remove`, 'CONTAINER_RUNNING');
  }
  const { removeContainer } = await import('../runtime/lifecycle.js');
  try {
    await removeContainer(v.config.id, { force, volumes: boolParam(req.query, 'v') });
  } catch (err) {
    if (!(err instanceof TsdError && err.code === 'CONTAINER_NOT_FOUND')) throw err;
  }
  sendEmpty(res, 204);
}

const ID = '([^/]+)';

export const containerRoutes: Route[] = [
  ['GET', /^\/containers\/json$/, list],
  ['POST', /^\/containers\/create$/, createHandler],
  ['GET', new RegExp(`^/containers/${ID}/json$`), inspect],
  ['GET', new RegExp(`^/containers/${ID}/logs$`), logsHandler],
  ['POST', new RegExp(`^/containers/${ID}/start$`), start],
  ['POST', new RegExp(`^/containers/${ID}/stop$`), stop],
  ['POST', new RegExp(`^/containers/${ID}/kill$`), kill],
  ['POST', new RegExp(`^/containers/${ID}/wait$`), wait],
  ['POST', new RegExp(`^/containers/${ID}/resize$`), resize],
  ['POST', new RegExp(`^/containers/${ID}/update$`), updateHandler],
  ['DELETE', new RegExp(`^/containers/${ID}$`), remove],
];
