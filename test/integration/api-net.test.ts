/**
 * Networks through the Engine API (`tsdocker serve`) with the real docker 20.10 client:
 * network create (IPAM, --internal, labels, options), ls (filters), inspect, connect
 * (aliases, --ip), disconnect, rm, prune; `docker run --network NET --network-alias A --ip`,
 * `-p`, `-v vol:/data` and `--mount`, and dockerd's statuses and messages for each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSnapshot, sandboxNetState } from '../helpers/sandbox.js';
import { apiSandbox, type ApiServer } from '../helpers/api-server.js';

let s: ApiServer;
const before = hostSnapshot();
let netBefore: { nft: string; links: string };

beforeAll(async () => {
  s = await apiSandbox('tsd-apinet');
  netBefore = await sandboxNetState(s.sb);
});

afterAll(async () => {
  await s?.close();
  expect(hostSnapshot()).toEqual(before);
});


describe('docker network through the API', () => {
  it('create with IPAM, labels and options; ls with filters; inspect; rm', async () => {
    const id = (await s.dockerOk(['network', 'create', '--subnet', '10.91.0.0/24', '--gateway', '10.91.0.254', '--ip-range', '10.91.0.128/25',
      '--label', 'team=a', '-o', 'com.docker.network.driver.mtu=1400', 'front'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await s.dockerOk(['network', 'create', '--internal', '--label', 'team=b', 'back']);
    const f = '{{.Name}} {{.Driver}} {{.Internal}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}} {{index .Labels "team"}} {{index .Options "com.docker.network.driver.mtu"}}';
    expect((await s.dockerOk(['network', 'inspect', '-f', f, 'front'])).trim()).toBe('front bridge false 10.91.0.0/24 10.91.0.254 10.91.0.128/25 a 1400');
    expect((await s.dockerOk(['network', 'inspect', '-f', '{{.Internal}}', 'back'])).trim()).toBe('true');
    expect((await s.dockerOk(['network', 'ls', '--format', '{{.Name}}'])).trim().split('\n')).toEqual(['back', 'bridge', 'front', 'host', 'none']);
    expect((await s.dockerOk(['network', 'ls', '-f', 'label=team=a', '--format', '{{.Name}}'])).trim()).toBe('front');
    expect((await s.dockerOk(['network', 'ls', '-f', 'type=custom', '-f', 'name=ba', '-q', '--no-trunc'])).trim()).toMatch(/^[0-9a-f]{64}$/);
    expect((await s.dockerOk(['network', 'ls', '-f', 'driver=null', '--format', '{{.Name}}'])).trim()).toBe('none');
    // dockerd's statuses and words
    const dup = await s.api('POST', '/networks/create', { Name: 'front', CheckDuplicate: true });
    expect(dup.status).toBe(409);
    expect(JSON.parse(dup.body).message).toBe('network with name front already exists');
    const missing = await s.api('GET', '/networks/nosuch');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).message).toBe('network nosuch not found');
    expect((await s.api('DELETE', '/networks/bridge')).status).toBe(403);
    const badFilter = await s.api('GET', `/networks?filters=${encodeURIComponent('{"color":["red"]}')}`);
    expect(badFilter.status).toBe(400);
    expect(JSON.parse(badFilter.body).message).toBe("Invalid filter 'color'");
    const r = await s.docker(['network', 'rm', 'nosuch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No such network: nosuch');
    expect((await s.dockerOk(['network', 'rm', 'front', 'back'])).trim()).toBe('front\nback');
    expect((await s.dockerOk(['network', 'ls', '-f', 'type=custom', '-q'])).trim()).toBe('');
  });

  it('refuses what it does not implement, naming the field', async () => {
    const v6 = await s.api('POST', '/networks/create', { Name: 'v6', EnableIPv6: true });
    expect(v6.status).toBe(400);
    expect(JSON.parse(v6.body).message).toMatch(/^network\.EnableIPv6 is not supported by tsdocker yet/);
    const aux = await s.api('POST', '/networks/create', { Name: 'aux', IPAM: { Config: [{ Subnet: '10.92.0.0/24', AuxiliaryAddresses: { a: '10.92.0.5' } }] } });
    expect(aux.status).toBe(400);
    expect(JSON.parse(aux.body).message).toMatch(/^IPAM\.Config\.AuxiliaryAddresses is not supported/);
    const icc = await s.docker(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', 'noicc']);
    expect(icc.code).not.toBe(0);
    expect(icc.stderr).toContain('network option com.docker.network.bridge.enable_icc is not supported by tsdocker for driver bridge');
    const drv = await s.docker(['network', 'create', '--ipam-driver', 'other', 'x']);
    expect(drv.code).not.toBe(0);
    expect(drv.stderr).toContain('IPAM driver "other" is not supported by tsdocker');
    expect((await s.dockerOk(['network', 'ls', '-f', 'type=custom', '-q'])).trim()).toBe('');
  });

  it('docker run --network NET --network-alias --ip: the others reach it by alias, inspect shows the address', async () => {
    await s.dockerOk(['network', 'create', '--subnet', '10.93.0.0/24', 'app']);
    await s.dockerOk(['run', '-d', '--name', 'web', '--network', 'app', '--network-alias', 'www', '--ip', '10.93.0.50', 'busybox',
      'sh', '-c', 'echo hello > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    expect((await s.dockerOk(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}}{{end}}', 'web'])).trim()).toBe('app 10.93.0.50');
    const got = await s.dockerOk(['run', '--rm', '--network', 'app', 'busybox', 'sh', '-c', 'for i in $(seq 50); do wget -q -O - http://www/index.html && exit 0; sleep 0.1; done; exit 1']);
    expect(got).toBe('hello\n');
    expect((await s.dockerOk(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', 'app'])).trim()).toBe('web 10.93.0.50/24');
    // one endpoint per create, as docker run sends
    const two = await s.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { NetworkMode: 'app' }, NetworkingConfig: { EndpointsConfig: { app: {}, bridge: {} } } });
    expect(two.status).toBe(400);
    expect(JSON.parse(two.body).message).toMatch(/^Container cannot be connected to network endpoints/);
    const mac = await s.docker(['run', '-d', '--network', 'app', '--link', 'web:w', 'busybox', 'true']);
    expect(mac.code).not.toBe(0);
    expect(mac.stderr).toMatch(/Links is not supported by tsdocker/);
    const rm = await s.api('DELETE', '/networks/app');
    expect(rm.status).toBe(403);
    expect(JSON.parse(rm.body).message).toMatch(/^error while removing network: network app id [0-9a-f]+ has active endpoints/);
    await s.dockerOk(['rm', '-f', 'web']);
  });

  it('docker network connect (alias, --ip) and disconnect a running container; prune removes unused networks', async () => {
    await s.dockerOk(['network', 'create', '--subnet', '10.94.0.0/24', '--label', 'keep=no', 'side']);
    await s.dockerOk(['network', 'create', '--label', 'keep=yes', 'spare']);
    await s.dockerOk(['run', '-d', '--name', 'c1', '--network', 'app', 'busybox', 'sleep', '300']);
    await s.dockerOk(['network', 'connect', '--alias', 'side1', '--ip', '10.94.0.9', 'side', 'c1']);
    const nets = '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}';
    expect((await s.dockerOk(['inspect', '-f', nets, 'c1'])).trim()).toMatch(/^app=10\.93\.0\.\d+ side=10\.94\.0\.9$/);
    const ping = await s.dockerOk(['run', '--rm', '--network', 'side', 'busybox', 'sh', '-c', 'for i in $(seq 50); do ping -c1 -W1 side1 >/dev/null && echo ok && exit 0; sleep 0.1; done; exit 1']);
    expect(ping).toBe('ok\n');
    const again = await s.api('POST', '/networks/side/connect', { Container: 'c1' });
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body).message).toBe('endpoint with name c1 already exists in network side');
    const nobody = await s.docker(['network', 'connect', 'side', 'nobody']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('No such container: nobody');
    const badField = await s.api('POST', '/networks/side/connect', { Container: 'c1', EndpointConfig: { MacAddress: '02:42:ac:11:00:09' } });
    expect(badField.status).toBe(400);
    await s.dockerOk(['network', 'disconnect', 'side', 'c1']);
    expect((await s.dockerOk(['inspect', '-f', nets, 'c1'])).trim()).toMatch(/^app=10\.93\.0\.\d+$/);
    // prune: the label filter, then everything unused (app is in use by c1)
    expect((await s.dockerOk(['network', 'prune', '-f', '--filter', 'label=keep=no'])).trim()).toBe('Deleted Networks:\nside');
    const pruned = await s.api('POST', '/networks/prune');
    expect(JSON.parse(pruned.body)).toEqual({ NetworksDeleted: ['spare'] });
    await s.dockerOk(['rm', '-f', 'c1']);
    expect((await s.dockerOk(['network', 'prune', '-f'])).trim()).toBe('Deleted Networks:\napp');
  });
});

describe('docker run -p, -v and --mount through the API', () => {
  it('a named volume keeps data between runs, --mount readonly and --tmpfs and --read-only apply', async () => {
    await s.dockerOk(['run', '--rm', '-v', 'vdata:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    expect(await s.dockerOk(['run', '--rm', '--mount', 'type=volume,source=vdata,target=/d', 'busybox', 'cat', '/d/f'])).toBe('kept\n');
    const ro = await s.docker(['run', '--rm', '--mount', 'type=volume,source=vdata,target=/d,readonly', 'busybox', 'sh', '-c', 'echo x > /d/g']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toContain('Read-only file system');
    expect(await s.dockerOk(['run', '--rm', '--mount', `type=bind,source=${s.sb.root},target=/host,readonly`, 'busybox', 'sh', '-c', 'test -S /host/api.sock && echo bound'])).toBe('bound\n');
    expect(await s.dockerOk(['run', '--rm', '--read-only', '--tmpfs', '/scratch:size=1m', 'busybox', 'sh', '-c', 'grep " /scratch " /proc/mounts | cut -d" " -f3; touch /x 2>/dev/null || echo rootro'])).toBe('tmpfs\nrootro\n');
    const f = '{{range .Mounts}}{{.Type}}:{{.Name}}:{{.Destination}}:{{.RW}}{{end}}';
    const id = (await s.dockerOk(['run', '-d', '--mount', 'type=volume,source=vdata,target=/d,readonly', 'busybox', 'sleep', '300'])).trim();
    expect((await s.dockerOk(['inspect', '-f', f, id])).trim()).toBe('volume:vdata:/d:false');
    await s.dockerOk(['rm', '-f', id]);
    const bad = await s.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Mounts: [{ Type: 'npipe', Source: 'x', Target: '/x' }] } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).message).toBe('HostConfig.Mounts[0].Type "npipe" is not supported by tsdocker; use bind, volume or tmpfs');
    expect((await s.sb.tsd(['volume', 'rm', 'vdata'])).code).toBe(0);
  });

  it('leaves no link or nft table behind once its containers and networks are gone', async () => {
    expect((await s.dockerOk(['ps', '-aq'])).trim()).toBe('');
    await s.dockerOk(['network', 'prune', '-f']);
    expect(await sandboxNetState(s.sb)).toEqual(netBefore);
  });
});
