/** Network figures for one runtime: container ↔ container and host → published port. */
import { attempt, put, type Results } from '../results.js';
import type { Runtime } from '../runtimes/types.js';
import { run } from '../proc.js';
import { ipv4Of, removeAll, startOne } from './containers.js';
import { latency, rtt, throughput, withServer, type NetPlan } from './iperf.js';

/** The sandbox's own non-loopback address (on lo), the "host address" a published port is reached on. */
export const HOST_ADDR = '203.0.113.1';
const PUB_PORT = 15201;

async function addHostAddr(rt: Runtime): Promise<void> {
  const have = await run(rt.sandbox.enter(['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo']));
  if (have.stdout.includes(`${HOST_ADDR}/`)) return;
  await rt.sandbox.sh(['ip', 'addr', 'add', `${HOST_ADDR}/32`, 'dev', 'lo']);
}

export async function netFigures(res: Results, rt: Runtime, plan: NetPlan): Promise<void> {
  const col = rt.name;
  const names: string[] = [];
  try {
    await attempt(res, ['net.c2c.gbps', 'net.c2c.rr', 'net.c2c.rtt'], col, async () => {
      names.push('tsdb-net-a');
      const pa = await startOne(rt, { name: 'tsdb-net-a', net: 'bridge', cmd: ['sleep', '3600'] });
      names.push('tsdb-net-b');
      const pb = await startOne(rt, { name: 'tsdb-net-b', net: 'bridge', cmd: ['sleep', '3600'] });
      const ipa = await ipv4Of(pa);
      await attempt(res, ['net.c2c.gbps'], col, async () =>
        put(res, 'net.c2c.gbps', col, await withServer(pa, () => throughput(pb, ipa, 5201, plan))),
      );
      await attempt(res, ['net.c2c.rr'], col, async () =>
        put(res, 'net.c2c.rr', col, await withServer(pa, () => latency(pb, ipa, 5201, plan), true)),
      );
      await attempt(res, ['net.c2c.rtt'], col, async () => put(res, 'net.c2c.rtt', col, await rtt(pb, ipa, plan)));
    });
    await attempt(res, ['net.pub.gbps', 'net.publo.gbps', 'net.pub.rr', 'net.publo.rr'], col, async () => {
      await addHostAddr(rt);
      names.push('tsdb-net-p');
      const pp = await startOne(rt, { name: 'tsdb-net-p', net: 'bridge', publish: `${PUB_PORT}:5201`, cmd: ['sleep', '3600'] });
      await withServer(pp, async () => {
        await attempt(res, ['net.pub.gbps'], col, async () =>
          put(res, 'net.pub.gbps', col, await throughput(rt.sandbox.pid, HOST_ADDR, PUB_PORT, plan)),
        );
        await attempt(res, ['net.publo.gbps'], col, async () =>
          put(res, 'net.publo.gbps', col, await throughput(rt.sandbox.pid, '127.0.0.1', PUB_PORT, plan)),
        );
      });
      await withServer(
        pp,
        async () => {
          await attempt(res, ['net.pub.rr'], col, async () =>
            put(res, 'net.pub.rr', col, await latency(rt.sandbox.pid, HOST_ADDR, PUB_PORT, plan)),
          );
          await attempt(res, ['net.publo.rr'], col, async () =>
            put(res, 'net.publo.rr', col, await latency(rt.sandbox.pid, '127.0.0.1', PUB_PORT, plan)),
          );
        },
        true,
      );
    });
  } finally {
    await removeAll(rt, names).catch(() => undefined);
  }
}
