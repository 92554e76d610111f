/** `tsdocker volume create|ls|inspect|rm|prune`. */
import type { Command } from 'commander';
import { collect, confirm, eachRef, out, parseLabels, requireRoot } from './common.js';
import { humanSize } from '../format.js';
import { TsdError } from '../../sys/errors.js';
import { writeOut } from '../stdout.js';

export function register(program: Command): void {
  const volume = program.command('volume').description('Manage volumes');

  volume
    .command('create')
    .description('Create a volume')
    .argument('[name]', 'volume name (default: a random one)')
    .option('-l, --label <key=value>', 'set metadata (repeatable)', collect, [])
    .option('-d, --driver <name>', 'volume driver (only local)', 'local')
    .action(async (name: string | undefined, f: { label: string[]; driver: string }) => {
      requireRoot();
      if (f.driver !== 'local') throw new TsdError('BAD_ARGS', `volume driver "${f.driver}" is not supported`, { hint: 'tsdocker has the local driver only' });
      const { ensureLayout } = await import('../../state/paths.js');
      const { createVolumeCommand } = await import('../../state/volumes.js');
      ensureLayout();
      out((await createVolumeCommand(name, parseLabels(f.label))).Name);
    });

  volume
    .command('ls')
    .alias('list')
    .description('List volumes')
    .option('-f, --filter <filter>', 'filter output: dangling=true|false, driver, label=KEY[=VALUE], name (repeatable)', collect, [])
    .option('--format <format>', 'Go template, "table TEMPLATE" or "json" (fields: Name Driver Scope Mountpoint Labels Label Links Size)')
    .option('-q, --quiet', 'only display volume names')
    .action(async (f: { quiet?: boolean; format?: string; filter: string[] }) => {
      requireRoot();
      const { listVolumes, volumeUsers } = await import('../../state/volumes.js');
      const { VOLUME_SPEC, volumeRow } = await import('../lists/resources.js');
      const { VOLUME_FILTERS, filterVolumes } = await import('../../query/resources.js');
      const { parseFilters } = await import('../../query/filters.js');
      const { chooseFormat, formatList } = await import('../template/index.js');
      const filters = parseFilters(f.filter, VOLUME_FILTERS);
      const format = chooseFormat(f.format, Boolean(f.quiet), VOLUME_SPEC);
      const users = await volumeUsers();
      const vols = filterVolumes(await listVolumes(), filters, (n) => Boolean(users.get(n)?.length));
      writeOut(formatList(format, vols.map(volumeRow), VOLUME_SPEC));
    });

  volume
    .command('inspect')
    .description('Display detailed information on one or more volumes')
    .argument('<name...>')
    .option('-f, --format <template>', 'format the output using a Go template')
    .action(async (names: string[], f: { format?: string }) => {
      requireRoot();
      const { findVolume } = await import('../../state/volumes.js');
      const { writeInspect } = await import('./inspect.js');
      await writeInspect(names, f.format, async (n) => {
        const { Anonymous: _a, ...v } = await findVolume(n);
        return v;
      });
    });

  volume
    .command('rm')
    .alias('remove')
    .description('Remove one or more volumes (not while a container uses them)')
    .argument('<name...>')
    .option('-f, --force', 'do not complain about volumes that do not exist')
    .action(async (names: string[], f: { force?: boolean }) => {
      requireRoot();
      const { removeVolumeCommand } = await import('../../state/volumes.js');
      await eachRef(names, async (n) => {
        await removeVolumeCommand(n, { force: Boolean(f.force) });
        return n;
      });
    });

  volume
    .command('prune')
    .description('Remove unused anonymous volumes (all unused volumes with -a)')
    .option('-a, --all', 'remove named volumes too')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (f: { all?: boolean; force?: boolean }) => {
      requireRoot();
      const which = f.all ? 'all local volumes' : 'anonymous local volumes';
      if (!confirm(`WARNING! This will remove ${which} not used by at least one container.`, f.force)) return;
      const { pruneVolumes } = await import('../../state/volumes.js');
      const { names, bytes } = await pruneVolumes({ all: Boolean(f.all) });
      if (names.length) out(['Deleted Volumes:', ...names, ''].join('\n'));
      out(`Total reclaimed space: ${humanSize(bytes, 4)}`);
    });
}
