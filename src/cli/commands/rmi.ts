/** `tsdocker rmi [-f] IMAGE...`: untag, and delete images (and their unused layers). */
import type { Command } from 'commander';
import { out, requireRoot } from './common.js';
import { ExitError } from '../../sys/errors.js';

export function register(program: Command): void {
  program
    .command('rmi')
    .description('Remove one or more images')
    .argument('<image...>', 'image name[:tag], id or id prefix')
    .option('-f, --force', 'remove even when containers use the image (its tags go; the record stays while they exist)')
    .action(async (refs: string[], opts: { force?: boolean }) => {
      requireRoot();
      const { removeImages } = await import('../../image/index.js');
      const { lines, errors } = await removeImages(refs, !!opts.force);
      for (const l of lines) out(l);
      if (errors.length === 0) return;
      // one failure among several: report each, exit 1 as Docker does; a single ref keeps its own code
      if (refs.length === 1) throw errors[0];
      for (const e of errors) {
        process.stderr.write(`tsdocker: ${e.message}\n`);
        if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
      }
      throw new ExitError(1);
    });
}
