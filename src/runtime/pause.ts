/**
 * `pause`/`unpause` (Docker's daemon/pause.go, unpause.go): the cgroup freezer. A paused
 * container is still running (State.Running and Paused both true, status "paused"); a stop or
 * a kill of it sends the signal, then thaws it so the signal is delivered, as Docker does.
 */
import { findContainer, type ContainerView } from '../state/containers.js';
import { TsdError } from '../sys/errors.js';
import { emitContainer } from '../state/events.js';
import { freeze, isFrozen } from './cgroups/freezer.js';
import { readResourceRecordSync } from '../state/volumes.js';
import { cgroupHandle, type CgroupHandle } from './cgroups/index.js';

/** The container's cgroup directories (under the parent it was created with). */
export function containerCgroup(id: string): CgroupHandle {
  return cgroupHandle(id, { parent: readResourceRecordSync(id)?.cgroupParent });
}

const frozen = new WeakMap<ContainerView, boolean>();

/**
 * Is this running container frozen? Asked once per view (a `ps` row asks for its Status and
 * its State: one read of its resource record and freezer state, not two).
 */
export function isPaused(v: ContainerView): boolean {
  if (v.status !== 'running') return false;
  let f = frozen.get(v);
  if (f === undefined) frozen.set(v, (f = isFrozen(containerCgroup(v.config.id))));
  return f;
}

/** Docker's State.Status: a frozen running container is "paused". */
export function dockerState(v: ContainerView): string {
  return isPaused(v) ? 'paused' : v.status;
}

export async function pauseContainer(ref: string): Promise<void> {
  const v = await findContainer(ref);
  if (v.status !== 'running') throw new TsdError('CONTAINER_NOT_RUNNING', `Container ${v.config.id} is not running`, { hint: 'start it first with `tsdocker start`' });
  const cg = containerCgroup(v.config.id);
  if (isFrozen(cg)) throw new TsdError('CONTAINER_PAUSED', `Container ${v.config.id} is already paused`, { hint: 'resume it with `tsdocker unpause`' });
  await freeze(cg, true);
  emitContainer(v.config, 'pause');
}

export async function unpauseContainer(ref: string): Promise<void> {
  const v = await findContainer(ref);
  const cg = containerCgroup(v.config.id);
  if (v.status !== 'running' || !isFrozen(cg)) throw new TsdError('CONTAINER_NOT_PAUSED', `Container ${v.config.id} is not paused`, { hint: 'see `tsdocker ps` for its state' });
  await freeze(cg, false);
  emitContainer(v.config, 'unpause');
}

/** After a signal to a paused container: thaw it, so the signal is delivered (Docker's killWithSignal). */
export async function thawIfPaused(id: string): Promise<void> {
  const cg = containerCgroup(id);
  if (isFrozen(cg)) await freeze(cg, false);
}

/** exec refuses a paused container, with Docker's message. */
export async function refuseIfPaused(ref: string, v: ContainerView): Promise<void> {
  if (isPaused(v)) throw new TsdError('CONTAINER_PAUSED', `Container ${ref} is paused, unpause the container before exec`, { hint: 'resume it with `tsdocker unpause`' });
}
