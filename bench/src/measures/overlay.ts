/**
 * The overlay across simulated hosts (test/helpers/cluster.ts: namespaces on an underlay
 * bridge, a real etcd): TCP throughput container → container across two hosts, next to a
 * bare VXLAN between two namespaces on the same underlay (the limit of that path); how long
 * a new container on one host takes to answer a ping from another (start to first answer);
 * the FDB entries each host holds with 3 hosts × N containers. `--only overlay` runs these alone.
 */
import { execFileSync } from 'node:child_process';
import { attempt, put, type Results } from '../results.js';
import { run, sleep } from '../proc.js';
import { summarize } from '../stats.js';
import { BARE } from './bare.js';
import { inNet, throughput, withServer, type NetPlan } from './iperf.js';
import { createCluster, plug, type Cluster, type Host } from '../../../test/helpers/cluster.js';
import { startHolder, tsdOk } from '../../../test/helpers/sandbox.js';

const TSD = 'tsdocker';
/** the simulated hosts' underlay veths aggregate received segments, as a host's NIC does (ethtool) */
const GRO = true;

async function pidOf(h: Host, name: string): Promise<{ pid: number; ip: string }> {
  const j = JSON.parse(await tsdOk(h, ['inspect', name])) as { State: { Pid: number }; NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }[];
  const net = Object.values(j[0]!.NetworkSettings.Networks)[0];
  if (!net) throw new Error(`${name} has no network`);
  return { pid: j[0]!.State.Pid, ip: net.IPAddress };
}

async function answers(fromPid: number, ip: string): Promise<boolean> {
  return (await run([...inNet(fromPid), '/bin/busybox', 'ping', '-c', '1', '-W', '1', ip])).code === 0;
}

/** Two bare namespaces on the cluster's underlay, each with a VXLAN device pointing at the other. */
async function bareVxlan(cl: Cluster): Promise<{ a: number; b: number; close: () => Promise<void> }> {
  const hs = [await startHolder(['--net']), await startHolder(['--net'])];
  const ips = ['192.0.2.201', '192.0.2.202'];
  for (const [i, h] of hs.entries()) {
    plug(cl.underlayPid, h.pid!, `bare${i}`, ips[i]!, 1500, GRO);
    const ns = ['nsenter', `--net=/proc/${h.pid}/ns/net`, '--'];
    const x = (argv: string[]) => execFileSync(ns[0]!, [...ns.slice(1), ...argv]);
    x(['ip', 'link', 'set', 'lo', 'up']);
    x(['ip', 'link', 'add', 'vx0', 'address', `02:00:00:00:00:0${i + 1}`, 'mtu', '1450', 'type', 'vxlan', 'id', '99', 'local', ips[i]!, 'dstport', '4789', 'nolearning']);
    x(['ip', 'addr', 'add', `10.99.0.${i + 1}/24`, 'dev', 'vx0']);
    x(['ip', 'link', 'set', 'vx0', 'up']);
    const peer = 1 - i;
    x(['bridge', 'fdb', 'replace', `02:00:00:00:00:0${peer + 1}`, 'dev', 'vx0', 'self', 'permanent', 'dst', ips[peer]!]);
    x(['ip', 'neigh', 'replace', `10.99.0.${peer + 1}`, 'lladdr', `02:00:00:00:00:0${peer + 1}`, 'dev', 'vx0', 'nud', 'permanent']);
  }
  return {
    a: hs[0]!.pid!,
    b: hs[1]!.pid!,
    close: async () => {
      for (const h of hs) {
        h.kill('SIGKILL');
        await new Promise((r) => h.once('exit', r));
      }
    },
  };
}

export async function overlayFigures(res: Results, plan: NetPlan, perHost: number, image: string): Promise<void> {
  const cl = await createCluster(3, { gro: GRO });
  try {
    const [A, B, C] = cl.hosts as [Host, Host, Host];
    await Promise.all(cl.hosts.map((h) => tsdOk(h, ['load', '-i', image])));
    await tsdOk(A, ['network', 'create', '-d', 'overlay', '--subnet', '10.66.0.0/16', 'ov']);
    await tsdOk(A, ['run', '-d', '--name', 'ta', '--network', 'ov', 'busybox', 'sleep', '3600']);
    await tsdOk(B, ['run', '-d', '--name', 'tb', '--network', 'ov', 'busybox', 'sleep', '3600']);
    const ta = await pidOf(A, 'ta');
    const tb = await pidOf(B, 'tb');
    for (let i = 0; i < 100 && !(await answers(tb.pid, ta.ip)); i++) await sleep(100);

    await attempt(res, ['overlay.gbps'], TSD, async () => put(res, 'overlay.gbps', TSD, await withServer(ta.pid, () => throughput(tb.pid, ta.ip, 5201, plan))));
    await attempt(res, ['overlay.gbps'], BARE, async () => {
      const bare = await bareVxlan(cl);
      try {
        put(res, 'overlay.gbps', BARE, await withServer(bare.a, () => throughput(bare.b, '10.99.0.1', 5201, plan)));
      } finally {
        await bare.close();
      }
    });

    await attempt(res, ['overlay.reach'], TSD, async () => {
      const values: number[] = [];
      for (let i = 0; i < Math.max(3, plan.runs); i++) {
        const t0 = performance.now();
        await tsdOk(B, ['run', '-d', '--name', `r${i}`, '--network', 'ov', 'busybox', 'sleep', '3600']);
        const { ip } = await pidOf(B, `r${i}`);
        while (!(await answers(ta.pid, ip))) if (performance.now() - t0 > 30_000) throw new Error('never answered');
        values.push(performance.now() - t0);
        await tsdOk(B, ['rm', '-f', `r${i}`]);
      }
      put(res, 'overlay.reach', TSD, summarize(values, 'ms'));
    });

    await attempt(res, ['overlay.fdb'], TSD, async () => {
      for (const h of cl.hosts) for (let i = 0; i < perHost - (h === C ? 0 : 1); i++) await tsdOk(h, ['run', '-d', '--name', `f${i}`, '--network', 'ov', 'busybox', 'sleep', '3600']);
      const want = 2 * perHost;
      const vx = `tsdvx-${(JSON.parse(await tsdOk(A, ['network', 'inspect', 'ov'])) as { Id: string }[])[0]!.Id.slice(0, 8)}`;
      const count = async (h: Host) => (await h.sh(['bridge', 'fdb', 'show', 'dev', vx])).stdout.split('\n').filter((l) => l.includes(' dst ')).length;
      for (let i = 0; i < 120 && (await Promise.all(cl.hosts.map(count))).some((n) => n !== want); i++) await sleep(250);
      const counts = await Promise.all(cl.hosts.map(count));
      put(res, 'overlay.fdb', TSD, summarize(counts, 'count'), `${counts.join(', ')} (remote endpoints: ${want} per host)`);
    });
  } finally {
    await cl.close();
  }
}

