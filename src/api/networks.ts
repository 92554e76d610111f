/**
 * /networks: list (filters), inspect, create (IPAM Subnet/Gateway/IPRange, Internal, Options,
 * Labels), remove, connect (Aliases, IPAMConfig.IPv4Address), disconnect and prune, in
 * dockerd's shapes and statuses, through src/net's own functions (those of `tsdocker network`).
 * A field tsdocker does not implement is refused with a 400 naming it, never dropped.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, filtersParam, readJson, sendEmpty, sendJson, type Request } from './http.js';
import type { Route } from './router.js';
import { refuseUnknown, str, strings } from './fields.js';
import { TsdError } from '../sys/errors.js';

type Obj = Record<string, unknown>;

async function list(req: Request, res: ServerResponse): Promise<void> {
  const { NETWORK_FILTERS, filterNetworks, networkSummaries } = await import('../query/resources.js');
  const { inspectNetwork } = await import('../net/networks.js');
  const filters = await filtersParam(req.query, NETWORK_FILTERS);
  const nets = filterNetworks(await networkSummaries(), filters);
  // dockerd's list leaves the containers out (they are inspect's)
  sendJson(res, 200, await Promise.all(nets.map(async (n) => ({ ...(await inspectNetwork(n.id)), Containers: {} }))));
}

async function inspect(req: Request, res: ServerResponse): Promise<void> {
  const { inspectNetwork } = await import('../net/networks.js');
  sendJson(res, 200, await inspectNetwork(req.params[0]!));
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) throw new ApiError(400, `${field} must map names to strings`);
  return v as Record<string, string>;
}

/** The IPAM block: the default driver and at most one IPv4 config. */
function ipamConfig(ipam: unknown): { subnet?: string; gateway?: string; ipRange?: string } {
  const o = (ipam ?? {}) as Obj;
  refuseUnknown(o, new Set(['Driver', 'Config', 'Options']), 'IPAM');
  if (o.Driver && o.Driver !== 'default') throw new ApiError(400, `IPAM driver ${JSON.stringify(o.Driver)} is not supported by tsdocker; leave it out (default)`);
  if (Object.keys(stringMap(o.Options, 'IPAM.Options')).length) throw new ApiError(400, 'IPAM.Options is not supported by tsdocker yet; leave it out');
  const configs = (o.Config ?? []) as Obj[];
  if (!Array.isArray(configs)) throw new ApiError(400, 'IPAM.Config must be a list');
  if (configs.length > 1) throw new ApiError(400, 'tsdocker networks take one IPAM config (one IPv4 subnet)');
  const c = configs[0] ?? {};
  refuseUnknown(c, new Set(['Subnet', 'Gateway', 'IPRange']), 'IPAM.Config');
  const out: { subnet?: string; gateway?: string; ipRange?: string } = {};
  const subnet = str(c.Subnet, 'IPAM.Config.Subnet');
  const gateway = str(c.Gateway, 'IPAM.Config.Gateway');
  const ipRange = str(c.IPRange, 'IPAM.Config.IPRange');
  if (subnet) out.subnet = subnet;
  if (gateway) out.gateway = gateway;
  if (ipRange) out.ipRange = ipRange;
  return out;
}

/** The driver options tsdocker acts on (src/net/networks.ts, drivers/overlay.ts); any other would be stored and ignored. */
const DRIVER_OPTIONS: Record<string, string[]> = {
  bridge: ['mtu', 'com.docker.network.driver.mtu', 'bridge', 'com.docker.network.bridge.name'],
  overlay: ['mtu', 'com.docker.network.driver.mtu', 'vni', 'vxlan-port'],
};

function driverOptions(driver: string, v: unknown): Record<string, string> {
  const options = stringMap(v, 'Options');
  const known = DRIVER_OPTIONS[driver] ?? [];
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new ApiError(400, `network option ${k} is not supported by tsdocker for driver ${driver}; it takes ${known.join(', ') || 'none'}`);
  }
  return options;
}

