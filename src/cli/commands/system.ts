/** `info`, `version` and the `system` group (info, events, df, prune). */
import type { Command } from 'commander';
import { requireRoot } from './common.js';
import { addEventsCommand } from './events.js';

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
        process.stdout.write(formatInspect(f.format === 'json' ? '{{json .}}' : f.format, [infoRow(info)]));
        return;
      }
      process.stdout.write(infoText(info));
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
        process.stdout.write(formatInspect(f.format === 'json' ? '{{json .}}' : f.format, [versionRow(server)]));
        return;
      }
      process.stdout.write(versionText(server));
    });

  const system = program.command('system').description('Manage tsdocker: disk usage, prune, info, events');
  addInfoCommand(system, 'info');
  addEventsCommand(system, 'events');
}
