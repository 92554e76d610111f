/**
 * `rename OLD NEW` (Docker's daemon/rename.go): the new name is checked and reserved under the
 * containers lock, as `create` reserves one, and the record is rewritten under the container's
 * own lock; on user networks the DNS name follows at once, running or not.
 */
import { withLock } from '../state/lock.js';
import { containerNames, findContainer, writeConfig } from '../state/containers.js';
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
      const cur = await findContainer(id);
      if (cur.config.name === name) {
        throw new TsdError('BAD_ARGS', 'Renaming a container with the same name as its current name', { hint: 'give a different name' });
      }
      const owner = containerNames().get(name);
      if (owner !== undefined) throw nameConflict(name, owner);
      await writeConfig({ ...cur.config, name, network: renamedPlan(cur.config.network, name) });
      await renameEndpoints(id, name);
      emitContainer({ ...cur.config, name }, 'rename', { oldName: `/${cur.config.name}` });
    });
  });
}
