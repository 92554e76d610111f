/** `tsdocker push NAME[:TAG]`: an image to a registry. */
import type { Command } from 'commander';
import { asExit1, requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('push')
    .description('Upload an image to a registry')
    .argument('<name>', 'NAME[:TAG], e.g. 127.0.0.1:5000/app:1.0')
    .option('-q, --quiet', 'suppress the progress output')
    .action(async (name: string, f: { quiet?: boolean }) => {
      requireRoot();
      const { pushCommand } = await import('../../image/registry/index.js');
      const { makeProgress } = await import('../progress.js');
      await pushCommand(name, makeProgress(process.stdout, Boolean(f.quiet))).catch(asExit1);
    });
}
