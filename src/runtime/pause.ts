/**
 * `pause`/`unpause` (Docker's daemon/pause.go, unpause.go): the cgroup freezer. A paused
 * container is still running (State.Running and Paused both true, status "paused"); a stop or
 * a kill of it sends the signal, then thaws it so the signal is delivered, as Docker does.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { containerFiles, findContainer, type ContainerView } from '../state/containers.js';
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
 * its State: one read of its resource record and freezer state, not two), and only of a
 * container that `pause` marked: as dockerd, which keeps Paused in its own record and never
 * reads the cgroup to list, `ps` of 200 running containers reads 200 resource records and
 * freezer states no more. The marker is made before the freeze and removed after the thaw, so
 * a crash in between leaves a marker whose freezer says the truth; a cgroup frozen behind
 * tsdocker's back (by hand in cgroupfs) is not seen as paused, as dockerd would not see it.
 */
export function isPaused(v: ContainerView): boolean {
  if (v.status !== 'running') return false;
  let f = frozen.get(v);
  if (f === undefined) frozen.set(v, (f = existsSync(containerFiles.paused(v.config.id)) && isFrozen(containerCgroup(v.config.id))));
  return f;
}

async function setFrozen(id: string, cg: CgroupHandle, on: boolean): Promise<void> {
  if (on) writeFileSync(containerFiles.paused(id), '');
  await freeze(cg, on);
  if (!on) rmSync(containerFiles.paused(id), { force: true });
}

/** Docker's State.Status: a frozen running container is "paused"; one in its restart back-off "restarting". */
export function dockerState(v: ContainerView): string {
  return isPaused(v) ? 'paused' : v.restarting ? 'restarting' : v.status;
}

export async function pauseContainer(ref: string): Promise<void> {
  const v = await findContainer(ref);
  if (v.status !== 'running') throw new TsdError('CONTAINER_NOT_RUNNING', `Container ${v.config.id} is not running`, { hint: 'start it first with `tsdocker start`' });
  const cg = containerCgroup(v.config.id);
  if (isFrozen(cg)) throw new TsdError('CONTAINER_PAUSED', `Container ${v.config.id} is already paused`, { hint: 'resume it with `tsdocker unpause`' });
  await setFrozen(v.config.id, cg, true);
  emitContainer(v.config, 'pause');
}

export async function unpauseContainer(ref: string): Promise<void> {
  const v = await findContainer(ref);
  const cg = containerCgroup(v.config.id);
  if (v.status !== 'running' || !isFrozen(cg)) throw new TsdError('CONTAINER_NOT_PAUSED', `Container ${v.config.id} is not paused`, { hint: 'see `tsdocker ps` for its state' });
  await setFrozen(v.config.id, cg, false);
  emitContainer(v.config, 'unpause');
}

/** After a signal to a paused container: thaw it, so the signal is delivered (Docker's killWithSignal). */
export async function thawIfPaused(id: string): Promise<void> {
  const cg = containerCgroup(id);
  if (isFrozen(cg)) await setFrozen(id, cg, false);
}

/** exec refuses a paused container, with Docker's message. */
export async function refuseIfPaused(ref: string, v: ContainerView): Promise<void> {
  if (isPaused(v)) throw new TsdError('CONTAINER_PAUSED', `Container ${ref} is paused, unpause the container before exec`, { hint: 'resume it with `tsdocker unpause`' });
}
