/**
 * `tsdocker create`: run's flags (run.ts), without starting. A module of its own so that a
 * `run` does not declare create's ~90 options too (1.5-2.5 ms of commander at every start).
 */
import type { Command } from 'commander';
import { requireRoot, out } from './common.js';
import { declareCreateFlags, toRunOptions, withPull, type RunFlags } from './run.js';

export function register(program: Command): void {
  declareCreateFlags(program.command('create').description('Create a new container without starting it')).action(
    async (image: string, command: string[], flags: RunFlags) => {
      requireRoot();
      const { createContainer } = await import('../../runtime/create.js');
      const { openCidFile } = await import('../cidfile.js');
      const opts = toRunOptions(image, command, flags);
      const cid = openCidFile(flags.cidfile);
      try {
        const config = await withPull(image, flags, () => createContainer(opts));
        cid.write(config.id);
        out(config.id);
      } catch (err) {
        cid.abort();
        throw err;
      }
    },
  );
}
