/**
 * `start`: run a created or exited container again, detached, with its recorded config.
 * `restart`: stop (if running) then start, keeping the container's plan (Docker's
 * containerRestart); a --rm container is not removed by the stop in between.
 */
import { containerFiles, findContainer } from '../state/containers.js';
import { holdMarker } from '../state/lock.js';
import { emitContainer } from '../state/events.js';
import { TsdError } from '../sys/errors.js';
import { isPaused } from './pause.js';
import { cleanupAfterExit, stopContainer } from './lifecycle.js';
import { startContainer } from './start.js';

export async function startExisting(ref: string, opts: { beforeGo?: (id: string) => Promise<void> } = {}): Promise<string> {
  const v = await findContainer(ref);
  if (v.status === 'running') {
    if (isPaused(v)) throw new TsdError('CONTAINER_PAUSED', 'cannot start a paused container, try unpause instead', { hint: '`tsdocker unpause` it' });
    return v.config.id;
  }
  if (v.state && !v.state.cleanedUp) await cleanupAfterExit(v.config.id);
  const beforeGo = opts.beforeGo;
  const started = await startContainer(v.config, { foreground: false, ...(beforeGo ? { beforeGo: () => beforeGo(v.config.id) } : {}) });
  started.handle.detach();
  return v.config.id;
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
