/** `tsdocker tag SOURCE TARGET`: another name for an image. */
import type { Command } from 'commander';
import { requireRoot } from './common.js';

export function register(program: Command): void {
  program
    .command('tag')
    .description('Create a tag TARGET that refers to SOURCE')
    .argument('<source>', 'image name[:tag], id or id prefix')
    .argument('<target>', 'new NAME[:TAG]')
    .action(async (source: string, target: string) => {
      requireRoot();
      const { tagImage } = await import('../../image/index.js');
      await tagImage(source, target);
    });
}
