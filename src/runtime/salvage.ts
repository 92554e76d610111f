/**
 * Removing a container whose records cannot be trusted: a corrupt config.json, state.json or
 * exit.json, or a directory without config.json (a `create` killed before it wrote the
 * record). Nothing is taken from the records: everything is found by names derived from the
 * id: its monitors (by the spec path on their command line; the container dies with its
 * monitor, PDEATHSIG), its cgroup, leases, endpoint records, host ports and nft rules. If any
 * of that cannot be released (a process that will not die, a busy cgroup), the record stays,
 * so nothing is ever left running without a record that points at it.
 */
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerFiles, type ContainerEntry } from '../state/containers.js';
import { markerHeld, withDirLock, withLock } from '../state/lock.js';
import { detachNetwork } from '../net/index.js';
import { kill as sendSignal } from '../native/index.js';
import { TsdError, errorMessage } from '../sys/errors.js';
import { runAll } from '../sys/undo.js';
import { releaseContainerResources } from './hooks.js';
import { releaseNamesOf } from '../state/names.js';

/** Monitors (run and exec) of the container: tsd-monitor processes whose spec lies in its directory. */
export function monitorsOf(id: string): number[] {
  const dir = `${containerFiles.dir(id)}/`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'tsd-monitor') continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith(dir))) pids.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

async function killMonitors(id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const pids = monitorsOf(id);
    if (!pids.length) return;
    for (const pid of pids) sendSignal(pid, osConstants.signals.SIGKILL);
    await sleep(i < 20 ? 5 : 50);
  }
  throw new TsdError('CONTAINER_RUNNING', `the monitor of container ${id.slice(0, 12)} did not die after SIGKILL`, {
    hint: 'it may be stuck in the kernel (uninterruptible sleep); retry shortly',
  });
}

/** Take down everything found by the id's derived names, then the directory; the record stays if anything could not go. */
async function removeByDerivedNames(id: string, volumes: boolean): Promise<void> {
  await killMonitors(id);
  await withDirLock(containerFiles.dir(id), `container ${id.slice(0, 12)}`, async () => {
    try {
      await runAll([
        ['detach network', () => detachNetwork(id, undefined)],
        ['release resources', () => releaseContainerResources(id, { removeVolumes: volumes })],
      ]);
    } catch (err) {
      throw new TsdError('STATE', `cannot remove container ${id.slice(0, 12)}: ${errorMessage(err)}`, {
        cause: err,
        hint: 'its record is kept; retry `rm -f` once the cause is gone',
      });
    }
    await fsp.rm(containerFiles.dir(id), { recursive: true, force: true });
  });
}

/** `rm` of an entry that is not a readable container. Without force a corrupt record is refused. */
export async function removeUnreadable(e: Exclude<ContainerEntry, { view: unknown }>, opts: { force: boolean; volumes: boolean }): Promise<void> {
  if ('corrupt' in e) {
    if (!opts.force) {
      throw new TsdError('CORRUPT_RECORD', `cannot remove container ${e.id.slice(0, 12)}: ${e.corrupt.message}`, {
        hint: '`rm -f` removes it with everything found by its id (monitor, cgroup, network)',
      });
    }
    await removeByDerivedNames(e.id, opts.volumes);
    await releaseNamesOf(e.id); // its name is unknown: whatever entry points to it
    return;
  }
  await removeIncomplete(e.id);
}

/**
 * An incomplete directory: `create` makes the directory and its `.creating` marker under the
 * containers lock and holds the marker until config.json is written, so a directory without
 * one and without a held marker while we hold that lock was left by a create that died.
 */
export async function removeIncomplete(id: string): Promise<boolean> {
  return withLock('containers', async () => {
    try {
      await fsp.access(containerFiles.config(id));
      return false; // the create finished meanwhile
    } catch {
      if (markerHeld(containerFiles.creating(id))) return false; // a create under way
      await removeByDerivedNames(id, true);
      await releaseNamesOf(id, { locked: true }); // a create killed after its name entry
      return true;
    }
  });
}
