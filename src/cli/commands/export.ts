/** `tsdocker export [-o FILE] CONTAINER`: the container's root filesystem as a tar (tsdocker/docker import take it). */
import type { Command } from 'commander';
import { createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { requireRoot } from './common.js';
import { TsdError } from '../../sys/errors.js';

export function register(program: Command): void {
  program
    .command('export')
    .description("Export a container's filesystem as a tar archive (streamed to STDOUT by default)")
    .addHelpText('after', `
The archive holds the container's root filesystem as it sees it (image layers and its own
changes), not its volumes or bind mounts; the container may be running or stopped.`)
    .argument('<container>', 'container name or id')
    .option('-o, --output <file>', 'write to a file, instead of STDOUT')
    .action(async (ref: string, o: { output?: string }) => {
      requireRoot();
      if (!o.output && process.stdout.isTTY) {
        throw new TsdError('BAD_ARGS', 'cowardly refusing to save to a terminal. Use the -o flag or redirect', { exitCode: 1 });
      }
      const { exportContainer } = await import('../../runtime/cp.js');
      const tar = await exportContainer(ref);
      if (!o.output) {
        await pipeline(Readable.from(tar), process.stdout, { end: false });
        return;
      }
      const part = join(dirname(resolve(o.output)), `.${basename(o.output)}.${process.pid}.part`);
      try {
        await pipeline(Readable.from(tar), createWriteStream(part, { flags: 'wx', mode: 0o644 }));
        await fsp.rename(part, o.output);
      } finally {
        await fsp.rm(part, { force: true });
      }
    });
}
