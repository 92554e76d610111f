/** `tsdocker stats [--no-stream] [CONTAINER...]`: CPU %, memory use/limit and pids per container, from its cgroup. */
import type { Command } from 'commander';
import { totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { out, requireRoot } from './common.js';
import { binarySize, table } from '../format.js';

interface Row {
  id: string;
  name: string;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
  memPercent: number;
  pids: number;
}

function render(rows: Row[], trunc: boolean): string {
  return table(
    ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
    rows.map((r) => [
      trunc ? r.id.slice(0, 12) : r.id,
      r.name,
      `${r.cpuPercent.toFixed(2)}%`,
      `${binarySize(r.memUsage)} / ${binarySize(r.memLimit)}`,
      `${r.memPercent.toFixed(2)}%`,
      String(r.pids),
    ]),
  );
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('Display a live stream of container resource usage statistics')
    .argument('[containers...]', 'containers (default: all running)')
    .option('--no-stream', 'print one sample and exit')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', 'output format: table or json (one object per line)')
    .action(async (refs: string[], f: { stream: boolean; trunc: boolean; format?: string }) => {
      requireRoot();
      const { listContainers, findContainer } = await import('../../state/containers.js');
      const { containerStats } = await import('../../runtime/resources.js');
      const pick = async () => {
        const views = refs.length ? await Promise.all(refs.map(findContainer)) : await listContainers();
        return views.filter((v) => v.status === 'running' || refs.length);
      };
      const sample = async () => {
        const views = await pick();
        const first = await Promise.all(views.map((v) => (v.status === 'running' ? containerStats(v.config.id) : undefined)));
        const t0 = process.hrtime.bigint();
        await sleep(1000);
        const rows: Row[] = [];
        const wall = () => Number(process.hrtime.bigint() - t0);
        for (const [i, v] of views.entries()) {
          const a = first[i];
          const b = v.status === 'running' ? await containerStats(v.config.id).catch(() => undefined) : undefined;
          const limit = b?.memLimit ?? totalmem();
          rows.push({
            id: v.config.id,
            name: v.config.name,
            cpuPercent: a && b ? (Math.max(0, b.cpuNs - a.cpuNs) / wall()) * 100 : 0,
            memUsage: b?.memUsage ?? 0,
            memLimit: limit,
            memPercent: b ? (b.memUsage / limit) * 100 : 0,
            pids: b?.pids ?? 0,
          });
        }
        return rows;
      };
      for (;;) {
        const rows = await sample();
        if (f.format === 'json') for (const r of rows) out(JSON.stringify(r));
        else {
          if (f.stream && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
          out(render(rows, f.trunc));
        }
        if (!f.stream) return;
      }
    });
}
