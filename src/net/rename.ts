/**
 * `rename`: the container's name follows on every network it is on (the endpoint records the
 * embedded DNS reads), and in its plan, so the next start attaches under the new name.
 */
import { withLock } from '../state/lock.js';
import { pokeDns } from './dns.js';
import { NET_LOCK, listNetworks, readEndpoint, saveEndpoint } from './store.js';

/** The plan with the new name (plans of other modes carry none). */
export function renamedPlan(plan: Record<string, unknown>, name: string): Record<string, unknown> {
  return plan.mode === 'bridge' ? { ...plan, containerName: name } : plan;
}

/** Rewrite this host's endpoint records of the container under the new name; the DNS rescans. */
export async function renameEndpoints(containerId: string, name: string): Promise<void> {
  const changed = await withLock(NET_LOCK, async () => {
    let n = 0;
    for (const net of listNetworks()) {
      const e = readEndpoint(net.id, containerId);
      if (!e || e.name === name) continue;
      saveEndpoint(net.id, { ...e, name });
      n++;
    }
    return n;
  });
  if (changed) pokeDns();
}
