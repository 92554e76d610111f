/**
 * Restart policies (`--restart`): parsed and checked with docker/cli's and moby's rules and
 * messages; the monitor applies them after each exit (native/src/restart.c). Two files in
 * the container's directory carry them between runs:
 *   restart.json  written by the monitor: {count, timeoutMs, restarting} (RestartCount, the
 *                 back-off reached, State.Restarting during the wait)
 *   .stopped      made by stop/kill before the signal: Docker's "stopped by hand", which
 *                 cancels the policy until the next `start`/`restart`
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { containerFiles, findContainer, readRestartRecord, writeConfig, type ContainerConfig, type RestartPolicy } from '../state/containers.js';
import { withLock } from '../state/lock.js';
import { writeFileAtomic } from '../sys/fs.js';
import { TsdError } from '../sys/errors.js';

/** docker/cli's opts.ParseRestartPolicy, then moby's validateRestartPolicy. */
export function parseRestartPolicy(value: string | undefined): RestartPolicy | undefined {
  if (value === undefined || value === '') return undefined;
  const parts = value.split(':');
  const hint = 'use --restart no, on-failure[:max-retries], always or unless-stopped';
  if (parts.length > 2) throw new TsdError('BAD_ARGS', 'invalid restart policy format', { hint });
  let max = 0;
  if (parts.length === 2) {
    if (!/^[+-]?\d+$/.test(parts[1]!)) throw new TsdError('BAD_ARGS', 'maximum retry count must be an integer', { hint });
    max = Number(parts[1]);
  }
  const name = parts[0]!;
  if (['always', 'unless-stopped', 'no'].includes(name)) {
    if (max !== 0) throw new TsdError('BAD_ARGS', `maximum retry count cannot be used with restart policy '${name}'`, { hint });
  } else if (name === 'on-failure') {
    if (max < 0) throw new TsdError('BAD_ARGS', 'maximum retry count cannot be negative', { hint });
  } else if (name !== '') {
    throw new TsdError('BAD_ARGS', `invalid restart policy '${name}'`, { hint });
  }
  return { name, maximumRetryCount: max };
}

/** docker/cli refuses --rm with any policy but `no`. */
export function checkAutoRemove(policy: RestartPolicy | undefined, rm: boolean): void {
  if (rm && policy && policy.name !== '' && policy.name !== 'no') {
    throw new TsdError('BAD_ARGS', 'Conflicting options: --restart and --rm', { hint: 'a container removed at its exit cannot be restarted: drop one of them' });
  }
}

export function hasPolicy(config: ContainerConfig): boolean {
  const p = config.restartPolicy;
  return p !== undefined && p.name !== '' && p.name !== 'no';
}

/** Docker's HostConfig.RestartPolicy: {Name: "no"} when none was given. */
export function inspectPolicy(config: ContainerConfig): { Name: string; MaximumRetryCount: number } {
  return { Name: config.restartPolicy?.name || 'no', MaximumRetryCount: config.restartPolicy?.maximumRetryCount ?? 0 };
}

/** Stopped by hand (stop, kill): the monitor will not restart the container. */
export function markStopped(id: string): void {
  writeFileSync(containerFiles.stopped(id), '');
}

export function stoppedByHand(id: string): boolean {
  return existsSync(containerFiles.stopped(id));
}

/** A `start` or `restart` by the user: the policy is armed again, RestartCount back to 0 (Docker's ResetRestartManager). */
export function rearm(id: string): void {
  rmSync(containerFiles.stopped(id), { force: true });
  rmSync(containerFiles.restart(id), { force: true });
}

/**
 * What the monitor needs of the policy at a start: where the count and the back-off stand.
 * `no` too (not for --rm): `update --restart` may give a running container a policy.
 */
export function restartSpecInput(config: ContainerConfig): { policy: string; max: number; count: number; timeoutMs: number } | undefined {
  if (config.autoRemove) return undefined;
  rmSync(policyOverride(config.id), { force: true }); // this start's spec has the policy as it stands
  const rec = hasPolicy(config) ? readRestartRecord(config.id) : undefined;
  return { policy: config.restartPolicy?.name || 'no', max: config.restartPolicy?.maximumRetryCount ?? 0, count: rec?.count ?? 0, timeoutMs: rec?.timeoutMs ?? 0 };
}

/** Read by the running monitor at the exit (native/src/restart.c): "name max". */
const policyOverride = (id: string) => `${containerFiles.restart(id)}.policy`;

/**
 * `update --restart`: the new policy in the record, and for the running monitor (moby's
 * UpdateMonitor). A --rm container cannot take one (moby's message).
 */
export async function updateRestartPolicy(ref: string, value: string): Promise<void> {
  const policy = parseRestartPolicy(value);
  if (!policy || policy.name === '') return;
  const { config } = await findContainer(ref);
  await withLock(`ctr-${config.id}`, async () => {
    const v = await findContainer(config.id);
    if (v.config.autoRemove && policy.name !== 'no') {
      throw new TsdError('BAD_ARGS', `Cannot update container ${config.id}: Restart policy cannot be updated because AutoRemove is enabled for the container`, {
        hint: 'a --rm container keeps no restart policy',
      });
    }
    await writeConfig({ ...v.config, restartPolicy: policy });
    if (!v.config.autoRemove) await writeFileAtomic(policyOverride(config.id), `${policy.name} ${policy.maximumRetryCount}\n`, { durable: false });
  });
}
