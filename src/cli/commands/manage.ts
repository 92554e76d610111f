/** Commands on a container that exists: rename, pause, unpause, top, restart. */
import type { Command } from 'commander';
import { eachRef, parseIntArg, requireRoot } from './common.js';
import { writeOut } from '../stdout.js';

export function register(program: Command): void {
  program
    .command('rename')
    .description('Rename a container')
    .argument('<container>')
    .argument('<new-name>')
    .action(async (ref: string, name: string) => {
      requireRoot();
      const { renameContainer } = await import('../../runtime/rename.js');
      await renameContainer(ref, name);
    });

  for (const [cmd, what] of [['pause', 'Pause all processes within one or more containers'], ['unpause', 'Unpause all processes within one or more containers']] as const) {
    program
      .command(cmd)
      .description(what)
      .argument('<container...>')
      .action(async (refs: string[]) => {
        requireRoot();
        const { pauseContainer, unpauseContainer } = await import('../../runtime/pause.js');
        await eachRef(refs, async (ref) => {
          await (cmd === 'pause' ? pauseContainer : unpauseContainer)(ref);
          return ref;
        });
      });
  }

  program
    .command('top')
    .description('Display the running processes of a container (ps OPTIONS default to -ef)')
    .argument('<container>')
    .argument('[ps-options...]')
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (ref: string, psArgs: string[]) => {
      requireRoot();
      const { topContainer } = await import('../../runtime/top.js');
      const { tabwrite } = await import('../template/tabwriter.js');
      const list = await topContainer(ref, psArgs);
      const text = [list.titles, ...list.processes].map((row) => `${row.join('\t')}\n`).join('');
      writeOut(tabwrite(text, { minWidth: 20, padding: 3 }));
    });

  program
    .command('restart')
    .description('Restart one or more containers (stop if running, then start; its restart policy is armed again, RestartCount 0)')
    .option('-t, --time <seconds>', "seconds to wait for stop before killing the container (default: its --stop-timeout, else 10)")
    .argument('<container...>')
    .action(async (refs: string[], f: { time?: string }) => {
      requireRoot();
      const secs = f.time === undefined ? undefined : parseIntArg('--time', f.time, 0);
      const { restartContainer } = await import('../../runtime/restart.js');
      await eachRef(refs, async (ref) => {
        await restartContainer(ref, secs);
        return ref;
      });
    });
}
