/**
 * `rename OLD NEW` (Docker's daemon/rename.go): the new name is checked and reserved under the
 * containers lock in the names index (state/names.ts), as `create` reserves one, and the
 * record is rewritten under the container's own locks; on user networks the DNS name follows at once, running or not.
 */
import { withDirLock, withLock } from '../state/lock.js';
import { containerFiles, findContainer, readContainer, writeConfig } from '../state/containers.js';
import { nameIndex } from '../state/names.js';
import { renameEndpoints, renamedPlan } from '../net/rename.js';
import { TsdError } from '../sys/errors.js';
import { emitContainer } from '../state/events.js';
import { nameConflict, validateName } from './names.js';

export async function renameContainer(oldRef: string, newName: string): Promise<void> {
  if (!oldRef || !newName) {
    throw new TsdError('BAD_ARGS', 'Neither old nor new names may be empty', { hint: 'usage: tsdocker rename CONTAINER NEW_NAME' });
  }
  const name = validateName(newName);
  const v = await findContainer(oldRef);
  const id = v.config.id;
  await withLock('containers', async () => {
    await withLock(`ctr-${id}`, async () => {
      // and the container's own lock, which a removal holds: a rename never writes a record
      // (and a name entry) that a removal running beside it has not seen
      const done = await withDirLock(containerFiles.dir(id), `container ${id.slice(0, 12)}`, () => renameLocked(id, name));
      if (!done) await findContainer(oldRef); // removed meanwhile: Docker's "No such container"
    });
  });
}

/** false when the container is gone (removed while this waited for its lock). */
async function renameLocked(id: string, name: string): Promise<boolean> {
  const cur = await readContainer(id);
  if (!cur) return false;
  if (cur.config.name === name) {
    throw new TsdError('BAD_ARGS', 'Renaming a container with the same name as its current name', { hint: 'give a different name' });
  }
  const names = nameIndex();
  const owner = names.owner(name);
  if (owner !== undefined) throw nameConflict(name, owner);
  // the new entry before the record, the old one after it: a crash between leaves a stale entry
  names.reserve(name, id);
  try {
    await writeConfig({ ...cur.config, name, network: renamedPlan(cur.config.network, name) });
  } catch (err) {
    names.release(name, id);
    throw err;
  }
  names.release(cur.config.name, id);
  await renameEndpoints(id, name);
  emitContainer({ ...cur.config, name }, 'rename', { oldName: `/${cur.config.name}` });
  return true;
}
