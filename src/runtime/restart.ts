/**
 * `start`: run a created or exited container again, detached, with its recorded config.
 * `restart`: stop (if running) then start, keeping the container's plan (Docker's
 * containerRestart); a --rm container is not removed by the stop in between. Both arm the
 * restart policy again with RestartCount 0 (Docker's ResetRestartManager); the policy's own
 * restarts come through restartByPolicy.
 */
import { containerFiles, findContainer, listContainers, readContainer } from '../state/containers.js';
import { holdMarker } from '../state/lock.js';
import { emitContainer } from '../state/events.js';
import { TsdError } from '../sys/errors.js';
import { isPaused } from './pause.js';
import { cleanupAfterExit, reconcile, stopContainer } from './lifecycle.js';
import { startContainer } from './start.js';
import { rearm, stoppedByHand } from './restart-policy.js';

export async function startExisting(ref: string, opts: { beforeGo?: (id: string) => Promise<void> } = {}): Promise<string> {
  const v = await findContainer(ref);
  if (v.status === 'running' || v.restarting) {
    if (isPaused(v)) throw new TsdError('CONTAINER_PAUSED', 'cannot start a paused container, try unpause instead', { hint: '`tsdocker unpause` it' });
    return v.config.id;
  }
  if (v.state && !v.state.cleanedUp) await cleanupAfterExit(v.config.id);
  rearm(v.config.id);
  const beforeGo = opts.beforeGo;
  const started = await startContainer(v.config, { foreground: false, ...(beforeGo ? { beforeGo: () => beforeGo(v.config.id) } : {}) });
  started.handle.detach();
  return v.config.id;
}

/**
 * `start --all-restart`, for a boot unit (there is no daemon to do it): what dockerd does for
 * its containers when it starts: `always` ones come back even if stopped by hand,
 * `unless-stopped` ones unless stopped by hand, `on-failure` ones do not. Returns the names.
 */
export async function startAllRestart(): Promise<string[]> {
  await reconcile(); // the records of containers that died with the host
  const started: string[] = [];
  for (const v of await listContainers()) {
    const name = v.config.restartPolicy?.name;
    if (v.status !== 'exited' || v.restarting) continue;
    if (name !== 'always' && !(name === 'unless-stopped' && !stoppedByHand(v.config.id))) continue;
    await startExisting(v.config.id);
    started.push(v.config.name);
  }
  return started;
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
