/** `info`, `version` and the `system` group (info, events, df, prune). */
import type { Command } from 'commander';
import { collect, confirm, out, requireRoot } from './common.js';
import type { Keep } from '../../runtime/prune.js';
import { groupCommand } from '../groups.js';
import { addEventsCommand } from './events.js';
import { writeOut } from '../stdout.js';

function addInfoCommand(parent: Command, name: string): void {
  parent
    .command(name)
    .description('Display system-wide information (containers, images, storage and cgroup drivers, kernel, OS, CPUs, memory, root dir)')
    .option('-f, --format <format>', 'format the output with a Go template ({{.Containers}}, {{json .}})')
    .action(async (f: { format?: string }) => {
      requireRoot();
      const { engineInfo } = await import('../../runtime/system-info.js');
      const { infoRow, infoText } = await import('../lists/system.js');
      const info = await engineInfo();
      if (f.format) {
        const { formatInspect } = await import('../template/index.js');
        writeOut(formatInspect(f.format === 'json' ? '{{json .}}' : f.format, [infoRow(info)]));
        return;
      }
      writeOut(infoText(info));
      for (const w of (info.Warnings as string[] | undefined) ?? []) process.stderr.write(`${w}\n`);
    });
}

export function register(program: Command): void {
  addInfoCommand(program, 'info');

  program
    .command('version')
    .description('Show the tsdocker version information (Client and Server sections, as docker version)')
    .option('-f, --format <format>', 'format the output with a Go template ({{.Server.Version}}, {{json .}})')
    .action(async (f: { format?: string }) => {
      const { engineVersion } = await import('../../runtime/system-info.js');
      const { versionRow, versionText } = await import('../lists/system.js');
      const server = engineVersion();
      if (f.format) {
        const { formatInspect } = await import('../template/index.js');
        writeOut(formatInspect(f.format === 'json' ? '{{json .}}' : f.format, [versionRow(server)]));
        return;
      }
      writeOut(versionText(server));
    });

  const system = program.command('system').description('Manage tsdocker: disk usage, prune, info, events');
  system
    .command('df')
    .description('Show disk usage: images, containers, local volumes, build cache (SIZE and RECLAIMABLE as docker system df)')
    .option('-v, --verbose', 'show detailed information on space usage')
    .option('--format <format>', 'Go template, "table TEMPLATE" or "json" (fields: Type TotalCount Active Size Reclaimable)')
    .action(async (f: { verbose?: boolean; format?: string }) => {
      requireRoot();
      const { systemDiskUsage } = await import('../../runtime/disk-usage.js');
      const { DF_SPEC, dfRows, dfVerbose } = await import('../lists/disk-usage.js');
      const du = await systemDiskUsage();
      if (f.verbose) return void writeOut(dfVerbose(du));
      const { chooseFormat, formatList } = await import('../template/index.js');
      writeOut(formatList(chooseFormat(f.format, false, DF_SPEC), dfRows(du), DF_SPEC));
    });

  system
    .command('prune')
    .description('Remove stopped containers, unused networks, dangling images (unused ones with -a) and, with --volumes, unused anonymous volumes')
    .option('-a, --all', 'remove all unused images, not just dangling ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .option('--volumes', 'prune anonymous volumes too')
    .option('--filter <filter>', 'provide filter values (until=<timestamp>, label=<key>[=<value>], label!=...)', collect, [])
    .action(async (f: { all?: boolean; force?: boolean; volumes?: boolean; filter: string[] }) => {
      requireRoot();
      const keep = await pruneKeep(f.filter);
      const warnings = [
        'all stopped containers',
        'all networks not used by at least one container',
        ...(f.volumes ? ['all anonymous volumes not used by at least one container'] : []),
        f.all ? 'all images without at least one container associated to them' : 'all dangling images',
        f.all ? 'all build cache' : 'all dangling build cache',
      ];
      const filtered = f.filter.length ? `\n  Items to be pruned will be filtered with:\n${f.filter.map((x) => `  - ${x}\n`).join('')}` : '';
      if (!confirm(`WARNING! This will remove:\n${warnings.map((w) => `  - ${w}\n`).join('')}${filtered}`, f.force)) return;
      const { systemPrune } = await import('../../runtime/prune.js');
      const { humanSize } = await import('../format.js');
      const r = await systemPrune({ all: Boolean(f.all), volumes: Boolean(f.volumes), keep });
      for (const [title, items] of [['Deleted Containers:', r.containers], ['Deleted Networks:', r.networks], ['Deleted Volumes:', r.volumes], ['Deleted Images:', r.images]] as const) {
        if (items.length) out([title, ...items, ''].join('\n'));
      }
      out(`Total reclaimed space: ${humanSize(r.bytes, 4)}`);
    });
  addInfoCommand(system, 'info');
  addEventsCommand(system, 'events');

  groupCommand(program, 'image')
    .command('prune')
    .description('Remove dangling images (every image no container uses with -a)')
    .option('-a, --all', 'remove all unused images, not just dangling ones')
    .option('-f, --force', 'do not prompt for confirmation')
    .option('--filter <filter>', 'provide filter values (until=<timestamp>, label=<key>[=<value>], label!=...)', collect, [])
    .action(async (f: { all?: boolean; force?: boolean; filter: string[] }) => {
      requireRoot();
      const keep = await pruneKeep(f.filter);
      const what = f.all ? 'all images without at least one container associated to them' : 'all dangling images';
      if (!confirm(`WARNING! This will remove ${what}.`, f.force)) return;
      const { pruneImages } = await import('../../image/prune.js');
      const { humanSize } = await import('../format.js');
      const r = await pruneImages({ all: Boolean(f.all), keep: (i) => keep({ created: i.created, labels: i.config.Labels ?? {} }) });
      if (r.lines.length) out(['Deleted Images:', ...r.lines, ''].join('\n'));
      out(`Total reclaimed space: ${humanSize(r.bytes, 4)}`);
    });
}

/** Docker's prune filters: until (created before), label and label! (each must hold). */
export async function pruneKeep(specs: string[]): Promise<Keep> {
  const { parseFilters, matchLabels, values } = await import('../../query/filters.js');
  const { parseLogTime } = await import('../../runtime/logs.js');
  const f = parseFilters(specs, ['until', 'label', 'label!']);
  const until = values(f, 'until').map((u) => parseLogTime('until', u));
  const not = new Map([['label', values(f, 'label!')]]);
  return ({ created, labels }) => {
    const t = BigInt(Date.parse(created) || 0) * 1_000_000n;
    if (until.some((u) => t >= u)) return true;
    if (!matchLabels(f, 'label', labels)) return true;
    return values(not, 'label').length > 0 && values(not, 'label').some((l) => matchLabels(new Map([['label', [l]]]), 'label', labels));
  };
}
