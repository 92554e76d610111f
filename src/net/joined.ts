/**
 * `--network container:X` at start. The record keeps only X's id: a namespace path taken at
 * create (`/proc/<pid>/ns/net`) would name whatever process has that pid once X has stopped
 * and its pid was reused. So X is looked up at every start, must be running (its recorded
 * pid alive with its recorded start time, as status is derived), and its /etc/hosts and
 * resolv.conf are taken as they are now; a start after X restarted joins X's new namespace,
 * as Docker does. The monitor opens `/proc/<pid>/ns/net` after that check and before it
 * reports the container's pid; checking X's pid and start time again once the pid is
 * reported (verifyJoinTarget) proves the descriptor it opened was X's namespace.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from '../state/paths.js';
import { TsdError } from '../sys/errors.js';
import { isSameProcess } from '../sys/proc.js';
import { findContainer } from '../state/containers.js';
import { hostResolvConf, renderHosts } from './resolv.js';
import { netFiles } from './store.js';
import type { NetworkPlan } from './index.js';

function notRunning(id: string): TsdError {
  return new TsdError('CONTAINER_NOT_RUNNING', `cannot join network of a non running container: ${id}`, {
    hint: `start ${id.slice(0, 12)} first`,
  });
}

/** The target's generated file, or `fallback` when it has none yet. */
export function targetFile(id: string, name: 'hosts' | 'resolv.conf', fallback: string): string {
  try {
    return readFileSync(netFiles.containerFile(id, name), 'utf8');
  } catch {
    return fallback;
  }
}

const joinersDir = (id: string): string => join(paths.container(id), 'joiners');

/**
 * Whether a container ever joined `id`'s network namespace (a marker in X's directory, written
 * at the joiner's start and gone with X). Without one, X's namespace dies with X, and its veth
 * with it: the cleanup need not wait for that (endpoint.ts).
 */
export function hasJoiners(id: string): boolean {
  try {
    return readdirSync(joinersDir(id)).length > 0;
  } catch {
    return false;
  }
}

/** The plan to start with: for container:X, X's namespace and files as they are now. */
export async function resolveJoinTarget(plan: NetworkPlan, joinerId?: string): Promise<NetworkPlan> {
  const targetId = plan.targetId;
  if (typeof targetId !== 'string') return plan;
  const target = await findContainer(targetId);
  if (target.status !== 'running' || !target.state) throw notRunning(targetId);
  if (joinerId) {
    mkdirSync(joinersDir(target.config.id), { recursive: true });
    writeFileSync(join(joinersDir(target.config.id), joinerId), '');
  }
  const { pid, pidStartTime } = target.state;
  return {
    ...plan,
    joinNetns: `/proc/${pid}/ns/net`,
    joinPid: pid,
    joinPidStartTime: pidStartTime,
    hosts: targetFile(targetId, 'hosts', renderHosts(target.config.hostname, undefined, [])),
    resolvConf: targetFile(targetId, 'resolv.conf', hostResolvConf()),
  };
}

/** After the monitor has opened the namespace: is the pid still X's? Refuse otherwise. */
export function verifyJoinTarget(plan: NetworkPlan): void {
  if (typeof plan.targetId !== 'string') return;
  const pid = plan.joinPid as number | undefined;
  const start = plan.joinPidStartTime as number | undefined;
  if (!isSameProcess(pid, start)) throw notRunning(plan.targetId);
}
