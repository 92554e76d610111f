/**
 * Volumes and container management through the Engine API with the real docker 20.10
 * client: volume create/ls/inspect/rm/prune, container prune, top, stats (--no-stream and a
 * raw stream), rename, pause/unpause and restart, with dockerd's statuses and messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { join } from 'node:path';
import { hostSnapshot } from '../helpers/sandbox.js';
import { apiSandbox, type ApiServer } from '../helpers/api-server.js';

let s: ApiServer;
const before = hostSnapshot();

beforeAll(async () => {
  s = await apiSandbox('tsd-apiops');
});

afterAll(async () => {
  await s?.close();
  expect(hostSnapshot()).toEqual(before);
});

const msg = (r: { body: string }) => (JSON.parse(r.body) as { message: string }).message;

describe('docker volume through the API', () => {
  it('create (labels), ls (filters), inspect, rm (in use: 409; -f of a missing one: fine), prune', async () => {
    expect((await s.dockerOk(['volume', 'create', '--label', 'tier=db', 'v1'])).trim()).toBe('v1');
    await s.dockerOk(['volume', 'create', 'v2']);
    expect((await s.dockerOk(['volume', 'create', 'v1'])).trim()).toBe('v1'); // an existing name: that volume
    const anon = (await s.dockerOk(['volume', 'create'])).trim();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect((await s.dockerOk(['volume', 'ls', '-q'])).trim().split('\n').sort()).toEqual([anon, 'v1', 'v2'].sort());
    expect((await s.dockerOk(['volume', 'ls', '-f', 'label=tier=db', '--format', '{{.Name}} {{.Driver}}'])).trim()).toBe('v1 local');
    expect((await s.dockerOk(['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Scope}} {{.Labels.tier}} {{.Mountpoint}}', 'v1'])).trim()).toBe(
      `v1 local local db ${s.sb.root}/volumes/v1/_data`,
    );
    const missing = await s.api('GET', '/volumes/nosuch');
    expect(missing.status).toBe(404);
    expect(msg(missing)).toBe('get nosuch: no such volume');
    const insp = await s.docker(['volume', 'inspect', 'nosuch']);
    expect(insp.code).toBe(1);
    expect(insp.stderr).toContain('No such volume: nosuch');
    const opts = await s.docker(['volume', 'create', '-o', 'type=nfs', 'v3']);
    expect(opts.code).not.toBe(0);
    expect(opts.stderr).toContain('volume.DriverOpts is not supported by tsdocker yet');
    const drv = await s.api('POST', '/volumes/create', { Name: 'v4', Driver: 'nfs' });
    expect(drv.status).toBe(400);
    // in use
    await s.dockerOk(['run', '--name', 'user1', '-v', 'v1:/data', 'busybox', 'true']);
    const id = (await s.dockerOk(['inspect', '-f', '{{.Id}}', 'user1'])).trim();
    expect((await s.dockerOk(['volume', 'ls', '-f', 'dangling=false', '-q'])).trim()).toBe('v1');
    const busy = await s.api('DELETE', '/volumes/v1');
    expect(busy.status).toBe(409);
    expect(msg(busy)).toBe(`remove v1: volume is in use - [${id}]`);
    expect((await s.api('DELETE', '/volumes/nosuch')).status).toBe(404);
    expect((await s.api('DELETE', '/volumes/nosuch?force=1')).status).toBe(204);
    await s.dockerOk(['volume', 'rm', 'v2']);
    // prune (API 1.41: every unused volume, named or not), the label filter first
    await s.dockerOk(['volume', 'create', '--label', 'keep=no', 'v5']);
    expect((await s.dockerOk(['volume', 'prune', '-f', '--filter', 'label=keep=no'])).trim()).toMatch(/^Deleted Volumes:\nv5\n\nTotal reclaimed space: /);
    const pruned = JSON.parse((await s.api('POST', '/volumes/prune')).body);
    expect(pruned.VolumesDeleted).toEqual([anon]);
    expect(typeof pruned.SpaceReclaimed).toBe('number');
    await s.dockerOk(['rm', id]);
    await s.dockerOk(['volume', 'rm', 'v1']);
    expect((await s.dockerOk(['volume', 'ls', '-q'])).trim()).toBe('');
  });
});

describe('container management through the API', () => {
  it('docker container prune removes stopped containers (label filter), not running ones', async () => {
    await s.dockerOk(['run', '--name', 'done1', '-l', 'p=1', 'busybox', 'true']);
    await s.dockerOk(['run', '--name', 'done2', 'busybox', 'true']);
    await s.dockerOk(['run', '-d', '--name', 'alive', 'busybox', 'sleep', '300']);
    const done1 = (await s.dockerOk(['inspect', '-f', '{{.Id}}', 'done1'])).trim();
    // reclaimed: the bytes of done1's writable layer (what the runtime wrote there), as dockerd counts SizeRw
    const upper = await s.sb.sh(['find', join(s.sb.root, 'containers', done1, 'upper'), '!', '-type', 'd', '-printf', '%s\n']);
    const bytes = upper.stdout.split('\n').filter(Boolean).reduce((n, x) => n + Number(x), 0);
    expect(bytes).toBeLessThan(1000);
    expect((await s.dockerOk(['container', 'prune', '-f', '--filter', 'label=p=1'])).trim()).toBe(`Deleted Containers:\n${done1}\n\nTotal reclaimed space: ${bytes}B`);
    const r = JSON.parse((await s.api('POST', '/containers/prune')).body) as { ContainersDeleted: string[] };
    expect(r.ContainersDeleted).toHaveLength(1);
    expect((await s.dockerOk(['ps', '-a', '--format', '{{.Names}}'])).trim()).toBe('alive');
  });

  it('docker top lists the container processes; ps options pass; a stopped container is a 409', async () => {
    const out = await s.dockerOk(['top', 'alive']);
    expect(out.split('\n')[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    expect(out).toContain('sleep 300');
    const custom = JSON.parse((await s.api('GET', '/containers/alive/top?ps_args=-o%20pid,comm')).body) as { Titles: string[]; Processes: string[][] };
    expect(custom.Titles).toEqual(['PID', 'COMMAND']);
    expect(custom.Processes.map((p) => p[1])).toEqual(['sleep']);
    await s.dockerOk(['create', '--name', 'idle', 'busybox', 'true']);
    const r = await s.api('GET', '/containers/idle/top');
    expect(r.status).toBe(409);
    expect(msg(r)).toMatch(/^Container [0-9a-f]{64} is not running$/);
    expect((await s.api('GET', '/containers/nosuch/top')).status).toBe(404);
  });

  it('docker stats --no-stream shows CPU, memory against the limit and pids; stream=1 sends a sample a second', async () => {
    await s.dockerOk(['run', '-d', '--name', 'busy', '-m', '64m', 'busybox', 'sh', '-c', 'while :; do :; done']);
    const line = (await s.dockerOk(['stats', '--no-stream', '--format', '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}', 'busy'])).trim();
    const [name, cpu, mem, pids] = line.split('|');
    expect(name).toBe('busy');
    expect(Number(cpu!.replace('%', ''))).toBeGreaterThan(5); // a busy loop
    expect(mem).toMatch(/^[\d.]+[KMG]?i?B \/ 64MiB$/);
    expect(pids).toBe('1'); // sh alone: the loop is a builtin
    // the raw stream: JSON objects, each one's precpu the previous one's cpu
    const samples = await new Promise<Record<string, { cpu_usage: { total_usage: number } }>[]>((resolve, reject) => {
      const got: Record<string, { cpu_usage: { total_usage: number } }>[] = [];
      let buf = '';
      const req = request({ socketPath: s.sock, path: '/containers/busy/stats?stream=1' }, (res) => {
        res.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            got.push(JSON.parse(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
            if (got.length === 2) {
              req.destroy();
              resolve(got);
            }
          }
        });
      });
      req.on('error', (e) => (got.length < 2 ? reject(e) : undefined));
      req.end();
    });
    expect(samples[1]!.precpu_stats!.cpu_usage.total_usage).toBe(samples[0]!.cpu_stats!.cpu_usage.total_usage);
    expect(samples[1]!.cpu_stats!.cpu_usage.total_usage).toBeGreaterThan(samples[0]!.cpu_stats!.cpu_usage.total_usage);
    await s.dockerOk(['rm', '-f', 'busy']);
  });

  it('docker rename, pause/unpause (409s as dockerd) and restart', async () => {
    await s.dockerOk(['rename', 'alive', 'living']);
    expect((await s.dockerOk(['ps', '--format', '{{.Names}}'])).trim()).toBe('living');
    const taken = await s.api('POST', '/containers/idle/rename?name=living');
    expect(taken.status).toBe(409);
    expect(msg(taken)).toMatch(/^Conflict\. The container name "\/living" is already in use by container/);
    await s.dockerOk(['pause', 'living']);
    expect((await s.dockerOk(['ps', '--format', '{{.Status}}'])).trim()).toMatch(/\(Paused\)$/);
    expect((await s.dockerOk(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'living'])).trim()).toBe('paused true');
    const again = await s.api('POST', '/containers/living/pause');
    expect(again.status).toBe(409);
    expect(msg(again)).toMatch(/is already paused$/);
    await s.dockerOk(['unpause', 'living']);
    expect((await s.api('POST', '/containers/living/unpause')).status).toBe(409);
    expect((await s.api('POST', '/containers/idle/pause')).status).toBe(409);
    const pid1 = (await s.dockerOk(['inspect', '-f', '{{.State.Pid}}', 'living'])).trim();
    await s.dockerOk(['restart', '-t', '1', 'living']);
    const after = (await s.dockerOk(['inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'living'])).trim().split(' ');
    expect(after[0]).toBe('true');
    expect(after[1]).not.toBe(pid1);
    await s.dockerOk(['restart', 'idle']); // a stopped container is started
    await s.dockerOk(['rm', '-f', 'living', 'idle']);
  });
});
