/** `tsdocker import`: a flat root filesystem tarball (gzip or not) becomes a one-layer image. */
import type { Command } from 'commander';
import { collect, out, requireRoot } from './common.js';
import { imageCapsHelp } from './load.js';

export function register(program: Command): void {
  program
    .command('import')
    .description('Import a root filesystem tarball ("-" for stdin) as an image')
    .addHelpText('after', imageCapsHelp)
    .argument('<file>', 'tar archive, optionally gzip-compressed; - reads stdin')
    .argument('[reference]', 'NAME[:TAG] for the new image')
    .option('-c, --change <value>', 'apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL; repeatable)', collect, [])
    .option('-m, --message <string>', 'set commit message for imported image')
    .action(async (file: string, reference: string | undefined, o: { change: string[]; message?: string }) => {
      requireRoot();
      const { importTarball } = await import('../../image/load.js');
      const img = await importTarball(file === '-' ? process.stdin : file, reference, undefined, { changes: o.change, message: o.message });
      out(img.id);
    });
}
