/** `tsdocker stats [--no-stream] [CONTAINER...]`: CPU %, memory use/limit and pids per container, from its cgroup. */
import type { Command } from 'commander';
import { totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireRoot } from './common.js';
import { binarySize, humanSize } from '../format.js';
import { struct, type ListSpec } from '../template/index.js';
import { interfaceCounters } from '../../net/counters.js';

interface Row {
  ref: string;
  id: string;
  name: string;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
  memPercent: number;
  pids: number;
  net: [number, number];
}

const STATS_SPEC: ListSpec = {
  table: 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}',
  headers: {
    Container: 'CONTAINER', ID: 'CONTAINER ID', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %',
    NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
  },
};

/** Bytes received and sent on the container's interfaces but lo. */
function netIO(pid: number | undefined): [number, number] {
  const all = Object.values(interfaceCounters(pid));
  return [all.reduce((t, c) => t + c.rx_bytes, 0), all.reduce((t, c) => t + c.tx_bytes, 0)];
}

/** docker/cli's statsContext of one sample. */
function statsRow(r: Row, trunc: boolean) {
  return struct('*container.statsContext', {
    BlockIO: `${humanSize(0)} / ${humanSize(0)}`,
    CPUPerc: `${r.cpuPercent.toFixed(2)}%`,
    Container: r.ref,
    ID: trunc ? r.id.slice(0, 12) : r.id,
    MemPerc: `${r.memPercent.toFixed(2)}%`,
    MemUsage: `${binarySize(r.memUsage)} / ${binarySize(r.memLimit)}`,
    Name: r.name,
    NetIO: `${humanSize(r.net[0])} / ${humanSize(r.net[1])}`,
    PIDs: String(r.pids),
  });
}

export function register(program: Command): void {
  program
    .command('stats')
    .description('Display a live stream of container resource usage statistics')
    .argument('[containers...]', 'containers (default: all running)')
    .option('--no-stream', 'print one sample and exit')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', 'Go template, "table TEMPLATE" or "json" (fields: Container ID Name CPUPerc MemUsage MemPerc NetIO BlockIO PIDs)')
    .option('-a, --all', 'show all containers (default shows just running)')
    .action(async (refs: string[], f: { stream: boolean; trunc: boolean; format?: string; all?: boolean }) => {
      requireRoot();
      const { chooseFormat, formatList } = await import('../template/index.js');
      const format = chooseFormat(f.format, false, STATS_SPEC);
      // a bad template fails before the first sample, as Docker's
      formatList(format, [statsRow({ ref: '', id: '', name: '', cpuPercent: 0, memUsage: 0, memLimit: 0, memPercent: 0, pids: 0, net: [0, 0] }, f.trunc)], STATS_SPEC);
      const { listContainers, findContainer } = await import('../../state/containers.js');
      const { containerStats } = await import('../../runtime/resources.js');
      const pick = async () => {
        const views = refs.length ? await Promise.all(refs.map(findContainer)) : await listContainers();
        return views.filter((v) => v.status === 'running' || refs.length || f.all);
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
            ref: refs[i] ?? (f.trunc ? v.config.id.slice(0, 12) : v.config.id),
            id: v.config.id,
            name: v.config.name,
            cpuPercent: a && b ? (Math.max(0, b.cpuNs - a.cpuNs) / wall()) * 100 : 0,
            memUsage: b?.memUsage ?? 0,
            memLimit: limit,
            memPercent: b ? (b.memUsage / limit) * 100 : 0,
            pids: b?.pids ?? 0,
            net: netIO(v.status === 'running' ? v.state?.pid : undefined),
          });
        }
        return rows;
      };
      for (;;) {
        const rows = await sample();
        const text = formatList(format, rows.map((r) => statsRow(r, f.trunc)), STATS_SPEC);
        if (f.stream && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        process.stdout.write(text);
        if (!f.stream) return;
      }
    });
}
