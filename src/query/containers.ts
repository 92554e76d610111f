/**
 * Which containers a list selects, as dockerd's: Docker's container filters, and the words
 * and networks a container is listed with (its Status, "Up 2 minutes"). Used by `ps` and
 * by GET /containers/json.
 */
import { humanDuration, ago } from './human.js';
import { exact, invalidFilter, match, matchLabels, portSet, values, type Filters } from './filters.js';
import { findContainer, type ContainerView } from '../state/containers.js';
import { exitCodeOf } from '../runtime/lifecycle.js';
import { dockerState, isPaused } from '../runtime/pause.js';
import { inspectMounts } from '../runtime/resources.js';
import { resolveImage } from '../image/index.js';
import { TsdError } from '../sys/errors.js';
import { healthWords, readHealth } from '../runtime/health.js';

export const PS_FILTERS = ['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume'] as const;

const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];
const STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export function statusText(v: ContainerView): string {
  if (v.status === 'running') {
    const up = `Up ${humanDuration(Date.now() - Date.parse(v.state!.startedAt))}`;
    if (isPaused(v)) return `${up} (Paused)`;
    const health = readHealth(v.config);
    return health ? `${up} (${healthWords(health)})` : up;
  }
  if (v.status === 'created') return 'Created';
  if (v.restarting) return `Restarting (${exitCodeOf(v)}) ${v.exit ? ago(v.exit.finishedAt) : ''}`.trimEnd();
  return `Exited (${exitCodeOf(v)}) ${v.exit ? ago(v.exit.finishedAt) : ''}`.trimEnd();
}

/** The networks a container is on: its endpoints while running, else what it was created with. */
export function containerNetworks(v: ContainerView): string[] {
  const eps = (v.state?.network as { endpoints?: { network: string }[] } | undefined)?.endpoints;
  if (v.status === 'running' && eps) return eps.map((e) => e.network);
  const plan = v.config.network as { mode?: string; network?: string; connected?: { network: string }[]; primaryDisconnected?: boolean };
  if (plan.mode === 'bridge') return [...(plan.primaryDisconnected ? [] : [plan.network ?? 'bridge']), ...(plan.connected ?? []).map((c) => c.network)];
  return plan.mode ? [plan.mode.startsWith('container:') ? 'container' : plan.mode] : [];
}

export function publishedPorts(v: ContainerView): { hostPort: number; containerPort: number; proto: string }[] {
  if (v.status !== 'running') return [];
  return ((v.state?.network as { ports?: never[] } | undefined)?.ports ?? []) as { hostPort: number; containerPort: number; proto: string }[];
}

async function createdOf(ref: string): Promise<string> {
  return (await findContainer(ref)).config.created;
}

/**
 * Docker's container filters. `status` shows stopped containers without -a (as Docker);
 * `before`/`since` name a container (refused when there is none).
 */
export async function filterContainers(views: ContainerView[], f: Filters, all: boolean): Promise<ContainerView[]> {
  for (const h of values(f, 'health')) if (!HEALTH.includes(h)) throw new TsdError('BAD_ARGS', `Unrecognised filter value for health: ${h}`, { exitCode: 1, hint: `health is one of ${HEALTH.join(', ')}` });
  for (const s of values(f, 'status')) if (!STATES.includes(s)) throw new TsdError('BAD_ARGS', `Unrecognised filter value for status: ${s}`, { exitCode: 1, hint: `status is one of ${STATES.join(', ')}` });
  const exited = values(f, 'exited').map((e) => {
    if (!/^-?\d+$/.test(e)) throw invalidFilter('exited', e);
    return Number(e);
  });
  const before = values(f, 'before').length ? await createdOf(values(f, 'before')[0]!) : undefined;
  const since = values(f, 'since').length ? await createdOf(values(f, 'since')[0]!) : undefined;
  const ancestors = new Set<string>();
  for (const a of values(f, 'ancestor')) {
    try {
      ancestors.add((await resolveImage(a)).id);
    } catch (err) {
      if (!(err instanceof TsdError)) throw err;
    }
  }
  const publish = portSet(f, 'publish');
  const expose = portSet(f, 'expose');
  const showAll = all || values(f, 'status').length > 0;
  return views.filter((v) => {
    const c = v.config;
    if (!showAll && v.status !== 'running' && !v.restarting) return false;
    if (!match(f, 'name', c.name, `/${c.name}`) || !match(f, 'id', c.id) || !matchLabels(f, 'label', c.labels)) return false;
    // each fact below is read only when a filter asks for it (the State reads the freezer)
    if (values(f, 'status').length && !exact(f, 'status', dockerState(v))) return false;
    if (exited.length && !(v.status === 'exited' && exited.includes(exitCodeOf(v)))) return false;
    if (before !== undefined && !(c.created < before)) return false;
    if (since !== undefined && !(c.created > since)) return false;
    if (values(f, 'ancestor').length && !ancestors.has(c.image.id) && !values(f, 'ancestor').includes(c.image.ref)) return false;
    if (values(f, 'network').length) {
      const nets = containerNetworks(v);
      const ids = ((v.state?.network as { endpoints?: { networkId: string }[] } | undefined)?.endpoints ?? []).map((e) => e.networkId);
      if (!values(f, 'network').some((n) => nets.includes(n) || ids.some((id) => id.startsWith(n)))) return false;
    }
    if (publish && !publishedPorts(v).some((p) => publish.has(`${p.hostPort}/${p.proto}`))) return false;
    if (expose && !publishedPorts(v).some((p) => expose.has(`${p.containerPort}/${p.proto}`))) return false;
    if (values(f, 'volume').length) {
      const mounts = inspectMounts(c.id);
      if (!values(f, 'volume').some((x) => mounts.some((m) => m.Name === x || m.Destination === x || m.Source === x))) return false;
    }
    if (values(f, 'health').length && !values(f, 'health').includes(readHealth(c)?.Status ?? 'none')) return false;
    if (values(f, 'is-task').length && !values(f, 'is-task').includes('false')) return false;
    return true;
  });
}
