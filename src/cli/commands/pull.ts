/** `tsdocker pull [--platform P] [-a] [-q] NAME[:TAG|@DIGEST]`: an image from a registry. */
import type { Command } from 'commander';
import { asExit1, out, requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('pull')
    .description('Download an image from a registry')
    .argument('<name>', 'NAME[:TAG|@DIGEST], e.g. 127.0.0.1:5000/app:1.0')
    .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image (default: this host)')
    .option('-a, --all-tags', 'download every tagged image of the repository')
    .option('-q, --quiet', 'print only the image reference')
    .action(async (name: string, f: { platform?: string; allTags?: boolean; quiet?: boolean }) => {
      requireRoot();
      const { pullCommand } = await import('../../image/registry/index.js');
      const { makeProgress } = await import('../progress.js');
      const progress = makeProgress(process.stdout, Boolean(f.quiet));
      // Docker: a failed pull exits 1 (the daemon's error), not 125
      await pullCommand(name, { platform: f.platform, all: Boolean(f.allTags), progress, out }).catch(asExit1);
    });
}
