import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { BUSYBOX_TAR, tsdOk } from '../helpers/sandbox.js';
import { createCluster, type Cluster, type Host } from '../helpers/cluster.js';

let cl: Cluster;
let A: Host;
let B: Host;

beforeAll(async () => {
  cl = await createCluster(2);
  [A, B] = cl.hosts as [Host, Host];
  await Promise.all(cl.hosts.map((h) => tsdOk(h, ['load', '-i', BUSYBOX_TAR])));
}, 120_000);

afterAll(async () => {
  await cl?.close();
}, 120_000);

describe('overlay smoke', () => {
  it('cross host ping', async () => {
    await tsdOk(A, ['network', 'create', '-d', 'overlay', '--subnet', '10.77.0.0/24', 'ov']);
    console.log(await tsdOk(B, ['network', 'ls']));
    await tsdOk(A, ['run', '-d', '--name', 'a1', '--network', 'ov', 'busybox', 'sleep', '300']);
    await tsdOk(B, ['run', '-d', '--name', 'b1', '--network', 'ov', 'busybox', 'sleep', '300']);
    console.log(await tsdOk(A, ['network', 'inspect', 'ov']));
    await new Promise((r) => setTimeout(r, 1000));
    console.log((await A.sh(['bridge', 'fdb', 'show'])).stdout, (await A.sh(['ip', 'neigh'])).stdout);
    const r = await A.tsd(['exec', 'a1', 'ping', '-c', '2', '-W', '2', 'b1']);
    console.log(r);
    const fs = await import('node:fs');
    console.log(fs.readFileSync(A.root + '/run/ovagent.log', 'utf8'));
    expect(r.code).toBe(0);
    console.log(await tsdOk(A, ['node', 'ls']));
  }, 120_000);
});
