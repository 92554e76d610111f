/**
 * /volumes: list (filters), create, inspect, remove (force) and prune, in dockerd's shapes,
 * through the volume store's own functions (those of `tsdocker volume`). Only the local
 * driver without options exists here: another driver or DriverOpts is refused, never dropped.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, boolParam, filtersParam, readJson, sendEmpty, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { refuseUnknown, str } from './fields.js';
import { TsdError } from '../sys/errors.js';
import type { VolumeRecord } from '../state/volumes.js';

/** A volume as dockerd shows it (the Anonymous mark is ours). */
function shape(v: VolumeRecord): Omit<VolumeRecord, 'Anonymous'> {
  const { Anonymous: _a, ...rest } = v;
  return rest;
}

/** dockerd's words for a missing volume: the client reads the 404 and says "No such volume". */
function notFound(err: unknown, name: string): never {
  if (err instanceof TsdError && err.code === 'VOLUME_NOT_FOUND') throw new ApiError(404, `get ${name}: no such volume`, 'VOLUME_NOT_FOUND');
  throw err;
}

async function list(req: Request, res: ServerResponse): Promise<void> {
  const { VOLUME_FILTERS, filterVolumes } = await import('../query/resources.js');
  const { listVolumes, volumeUsers } = await import('../state/volumes.js');
  const filters = await filtersParam(req.query, VOLUME_FILTERS);
  const users = await volumeUsers();
  const vols = filterVolumes(await listVolumes(), filters, (n) => Boolean(users.get(n)?.length));
  sendJson(res, 200, { Volumes: vols.map(shape), Warnings: [] });
}

/** POST /volumes/create: 201 with the volume; a name that exists returns that volume, as dockerd. */
async function create(req: Request, res: ServerResponse): Promise<void> {
  const body = await readJson(req.raw);
  refuseUnknown(body, new Set(['Name', 'Driver', 'Labels']), 'volume');
  const driver = str(body.Driver, 'Driver') ?? 'local';
  if (driver !== 'local') throw new ApiError(400, `volume driver "${driver}" is not supported: tsdocker has the local driver only`);
  const labels = (body.Labels ?? {}) as Record<string, unknown>;
  if (typeof labels !== 'object' || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== 'string')) throw new ApiError(400, 'Labels must map names to strings');
  const { createVolumeCommand } = await import('../state/volumes.js');
  const { ensureLayout } = await import('../state/paths.js');
  ensureLayout();
  sendJson(res, 201, shape(await createVolumeCommand(str(body.Name, 'Name'), labels as Record<string, string>)));
}

async function inspect(req: Request, res: ServerResponse): Promise<void> {
  const { findVolume } = await import('../state/volumes.js');
  const name = req.params[0]!;
  sendJson(res, 200, shape(await findVolume(name).catch((err: unknown) => notFound(err, name))));
}

/** DELETE /volumes/{name}: 409 while a container uses it; force: a missing volume is no error. */
async function remove(req: Request, res: ServerResponse): Promise<void> {
  const { removeVolumeCommand } = await import('../state/volumes.js');
  const name = req.params[0]!;
  await removeVolumeCommand(name, { force: boolParam(req.query, 'force') }).catch((err: unknown) => notFound(err, name));
  sendEmpty(res, 204);
}

/** POST /volumes/prune: API 1.41 (docker 20.10) prunes every unused volume, named or not; `label` filters. */
async function prune(req: Request, res: ServerResponse): Promise<void> {
  const filters = await filtersParam(req.query, ['label']);
  const { matchLabels } = await import('../query/filters.js');
  const { pruneVolumes } = await import('../state/volumes.js');
  const { names, bytes } = await pruneVolumes({ all: true, select: (v) => matchLabels(filters, 'label', v.Labels) });
  sendJson(res, 200, { VolumesDeleted: names, SpaceReclaimed: bytes });
}

export const volumeRoutes: Route[] = [
  ['GET', /^\/volumes\/?$/, list],
  ['POST', /^\/volumes\/create$/, create],
  ['POST', /^\/volumes\/prune$/, prune],
  ['GET', /^\/volumes\/([^/]+)$/, inspect],
  ['DELETE', /^\/volumes\/([^/]+)$/, remove],
];
