/** `tsdocker load`: images from a `docker save` or OCI layout archive (file or stdin). */
import type { Command } from 'commander';
import { out, requireRoot } from './common.js';
import { TsdError } from '../../sys/errors.js';
import { limits, RATIO_FLOOR } from '../../image/tar-rules.js';

/** What `load --help` and `import --help` say about the caps (values as the environment sets them now). */
export function imageCapsHelp(): string {
  const lim = limits();
  const gib = (n: number): string => (n % 2 ** 30 === 0 ? `${n / 2 ** 30} GiB` : `${n} bytes`);
  return `
Archives are untrusted: a layer (or the archive itself) that decompresses past a cap is
refused as a decompression bomb, and nothing of the load is stored. Caps (environment):
  TSDOCKER_IMAGE_MAX_BYTES    bytes of one tar stream once decompressed (${gib(lim.maxBytes)})
  TSDOCKER_IMAGE_MAX_RATIO    expansion of a gzip stream past its first ${RATIO_FLOOR >> 20} MiB (${lim.maxRatio} times)
  TSDOCKER_IMAGE_MAX_ENTRIES  entries of one tar stream (${lim.maxEntries})
`;
}

export function register(program: Command): void {
  program
    .command('load')
    .description('Load images from a tar archive (docker save or OCI layout), from a file or stdin')
    .addHelpText('after', `
On a terminal, each layer shows a line redrawn as it is read, as Docker's does
(a1b2c3d4e5f6: Loading layer [=====>     ]  1.2MB/5MB); when stdout is not a terminal,
and with -q, only the "Loaded image:" lines are printed.`)
    .addHelpText('after', imageCapsHelp)
    .option('-i, --input <file>', 'read from a tar archive file instead of stdin')
    .option('-q, --quiet', 'suppress the progress output (the Loaded image lines are still printed)')
    .action(async (opts: { input?: string; quiet?: boolean }) => {
      requireRoot();
      if (!opts.input && process.stdin.isTTY) {
        throw new TsdError('BAD_ARGS', 'requested load from stdin, but stdin is a terminal', {
          hint: 'tsdocker load -i FILE, or tsdocker load < FILE',
        });
      }
      const { loadArchive } = await import('../../image/load.js');
      const { loadLayerProgress, makeProgress } = await import('../progress.js');
      // as docker/cli: progress only on a terminal, and not with -q
      const draw = opts.quiet || !process.stdout.isTTY ? undefined : loadLayerProgress(makeProgress(process.stdout, false));
      const res = await loadArchive(opts.input ?? process.stdin, undefined, draw);
      for (const n of res.notes) out(n);
      for (const img of res.images) {
        if (img.repoTags.length === 0) out(`Loaded image ID: ${img.id}`);
        for (const t of img.repoTags) out(`Loaded image: ${t}`);
      }
    });
}
