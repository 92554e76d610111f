/**
 * GET /containers/{id}/stats in dockerd's StatsJSON shape, the fields `docker stats` reads:
 * cpu_stats and precpu_stats (container and whole-system CPU time in ns, online CPUs),
 * memory_stats (usage without inactive file cache, limit), pids_stats, networks per
 * interface. stream=false gives one sample whose precpu is one second earlier (dockerd's
 * default; one-shot=true skips the wait and leaves precpu empty); stream=true one a second.
 */
import type { ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { boolParam, type Request } from './http.js';
import { findContainer, readContainer, type ContainerView } from '../state/containers.js';

interface Cpu {
  cpu_usage: { total_usage: number; usage_in_kernelmode: number; usage_in_usermode: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

const NO_CPU: Cpu = { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };

/** The host's CPU time in ns, as dockerd's getSystemCPUUsage (the "cpu" line of /proc/stat, in USER_HZ). */
function systemCpuNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
  const ticks = (line ?? '').trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + (b || 0), 0);
  return ticks * (1e9 / 100);
}

interface Sample { read: string; cpu: Cpu; memory: Record<string, unknown>; pids: number; networks: Record<string, unknown> }

async function sample(v: ContainerView): Promise<Sample> {
  const read = new Date().toISOString();
  if (v.status !== 'running') return { read, cpu: NO_CPU, memory: {}, pids: 0, networks: {} };
  const { containerStats } = await import('../runtime/resources.js');
  const { interfaceCounters } = await import('../net/counters.js');
  const s = await containerStats(v.config.id);
  return {
    read,
    cpu: { ...NO_CPU, cpu_usage: { ...NO_CPU.cpu_usage, total_usage: s.cpuNs }, system_cpu_usage: systemCpuNs(), online_cpus: cpus().length },
    memory: { usage: s.memUsage, limit: s.memLimit ?? totalmem(), stats: {} },
    pids: s.pids,
    networks: interfaceCounters(v.state?.pid),
  };
}

function statsJson(v: ContainerView, cur: Sample, prev: Sample | undefined): Record<string, unknown> {
  return {
    read: cur.read,
    preread: prev?.read ?? '0001-01-01T00:00:00Z',
    pids_stats: cur.pids ? { current: cur.pids } : {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cur.cpu,
    precpu_stats: prev?.cpu ?? NO_CPU,
    memory_stats: cur.memory,
    name: `/${v.config.name}`,
    id: v.config.id,
    networks: cur.networks,
  };
}

export async function statsHandler(req: Request, res: ServerResponse): Promise<void> {
  let v = await findContainer(req.params[0]!);
  const stream = req.query.get('stream') === null || boolParam(req.query, 'stream');
  let gone = false;
  res.on('close', () => (gone = true));
  res.writeHead(200, { 'Content-Type': 'application/json' });
  if (!stream) {
    let prev: Sample | undefined;
    if (!boolParam(req.query, 'one-shot') && v.status === 'running') {
      prev = await sample(v);
      await sleep(1000);
    }
    res.end(`${JSON.stringify(statsJson(v, await sample(v), prev))}\n`);
    return;
  }
  res.flushHeaders();
  let prev: Sample | undefined;
  while (!gone) {
    const cur = await sample(v);
    res.write(`${JSON.stringify(statsJson(v, cur, prev))}\n`);
    prev = cur;
    // a stopped container gives one zero sample, as dockerd
    if (v.status !== 'running') break;
    await sleep(1000);
    const next = await readContainer(v.config.id);
    if (!next) break;
    v = next;
  }
  res.end();
}
