/** Every figure the bench reports, in the order of the table. */
import type { Figure } from './results.js';
import { opsFigureDefs } from './measures/ops.js';
import { apiFigureDefs } from './measures/api.js';

export interface Scale {
  /** containers already running while start latency is measured again */
  levels: number[];
  /** containers started at once */
  burst: number;
  /** overlay: containers per simulated host */
  overlayPerHost: number;
}

export type FigureDef = Omit<Figure, 'cells'>;

export function figureDefs(s: Scale): FigureDef[] {
  const start = (id: string, what: string): FigureDef => ({ id, label: `start \`run --rm busybox true\`, ${what}`, unit: 'ms', better: 'lower' });
  return [
    start('start.none', '--network none'),
    start('start.bridge', 'default bridge, 0 others running'),
    start('start.publish', 'bridge + `-p`'),
    { id: 'count.none.procs', label: 'per start (strace -f), --network none: processes exec\'d', unit: 'count', better: 'lower' },
    { id: 'count.none.syscalls', label: 'per start, --network none: syscalls (all tasks)', unit: 'count', better: 'lower' },
    { id: 'count.bridge.procs', label: 'per start, default bridge: processes exec\'d', unit: 'count', better: 'lower' },
    { id: 'count.bridge.syscalls', label: 'per start, default bridge: syscalls (all tasks)', unit: 'count', better: 'lower' },
    { id: 'count.bridge.helpers', label: 'per start, default bridge: helper execs (not the CLI, monitor or `true`)', unit: 'count', better: 'lower' },
    ...s.levels.flatMap((n) => [
      start(`start.with${n}`, `bridge, ${n} others running`),
      start(`start.ref${n}`, `bridge, empty host (a second instance), interleaved with the ${n}-running figure`),
    ]),
    ...opsFigureDefs(s.levels),
    ...apiFigureDefs(),
    { id: 'burst.wall', label: `${s.burst} \`run -d\` at once: wall time until all answer`, unit: 'ms', better: 'lower' },
    { id: 'burst.distinct', label: `${s.burst} at once: distinct addresses that answered`, unit: 'count', better: 'higher' },
    { id: 'teardown.rm', label: `\`rm -f\` of those ${s.burst} (one command)`, unit: 'ms', better: 'lower' },
    { id: 'teardown.left', label: `left behind after that \`rm -f\` (links, nft tables, mounts, processes)`, unit: 'count', better: 'lower' },
    { id: 'mem.pss', label: 'memory per idle detached container, runtime processes outside it (PSS)', unit: 'MiB', better: 'lower' },
    { id: 'mem.rss', label: 'same, RSS', unit: 'MiB', better: 'lower' },
    { id: 'mem.base', label: 'runtime memory with no container (daemons; PSS)', unit: 'MiB', better: 'lower' },
    { id: `teardown.rmAll`, label: `\`rm -f\` of the ${Math.max(0, ...s.levels)} idle containers`, unit: 'ms', better: 'lower' },
    { id: 'net.c2c.gbps', label: 'TCP throughput container → container, one bridge (iperf3, 1 stream)', unit: 'Gbit/s', better: 'higher' },
    { id: 'net.c2c.rr', label: 'TCP request/response latency container → container (1 byte each way, median)', unit: 'µs', better: 'lower' },
    { id: 'net.c2c.rtt', label: 'ping RTT container → container', unit: 'µs', better: 'lower' },
    { id: 'net.pub.gbps', label: 'TCP throughput host → container via published port, host address', unit: 'Gbit/s', better: 'higher' },
    { id: 'net.publo.gbps', label: 'TCP throughput host → container via published port, 127.0.0.1', unit: 'Gbit/s', better: 'higher' },
    { id: 'net.pub.rr', label: 'TCP request/response latency host → container via published port, host address', unit: 'µs', better: 'lower' },
    { id: 'net.publo.rr', label: 'TCP request/response latency host → container via published port, 127.0.0.1', unit: 'µs', better: 'lower' },
    { id: 'net.lo.gbps', label: 'TCP throughput over loopback (the ceiling)', unit: 'Gbit/s', better: 'higher' },
    { id: 'net.lo.rr', label: 'TCP request/response latency over loopback', unit: 'µs', better: 'lower' },
    { id: 'net.lo.rtt', label: 'ping RTT over loopback', unit: 'µs', better: 'lower' },
    { id: 'overlay.gbps', label: 'TCP throughput container → container across two hosts: overlay (tsdocker), bare VXLAN on the same underlay (bare kernel)', unit: 'Gbit/s', better: 'higher' },
    { id: 'overlay.reach', label: 'overlay: a new container on host B answers a ping from host A (from `run -d`)', unit: 'ms', better: 'lower' },
    { id: 'overlay.fdb', label: `overlay: FDB entries per host, 3 hosts × ${s.overlayPerHost} containers`, unit: 'count', better: 'lower' },
    { id: 'pull.multi', label: 'pull of a 5-layer image (busybox + 4 x 6 MB random) from a local registry, empty store', unit: 'ms', better: 'lower' },
  ];
}
