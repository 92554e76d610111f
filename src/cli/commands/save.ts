/** `tsdocker save [-o FILE] IMAGE...`: images as a docker-save archive (Docker's `load` takes it). */
import type { Command } from 'commander';
import { requireRoot } from './common.js';
import { TsdError } from '../../sys/errors.js';

export function register(program: Command): void {
  program
    .command('save')
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .addHelpText('after', `
The archive is in the layout docker save writes (manifest.json, <id>/layer.tar): docker load,
podman load and tsdocker load read it. A NAME without a tag saves every tag of that repository;
an image id saves the image without tags. Layers are written as they were loaded or pulled.`)
    .argument('<image...>', 'image name[:tag], id or id prefix')
    .option('-o, --output <file>', 'write to a file, instead of STDOUT')
    .action(async (refs: string[], opts: { output?: string }) => {
      requireRoot();
      if (!opts.output && process.stdout.isTTY) {
        throw new TsdError('BAD_ARGS', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', {
          exitCode: 1,
          hint: 'tsdocker save -o FILE IMAGE, or tsdocker save IMAGE > FILE',
        });
      }
      const { saveImages } = await import('../../image/save.js');
      await saveImages(refs, opts.output ?? process.stdout);
    });
}
