/**
 * --format templates, --filter and JSON shapes of ps, inspect, images, network and volume
 * commands, compared with what Docker 20.10 prints for the same commands (the expected
 * output is written here from Docker's documentation and docker/cli's formatter).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type RunResult, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const before = hostSnapshot();
const tsd = (args: string[]): Promise<RunResult> => sb.tsd(args);
const ok = async (args: string[]): Promise<string> => {
  const r = await tsd(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};
const lines = (s: string) => s.split('\n').filter(Boolean);

let webId = '';
beforeAll(async () => {
  sb = await createSandbox('tsd-fmt');
  await ok(['load', '-i', BUSYBOX_TAR]);
  await ok(['network', 'create', '--label', 'tier=front', 'front']);
  await ok(['volume', 'create', '--label', 'keep=yes', 'data']);
  await ok(['volume', 'create', 'spare']);
  await ok(['create', '--name', 'made', '--label', 'role=idle', 'busybox', 'true']);
  expect((await tsd(['run', '--name', 'done', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
  webId = (await ok(['run', '-d', '--name', 'web', '--network', 'front', '--label', 'role=web', '--label', 'team=a', '-v', 'data:/data', 'busybox', 'sleep', '300'])).trim();
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

describe('inspect -f', () => {
  it('field chains, range over networks, json, index (the manual --net=none recipe)', async () => {
    const pid = Number((await ok(['inspect', '-f', '{{.State.Pid}}', 'web'])).trim());
    expect(pid).toBeGreaterThan(1);
    const ip = (await ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'web'])).trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await ok(['inspect', '--format', '{{.Name}} {{.State.Status}} {{.State.ExitCode}}', 'web', 'done'])).toBe('/web running 0\n/done exited 3\n');
    expect(await ok(['inspect', '-f', '{{index .Config.Labels "role"}} {{json .Config.Cmd}}', 'web'])).toBe('web ["sleep","300"]\n');
    expect(await ok(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.MacAddress}}{{end}}', 'web']))
      .toBe(`front 02:42:${ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0')).join(':')}\n`);
    const all = JSON.parse(await ok(['inspect', '-f', '{{json .}}', 'web'])) as Record<string, unknown>;
    expect(all.Id).toBe(webId);
  });

  it('an output longer than a pipe holds (64 KiB) reaches the reader whole, every time', async () => {
    // Node queues what the pipe does not take at once; an exit before it drained cut the end
    for (let i = 0; i < 5; i++) {
      const out = await ok(['inspect', ...Array<string>(40).fill('web')]);
      expect(out.length).toBeGreaterThan(128 * 1024);
      expect((JSON.parse(out) as unknown[]).length).toBe(40);
    }
  });

  it('an unknown field fails as Docker: exit 1, "map has no entry for key"', async () => {
    const r = await tsd(['inspect', '-f', '{{.Foo}}', 'web']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Template parsing error: template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"');
    expect(r.stdout).toBe('');
  });

  it('images, networks and volumes are found by inspect too; --type narrows', async () => {
    expect(await ok(['inspect', '-f', '{{.Os}} {{len .RootFS.Layers}}', 'busybox'])).toBe('linux 1\n');
    expect(await ok(['inspect', '-f', '{{.Driver}} {{.Scope}}', 'front'])).toBe('bridge local\n');
    expect(await ok(['inspect', '-f', '{{.Labels.keep}}', 'data'])).toBe('yes\n');
    const none = await tsd(['inspect', '--type', 'image', 'web']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Error: No such image: web');
    expect(await ok(['network', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'host', 'none'])).toBe('host host\nnone null\n');
    expect(await ok(['volume', 'inspect', '--format', '{{.Name}}:{{.Driver}}', 'data'])).toBe('data:local\n');
  });
});

describe('ps', () => {
  it('--format with Docker fields, table headers, json with Docker keys', async () => {
    expect(await ok(['ps', '--format', '{{.Names}}'])).toBe('web\n');
    expect(await ok(['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Label "role"}}'])).toBe('web running web\ndone exited \nmade created idle\n');
    const t = lines(await ok(['ps', '--format', 'table {{.ID}}\t{{.Names}}\t{{.Networks}}']));
    expect(t).toEqual(['CONTAINER ID   NAMES     NETWORKS', `${webId.slice(0, 12)}   web       front`]);
    const j = JSON.parse(await ok(['ps', '--format', '{{json .}}'])) as Record<string, string>;
    expect(Object.keys(j)).toEqual(['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    expect(j).toMatchObject({ Command: '"sleep 300"', ID: webId.slice(0, 12), Image: 'busybox', Labels: 'role=web,team=a', LocalVolumes: '1', Mounts: 'data', Names: 'web', State: 'running' });
    expect(j.CreatedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+$/);
    expect(j.Status).toMatch(/^Up (Less than a second|\d+ seconds?)$/);
    expect(JSON.parse(await ok(['ps', '--format', 'json']))).toMatchObject({ ID: j.ID, Labels: j.Labels, CreatedAt: j.CreatedAt });
    const d = lines(await ok(['ps']));
    expect(d[0]).toMatch(/^CONTAINER ID   IMAGE     COMMAND       CREATED\s+STATUS\s+PORTS     NAMES$/);
  });

  it('an unknown field is an error, never a table', async () => {
    const r = await tsd(['ps', '--format', '{{.Foo}}']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`Template parsing error: template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type *formatter.containerContext`);
    const p = await tsd(['ps', '--format', '{{nosuch}}']);
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('Template parsing error: template: :1: function "nosuch" not defined');
  });

  it('--filter: name, id, label, status, exited, ancestor, network, volume, before, since', async () => {
    const names = async (...f: string[]) => lines(await ok(['ps', '-a', '--format', '{{.Names}}', ...f.flatMap((x) => ['--filter', x])]));
    expect(await names('name=^we')).toEqual(['web']);
    expect(await names('name=web', 'name=made')).toEqual(['web', 'made']);
    expect(await names(`id=${webId.slice(0, 6)}`)).toEqual(['web']);
    expect(await names('label=role')).toEqual(['web', 'made']);
    expect(await names('label=role=web', 'label=team')).toEqual(['web']);
    expect(await names('status=exited')).toEqual(['done']);
    expect(await names('exited=3')).toEqual(['done']);
    expect(await names('exited=0')).toEqual([]);
    expect(await names('ancestor=busybox')).toEqual(['web', 'done', 'made']);
    expect(await names('network=front')).toEqual(['web']);
    expect(await names('volume=data')).toEqual(['web']);
    expect(await names('volume=/data')).toEqual(['web']);
    expect(await names('before=web')).toEqual(['done', 'made']);
    expect(await names('since=made')).toEqual(['web', 'done']);
    // status implies -a, as Docker's daemon does
    expect(lines(await ok(['ps', '-q', '--filter', 'status=created']))).toHaveLength(1);
    const bad = await tsd(['ps', '--filter', 'color=red']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Invalid filter 'color'");
    const badStatus = await tsd(['ps', '--filter', 'status=sleeping']);
    expect(badStatus.code).toBe(1);
    expect(badStatus.stderr).toContain('Unrecognised filter value for status: sleeping');
  });
});

describe('images, network ls, volume ls', () => {
  it('images: --format, --filter reference/dangling/label, headers', async () => {
    expect(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).toBe('busybox:latest\n');
    expect(lines(await ok(['images', '--format', 'table {{.Repository}}\t{{.Tag}}']))).toEqual(['REPOSITORY   TAG', 'busybox      latest']);
    expect(await ok(['images', '--filter', 'reference=busy*', '--format', '{{.Repository}}'])).toBe('busybox\n');
    expect(await ok(['images', '--filter', 'reference=nomatch*', '-q'])).toBe('');
    expect(await ok(['images', '--filter', 'dangling=true', '-q'])).toBe('');
    expect(await ok(['images', '--filter', 'dangling=false', '--format', '{{.Tag}}'])).toBe('latest\n');
    const bad = await tsd(['images', '--filter', 'dangling=maybe']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Invalid filter 'dangling=maybe'");
  });

  it('network ls: Docker columns, builtin host/none, --filter driver/name/type/label', async () => {
    const t = lines(await ok(['network', 'ls']));
    expect(t[0]).toBe('NETWORK ID     NAME      DRIVER    SCOPE');
    expect(t.slice(1).map((l) => l.split(/\s+/).slice(1))).toEqual([['bridge', 'bridge', 'local'], ['front', 'bridge', 'local'], ['host', 'host', 'local'], ['none', 'null', 'local']]);
    const f = (...x: string[]) => ok(['network', 'ls', '--format', '{{.Name}}', ...x.flatMap((y) => ['--filter', y])]);
    expect(await f('driver=bridge')).toBe('bridge\nfront\n');
    expect(await f('name=fr')).toBe('front\n');
    expect(await f('type=custom')).toBe('front\n');
    expect(await f('type=builtin')).toBe('bridge\nhost\nnone\n');
    expect(await f('label=tier=front')).toBe('front\n');
    expect(await f('scope=local', 'driver=null')).toBe('none\n');
    expect(await ok(['network', 'ls', '--format', '{{.Name}} {{.Internal}} {{.Label "tier"}}', '--filter', 'name=front'])).toBe('front false front\n');
    const bad = await tsd(['network', 'ls', '--filter', 'type=odd']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Invalid filter 'type=odd'");
  });

  it('network inspect: Docker fields (Scope, EnableIPv6, Attachable, Ingress, ConfigFrom, ConfigOnly; Containers with MacAddress, EndpointID)', async () => {
    const [n] = JSON.parse(await ok(['network', 'inspect', 'front'])) as Record<string, unknown>[];
    expect(Object.keys(n!)).toEqual(['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels']);
    expect(n).toMatchObject({ Scope: 'local', EnableIPv6: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Labels: { tier: 'front' } });
    const c = (n!.Containers as Record<string, Record<string, string>>)[webId]!;
    expect(Object.keys(c)).toEqual(['Name', 'EndpointID', 'MacAddress', 'IPv4Address', 'IPv6Address']);
    expect(c.EndpointID).toMatch(/^[0-9a-f]{64}$/);
    expect(c.MacAddress).toMatch(/^02:42(:[0-9a-f]{2}){4}$/);
  });

  it('volume ls: --format, --filter name/label/dangling/driver', async () => {
    expect(lines(await ok(['volume', 'ls']))).toEqual(['DRIVER    VOLUME NAME', 'local     data', 'local     spare']);
    const f = (...x: string[]) => ok(['volume', 'ls', '--format', '{{.Name}}', ...x.flatMap((y) => ['-f', y])]);
    expect(await f('dangling=true')).toBe('spare\n');
    expect(await f('dangling=false')).toBe('data\n');
    expect(await f('label=keep=yes')).toBe('data\n');
    expect(await f('name=sp')).toBe('spare\n');
    expect(await f('driver=local')).toBe('data\nspare\n');
    expect(await ok(['volume', 'ls', '--format', '{{.Name}} {{.Labels}} {{.Label "keep"}}', '-f', 'name=data'])).toBe('data keep=yes yes\n');
    const bad = await tsd(['volume', 'ls', '--format', '{{.Nope}}']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("can't evaluate field Nope in type *formatter.volumeContext");
  });
});

describe('inspect shapes', () => {
  it('container: RestartCount, GraphDriver, MacAddress, EndpointID, ExposedPorts, image labels in Config.Labels; no lowercase keys', async () => {
    const [c] = JSON.parse(await ok(['inspect', 'web'])) as Record<string, any>[];
    expect(c!.RestartCount).toBe(0);
    expect(c!.GraphDriver.Name).toBe('overlay2');
    expect(c!.NetworkSettings.Networks.front.EndpointID).toMatch(/^[0-9a-f]{64}$/);
    expect(c!.NetworkSettings.MacAddress).toMatch(/^02:42:/);
    const lower = (o: unknown, path: string): string[] =>
      o && typeof o === 'object' && !Array.isArray(o)
        ? Object.entries(o).flatMap(([k, v]) => [...(/^[a-z]/.test(k) && !/Labels|Networks|Ports|Options|Data|ExposedPorts|Volumes/.test(path) ? [`${path}.${k}`] : []), ...lower(v, `${path}.${k}`)])
        : [];
    expect(lower(c, '')).toEqual([]);
    const [i] = JSON.parse(await ok(['image', 'inspect', 'busybox'].slice(1))) as Record<string, any>[];
    expect(i!.RootFS.Type).toBe('layers');
    expect(i!.RootFS.Layers).toHaveLength(1);
    expect(typeof i!.Architecture).toBe('string');
  });
});
