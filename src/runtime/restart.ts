/** `start`: run a created or exited container again, detached, with its recorded config. */
import { findContainer } from '../state/containers.js';
import { cleanupAfterExit } from './lifecycle.js';
import { startContainer } from './start.js';

export async function startExisting(ref: string): Promise<string> {
  const v = await findContainer(ref);
  if (v.status === 'running') return v.config.id;
  if (v.state && !v.state.cleanedUp) await cleanupAfterExit(v.config.id);
  const started = await startContainer(v.config, { foreground: false });
  started.handle.detach();
  return v.config.id;
}
