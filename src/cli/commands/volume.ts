/** `tsdocker volume create|ls|inspect|rm|prune`. */
import type { Command } from 'commander';
import { collect, eachRef, out, parseLabels, requireRoot } from './common.js';
import { humanSize, table } from '../format.js';
import { ExitError, TsdError } from '../../sys/errors.js';

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
    .option('-q, --quiet', 'only display volume names')
    .option('-f, --filter <key=value>', 'filter: dangling=true|false, name=SUBSTRING, label=KEY[=VALUE] (repeatable)', collect, [])
    .option('--format <format>', 'output format: table or json')
    .action(async (f: { quiet?: boolean; format?: string; filter: string[] }) => {
      requireRoot();
      const { listVolumes, volumeUsers } = await import('../../state/volumes.js');
      const users = await volumeUsers();
      const tests = f.filter.map((spec) => {
        const [key, ...rest] = spec.split('=');
        const value = rest.join('=');
        if (key === 'dangling' && /^(true|false|1|0)$/.test(value)) {
          const want = value === 'true' || value === '1';
          return (v: { Name: string }) => !users.get(v.Name)?.length === want;
        }
        if (key === 'name' && value) return (v: { Name: string }) => v.Name.includes(value);
        if (key === 'label' && value) {
          const [lk, ...lv] = value.split('=');
          return (v: { Labels: Record<string, string> }) => lk! in v.Labels && (lv.length === 0 || v.Labels[lk!] === lv.join('='));
        }
        throw new TsdError('BAD_ARGS', `invalid filter "${spec}"`, { hint: 'filters: dangling=true|false, name=SUBSTRING, label=KEY[=VALUE]' });
      });
      const vols = (await listVolumes()).filter((v) => tests.every((t) => t(v)));
      if (f.quiet) for (const v of vols) out(v.Name);
      else if (f.format === 'json') for (const v of vols) out(JSON.stringify(v));
      else out(table(['DRIVER', 'VOLUME NAME'], vols.map((v) => [v.Driver, v.Name])));
    });

  volume
    .command('inspect')
    .description('Display detailed information on one or more volumes')
    .argument('<name...>')
    .action(async (names: string[]) => {
      requireRoot();
      const { readVolume } = await import('../../state/volumes.js');
      const found = [];
      let missing = false;
      for (const n of names) {
        const v = await readVolume(n);
        if (v) found.push(v);
        else {
          missing = true;
          process.stderr.write(`tsdocker: no such volume: ${n}\n`);
        }
      }
      out(JSON.stringify(found, null, 4));
      if (missing) throw new ExitError(1);
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
    .option('-f, --force', 'do not prompt for confirmation (tsdocker never prompts)')
    .action(async (f: { all?: boolean }) => {
      requireRoot();
      const { pruneVolumes } = await import('../../state/volumes.js');
      const { names, bytes } = await pruneVolumes({ all: Boolean(f.all) });
      if (names.length) out(['Deleted Volumes:', ...names, ''].join('\n'));
      out(`Total reclaimed space: ${humanSize(bytes)}`);
    });
}