/** POST /networks/create: 201 {"Id", "Warning"}; a name in use is dockerd's 409 (CheckDuplicate or not: names are unique here). */
async function create(req: Request, res: ServerResponse): Promise<void> {
  const body = await readJson(req.raw);
  // Attachable and Scope "local" change nothing on a single host, as with dockerd's local networks
  refuseUnknown(body, new Set(['Name', 'CheckDuplicate', 'Driver', 'Internal', 'Attachable', 'IPAM', 'Options', 'Labels']), 'network');
  if (body.Scope !== undefined && body.Scope !== '' && body.Scope !== 'local') throw new ApiError(400, `network scope ${JSON.stringify(body.Scope)} is not supported by tsdocker; leave it out`);
  const name = str(body.Name, 'Name');
  if (!name) throw new ApiError(400, 'network name is required (Name)');
  const { createNetwork } = await import('../net/networks.js');
  const { ensureLayout } = await import('../state/paths.js');
  ensureLayout();
  const driver = str(body.Driver, 'Driver') ?? 'bridge';
  const rec = await createNetwork({
    name,
    driver,
    internal: body.Internal === true,
    options: driverOptions(driver, body.Options),
    labels: stringMap(body.Labels, 'Labels'),
    ...ipamConfig(body.IPAM),
  });
  sendJson(res, 201, { Id: rec.id, Warning: '' });
}

async function remove(req: Request, res: ServerResponse): Promise<void> {
  const { removeNetwork } = await import('../net/networks.js');
  await removeNetwork(req.params[0]!);
  sendEmpty(res, 204);
}

/** EndpointSettings as connect options: Aliases and IPAMConfig.IPv4Address; anything else set is refused. */
export function endpointOptions(ep: unknown, where: string): { ip?: string; aliases: string[] } {
  const o = (ep ?? {}) as Obj;
  // what dockerd fills in itself (and inspect shows): a client repeating it changes nothing
  refuseUnknown(o, new Set(['Aliases', 'IPAMConfig', 'NetworkID', 'EndpointID', 'Gateway', 'IPAddress', 'IPPrefixLen', 'MacAddress']), where);
  for (const k of ['Gateway', 'IPAddress', 'MacAddress'] as const) if (o[k]) throw new ApiError(400, `${where}.${k} is set by tsdocker, not by the client; leave it out`);
  const ipam = (o.IPAMConfig ?? {}) as Obj;
  refuseUnknown(ipam, new Set(['IPv4Address']), `${where}.IPAMConfig`);
  const ip = str(ipam.IPv4Address, `${where}.IPAMConfig.IPv4Address`);
  return { ...(ip ? { ip } : {}), aliases: strings(o.Aliases, `${where}.Aliases`) };
}

async function connect(req: Request, res: ServerResponse): Promise<void> {
  const body = await readJson(req.raw);
  refuseUnknown(body, new Set(['Container', 'EndpointConfig']), 'connect');
  const ctr = str(body.Container, 'Container');
  if (!ctr) throw new ApiError(400, 'Container is required');
  const { connectContainer } = await import('../net/connect.js');
  await connectContainer(req.params[0]!, ctr, endpointOptions(body.EndpointConfig, 'EndpointConfig'));
  sendEmpty(res, 200);
}

/** Force: dockerd's "disconnect even if the container is gone"; tsdocker removes a gone container's endpoint on its own. */
async function disconnect(req: Request, res: ServerResponse): Promise<void> {
  const body = await readJson(req.raw);
  refuseUnknown(body, new Set(['Container', 'Force']), 'disconnect');
  const ctr = str(body.Container, 'Container');
  if (!ctr) throw new ApiError(400, 'Container is required');
  const { disconnectContainer } = await import('../net/connect.js');
  try {
    await disconnectContainer(req.params[0]!, ctr);
  } catch (err) {
    if (!(body.Force === true && err instanceof TsdError && err.code === 'CONTAINER_NOT_FOUND')) throw err;
  }
  sendEmpty(res, 200);
}

/** POST /networks/prune: unused user networks, those whose labels match (`label` filter). */
async function prune(req: Request, res: ServerResponse): Promise<void> {
  const filters = await filtersParam(req.query, ['label']);
  const { pruneNetworks } = await import('../net/networks.js');
  const { matchLabels } = await import('../query/filters.js');
  sendJson(res, 200, { NetworksDeleted: await pruneNetworks((n) => matchLabels(filters, 'label', n.labels)) });
}

const ID = '([^/]+)';

export const networkRoutes: Route[] = [
  ['GET', /^\/networks\/?$/, list],
  ['POST', /^\/networks\/create$/, create],
  ['POST', /^\/networks\/prune$/, prune],
  ['GET', new RegExp(`^/networks/${ID}$`), inspect],
  ['DELETE', new RegExp(`^/networks/${ID}$`), remove],
  ['POST', new RegExp(`^/networks/${ID}/connect$`), connect],
  ['POST', new RegExp(`^/networks/${ID}/disconnect$`), disconnect],
];
