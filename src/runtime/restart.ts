/**
 * `start`: run a created or exited container again, detached, with its recorded config.
 * `restart`: stop (if running) then start, keeping the container's plan (Docker's
 * containerRestart); a --rm container is not removed by the stop in between. Both arm the
 * restart policy again with RestartCount 0 (Docker's ResetRestartManager); the policy's own
 * restarts come through restartByPolicy.
 */
import { containerFiles, findContainer, readContainer } from '../state/containers.js';
import { holdMarker } from '../state/lock.js';
import { emitContainer } from '../state/events.js';
import { TsdError } from '../sys/errors.js';
import { isPaused } from './pause.js';
import { cleanupAfterExit, stopContainer } from './lifecycle.js';
import { startContainer } from './start.js';
import { rearm, stoppedByHand } from './restart-policy.js';

export async function startExisting(ref: string): Promise<string> {
  const v = await findContainer(ref);
  if (v.status === 'running' || v.restarting) {
    if (isPaused(v)) throw new TsdError('CONTAINER_PAUSED', 'cannot start a paused container, try unpause instead', { hint: '`tsdocker unpause` it' });
    return v.config.id;
  }
  if (v.state && !v.state.cleanedUp) await cleanupAfterExit(v.config.id);
  rearm(v.config.id);
  const started = await startContainer(v.config, { foreground: false });
  started.handle.detach();
  return v.config.id;
}

/**
 * The restart a policy asked for (`tsdocker internal restart ID`, exec'd by the monitor after
 * its back-off): start the container again with the count and back-off the monitor recorded,
 * unless a stop came meanwhile. This process ends once the new monitor runs it.
 */
export async function restartByPolicy(id: string): Promise<void> {
  const v = await readContainer(id);
  if (!v || v.status === 'running' || stoppedByHand(id)) return;
  if (v.state && !v.state.cleanedUp) await cleanupAfterExit(id);
  const started = await startContainer(v.config, { foreground: false });
  started.handle.detach();
}

export async function restartContainer(ref: string, timeoutSec: number | undefined): Promise<string> {
  const v = await findContainer(ref);
  const release = holdMarker(containerFiles.restarting(v.config.id));
  try {
    await stopContainer(v.config.id, timeoutSec);
    await startExisting(v.config.id);
    emitContainer(v.config, 'restart');
    return v.config.id;
  } finally {
    release();
  }
}
