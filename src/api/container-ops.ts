/**
 * The container endpoints beyond the lifecycle of containers.ts: top, stats, rename, pause,
 * unpause, restart and prune, with dockerd's statuses (404 no such container, 409 not
 * running / already paused / name in use), each the runtime's own function.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, filtersParam, intParam, sendEmpty, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { statsHandler } from './stats.js';
import { findContainer } from '../state/containers.js';

/** GET /containers/{id}/top?ps_args=: {"Titles", "Processes"} from ps, the container's pids only. */
async function top(req: Request, res: ServerResponse): Promise<void> {
  const { topContainer } = await import('../runtime/top.js');
  const psArgs = req.query.get('ps_args');
  const list = await topContainer(req.params[0]!, psArgs ? psArgs.split(/\s+/).filter(Boolean) : []);
  sendJson(res, 200, { Titles: list.titles, Processes: list.processes });
}

async function rename(req: Request, res: ServerResponse): Promise<void> {
  const name = req.query.get('name');
  if (!name) throw new ApiError(400, 'Neither old nor new names may be empty');
  const { renameContainer } = await import('../runtime/rename.js');
  await renameContainer(req.params[0]!, name.replace(/^\//, ''));
  sendEmpty(res, 204);
}

async function pause(req: Request, res: ServerResponse): Promise<void> {
  const { pauseContainer } = await import('../runtime/pause.js');
  await pauseContainer(req.params[0]!);
  sendEmpty(res, 204);
}

async function unpause(req: Request, res: ServerResponse): Promise<void> {
  const { unpauseContainer } = await import('../runtime/pause.js');
  await unpauseContainer(req.params[0]!);
  sendEmpty(res, 204);
}

/** POST /containers/{id}/restart?t=: stop (a stopped one is just started), then start. */
async function restart(req: Request, res: ServerResponse): Promise<void> {
  const v = await findContainer(req.params[0]!);
  const { restartContainer } = await import('../runtime/restart.js');
  await restartContainer(v.config.id, intParam(req.query, 't'));
  sendEmpty(res, 204);
}

/** POST /containers/prune: every stopped container whose labels match (`label` filter). */
async function prune(req: Request, res: ServerResponse): Promise<void> {
  const filters = await filtersParam(req.query, ['label']);
  const { matchLabels } = await import('../query/filters.js');
  const { pruneContainers } = await import('../runtime/lifecycle.js');
  const r = await pruneContainers((v) => matchLabels(filters, 'label', v.config.labels));
  sendJson(res, 200, { ContainersDeleted: r.removed, SpaceReclaimed: r.bytes });
}

const ID = '([^/]+)';

export const containerOpRoutes: Route[] = [
  ['POST', /^\/containers\/prune$/, prune],
  ['GET', new RegExp(`^/containers/${ID}/top$`), top],
  ['GET', new RegExp(`^/containers/${ID}/stats$`), statsHandler],
  ['POST', new RegExp(`^/containers/${ID}/rename$`), rename],
  ['POST', new RegExp(`^/containers/${ID}/pause$`), pause],
  ['POST', new RegExp(`^/containers/${ID}/unpause$`), unpause],
  ['POST', new RegExp(`^/containers/${ID}/restart$`), restart],
];
