/**
 * The kernel without any runtime: two bare network namespaces on a bare Linux bridge
 * (198.51.100.0/24), and loopback, all inside a throwaway sandbox namespace.
 */
import { attempt, put, type Results } from '../results.js';
import { background, sleep, stop } from '../proc.js';
import { netNsOf } from '../procfs.js';
import { openSandbox } from '../sandbox.js';
import { latency, rtt, throughput, withServer, type NetPlan } from './iperf.js';

export const BARE = 'bare kernel';

export async function bareFigures(res: Results, plan: NetPlan): Promise<void> {
  const sb = await openSandbox('bare');
  const holders: number[] = [];
  try {
    await attempt(res, ['net.c2c.gbps', 'net.c2c.rr', 'net.c2c.rtt'], BARE, async () => {
      await sb.sh(['ip', 'link', 'add', 'tsdb-br0', 'type', 'bridge']);
      await sb.sh(['ip', 'link', 'set', 'tsdb-br0', 'up']);
      const ends: number[] = [];
      for (const [i, addr] of ['198.51.100.2', '198.51.100.3'].entries()) {
        const h = background(sb.enter(['unshare', '--net', 'sleep', 'infinity']));
        holders.push(h.pid);
        const outer = new Set([netNsOf('self'), netNsOf(sb.pid)]);
        for (let k = 0; k < 200 && outer.has(netNsOf(h.pid)); k++) await sleep(10);
        await sb.sh(['ip', 'link', 'add', `tsdb-v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(h.pid)]);
        await sb.sh(['ip', 'link', 'set', `tsdb-v${i}`, 'master', 'tsdb-br0', 'up']);
        const inside = ['nsenter', `--net=/proc/${h.pid}/ns/net`, '--', 'ip'];
        await sb.sh([...inside, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
        await sb.sh([...inside, 'link', 'set', 'eth0', 'up']);
        await sb.sh([...inside, 'link', 'set', 'lo', 'up']);
        ends.push(h.pid);
      }
      const [a, b] = ends as [number, number];
      put(res, 'net.c2c.gbps', BARE, await withServer(a, () => throughput(b, '198.51.100.2', 5201, plan)));
      await attempt(res, ['net.c2c.rr'], BARE, async () =>
        put(res, 'net.c2c.rr', BARE, await withServer(a, () => latency(b, '198.51.100.2', 5201, plan), true)),
      );
      put(res, 'net.c2c.rtt', BARE, await rtt(b, '198.51.100.2', plan));
    });
    await attempt(res, ['net.lo.gbps', 'net.lo.rr', 'net.lo.rtt'], BARE, async () => {
      put(res, 'net.lo.gbps', BARE, await withServer(sb.pid, () => throughput(sb.pid, '127.0.0.1', 5201, plan)));
      await attempt(res, ['net.lo.rr'], BARE, async () =>
        put(res, 'net.lo.rr', BARE, await withServer(sb.pid, () => latency(sb.pid, '127.0.0.1', 5201, plan), true)),
      );
      put(res, 'net.lo.rtt', BARE, await rtt(sb.pid, '127.0.0.1', plan));
    });
  } finally {
    for (const pid of holders) await stop(pid, 1000);
    await sb.close();
  }
}
