/**
 * State that must not break the CLI or leave anything behind (issue 8, items 5-8): corrupt
 * records (container, network, DNS endpoint), directories a killed `create` left without a
 * record, multi-id commands past a failure, reconcile after a killed monitor or CLI, and
 * the embedded DNS brought back after a kill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, tsdOk, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ok = (args: string[]) => tsdOk(sb, args);
const ctrFile = (id: string, name: string) => join(sb.root, 'containers', id, name);
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

async function inspect(ref: string): Promise<{ Id: string; State: { Pid: number } }> {
  return (JSON.parse(await ok(['inspect', ref])) as never[])[0]!;
}

function ppid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`not in time: ${what}`);
    await sleep(50);
  }
}

/** Names of the sandbox's tsdocker processes that mention `text` (monitors by spec path). */
async function procsMentioning(text: string): Promise<string[]> {
  const r = await sb.sh(['ps', '-eo', 'pid,args']);
  return r.stdout.split('\n').filter((l) => l.includes(text) && !l.includes(' ps -eo'));
}

function noInternalError(r: { stderr: string }): void {
  expect(r.stderr).not.toMatch(/internal error|please report/);
}

beforeAll(async () => {
  sb = await createSandbox('tsd-hstate');
  await ok(['load', '-i', BUSYBOX_TAR]);
});

afterAll(async () => {
  await sb?.close();
});

describe('corrupt container records', () => {
  it('are reported by ps (one line naming the file) and skipped; other commands still work', async () => {
    const a = (await ok(['create', '--name', 'badconfig', 'busybox', 'true'])).trim();
    const b = (await ok(['run', '-d', '--name', 'badstate', 'busybox', 'sleep', '60'])).trim();
    const c = (await ok(['run', '-d', '--name', 'badexit', 'busybox', 'true'])).trim();
    await ok(['run', '-d', '--name', 'healthy', 'busybox', 'sleep', '60']);
    await ok(['wait', c]);
    const bPid = (await inspect(b)).State.Pid;
    writeFileSync(ctrFile(a, 'config.json'), 'garbage{');
    writeFileSync(ctrFile(b, 'state.json'), '');
    writeFileSync(ctrFile(c, 'exit.json'), '[1, 2');

    const ps = await sb.tsd(['ps', '-a']);
    expect(ps.code, ps.stderr).toBe(0);
    noInternalError(ps);
    expect(ps.stdout).toContain('healthy');
    expect(ps.stdout).not.toMatch(/badconfig|badstate|badexit/);
    for (const f of [ctrFile(a, 'config.json'), ctrFile(b, 'state.json'), ctrFile(c, 'exit.json')]) {
      expect(ps.stderr.split('\n').filter((l) => l.includes(f))).toHaveLength(1);
    }

    const ins = await sb.tsd(['inspect', a]);
    expect(ins.code).toBe(1);
    noInternalError(ins);
    expect(ins.stderr).toMatch(/corrupt record .*config\.json: not valid JSON/);

    const run = await sb.tsd(['run', '--rm', 'busybox', 'echo', 'still here']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('still here\n');

    // without -f a corrupt record is refused and kept; with -f everything found by the id goes
    const plain = await sb.tsd(['rm', a]);
    expect(plain.code).toBe(1);
    noInternalError(plain);
    expect(plain.stderr).toMatch(/cannot remove container .*corrupt record/);
    expect(existsSync(ctrFile(a, ''))).toBe(true);

    const rm = await sb.tsd(['rm', '-f', a, b, c]);
    expect(rm.code, rm.stderr).toBe(0);
    for (const id of [a, b, c]) expect(existsSync(ctrFile(id, ''))).toBe(false);
    expect(alive(bPid)).toBe(false);
    expect(await procsMentioning(b)).toEqual([]);
  });

  it('a wrong-type state.json of a running container: rm -f kills it and frees its lease, port and rules', async () => {
    await ok(['network', 'create', '--subnet', '10.97.0.0/24', 'hnet']);
    const id = (await ok(['run', '-d', '--network', 'hnet', '-p', '18080:80', 'busybox', 'sleep', '60'])).trim();
    const pid = (await inspect(id)).State.Pid;
    const monitor = ppid(pid);
    const st = JSON.parse(readFileSync(ctrFile(id, 'state.json'), 'utf8'));
    writeFileSync(ctrFile(id, 'state.json'), JSON.stringify({ ...st, pid: String(st.pid), monitorPid: [st.monitorPid] }));
    expect((await sb.tsd(['ps'])).stderr).toMatch(/state\.json: field "monitorPid" is not a number/);

    const rm = await sb.tsd(['rm', '-f', id]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(existsSync(ctrFile(id, ''))).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(alive(monitor)).toBe(false);
    const netId = (JSON.parse(await ok(['network', 'inspect', 'hnet'])) as { Id: string }[])[0]!.Id;
    expect(readdirSync(join(sb.root, 'networks', netId, 'leases')).filter((f) => !f.startsWith('.'))).toEqual([]);
    expect(readdirSync(join(sb.root, 'networks', netId, 'endpoints'))).toEqual([]);
    expect(readdirSync(join(sb.root, 'networks', 'ports'))).toEqual([]);
    expect((await sb.sh(['nft', 'list', 'ruleset'])).stdout).not.toContain('18080');
  });
});

describe('corrupt network records', () => {
  it('a bad network.json is skipped by network ls; a bad endpoint record does not stop the DNS', async () => {
    await ok(['network', 'create', '--subnet', '10.96.0.0/24', 'good']);
    await ok(['network', 'create', '--subnet', '10.95.0.0/24', 'broken']);
    const brokenId = (JSON.parse(await ok(['network', 'inspect', 'broken'])) as { Id: string }[])[0]!.Id;
    const goodId = (JSON.parse(await ok(['network', 'inspect', 'good'])) as { Id: string }[])[0]!.Id;
    writeFileSync(join(sb.root, 'networks', brokenId, 'network.json'), '{"name": 42}');
    const ls = await sb.tsd(['network', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('good');
    expect(ls.stdout).not.toContain('broken');
    expect(ls.stderr).toMatch(new RegExp(`${brokenId}/network\\.json: field "id" is missing`));

    await ok(['run', '-d', '--network', 'good', '--name', 'web', 'busybox', 'sleep', '60']);
    const dnsPid = Number(readFileSync(join(sb.root, 'run', 'dnsd.pid'), 'utf8'));
    writeFileSync(join(sb.root, 'networks', goodId, 'endpoints', `${'e'.repeat(64)}.json`), '{"name": ');
    await sleep(1500); // the daemon rescans every second
    const q = await sb.tsd(['run', '--rm', '--network', 'good', 'busybox', 'nslookup', 'web']);
    expect(q.code, q.stdout + q.stderr).toBe(0);
    expect(q.stdout).toMatch(/Address: 10\.96\.0\.\d+/);
    expect(alive(dnsPid)).toBe(true);
    await ok(['rm', '-f', 'web']);
  });
});

describe('directories without a record (create killed) and multi-id commands', () => {
  it('inspect reports it, rm -f removes it and goes on past a missing id, ps removes the others', async () => {
    const half = 'a'.repeat(64);
    const other = 'b'.repeat(64);
    for (const id of [half, other]) {
      mkdirSync(ctrFile(id, 'upper'), { recursive: true });
      writeFileSync(ctrFile(id, `.config.json.999.0.tmp`), '{"id":');
    }
    const running = (await ok(['run', '-d', 'busybox', 'sleep', '60'])).trim();
    const ins = await sb.tsd(['inspect', half]);
    expect(ins.code).toBe(1);
    noInternalError(ins);
    expect(ins.stderr).toContain(`No such object: ${half}`);

    // Docker 20.10's rm -f prints a missing id's error and goes on; only other failures exit 1
    const rm = await sb.tsd(['rm', '-f', half, 'nosuchctr', running]);
    expect(rm.code).toBe(0);
    noInternalError(rm);
    expect(rm.stderr).toContain('No such container: nosuchctr');
    expect(rm.stdout.split('\n')).toEqual([half, running, '']);
    expect(existsSync(ctrFile(half, ''))).toBe(false);
    expect(existsSync(ctrFile(running, ''))).toBe(false);

    const ps = await sb.tsd(['ps', '-a']);
    expect(ps.code, ps.stderr).toBe(0);
    expect(existsSync(ctrFile(other, ''))).toBe(false);
  });

  it('stop and kill go on past a container whose record is corrupt', async () => {
    const bad = (await ok(['run', '-d', 'busybox', 'sleep', '60'])).trim();
    const a = (await ok(['run', '-d', 'busybox', 'sleep', '60'])).trim();
    writeFileSync(ctrFile(bad, 'config.json'), '');
    const k = await sb.tsd(['kill', bad, a]);
    expect(k.code).toBe(1);
    noInternalError(k);
    expect(k.stderr).toContain(`${ctrFile(bad, 'config.json')}: the file is empty`);
    expect(k.stdout).toBe(`${a}\n`);
    const s = await sb.tsd(['stop', bad, 'nosuchctr']);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('No such container: nosuchctr');
    expect(s.stderr).toContain('config.json: the file is empty');
    await ok(['rm', '-f', bad, a]);
  });
});

describe('reconcile without ps after a killed monitor or CLI', () => {
  it('a full small subnet takes a new container once the old ones died; dead names do not resolve', async () => {
    // 10.94.0.0/29: gateway .1, five addresses .2-.6
    await ok(['network', 'create', '--subnet', '10.94.0.0/29', 'tiny']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await ok(['run', '-d', '--network', 'tiny', '--name', `t${i}`, 'busybox', 'sleep', '60'])).trim());
    const full = await sb.tsd(['run', '-d', '--network', 'tiny', 'busybox', 'sleep', '60']);
    expect(full.code).toBe(125);
    expect(full.stderr).toMatch(/no available IPv4 addresses/);

    // t0 dies with its monitor: from now its name must not resolve, even before any cleanup
    const t0 = (await inspect('t0')).State.Pid;
    process.kill(ppid(t0), 'SIGKILL');
    await until('t0 dead', () => !alive(t0));
    const q = await sb.tsd(['exec', 't1', 'nslookup', 't0']);
    expect(q.stdout + q.stderr).not.toMatch(/Address: 10\.94\.0\.\d+\s*$/m);
    expect(q.code).not.toBe(0);

    for (const name of ['t1', 't2']) {
      const pid = (await inspect(name)).State.Pid;
      process.kill(ppid(pid), 'SIGKILL');
      await until(`${name} dead`, () => !alive(pid));
    }
    const again = await sb.tsd(['run', '-d', '--network', 'tiny', '--name', 'newcomer', 'busybox', 'sleep', '60']);
    expect(again.code, again.stderr).toBe(0);
    const r = await sb.tsd(['exec', 't3', 'nslookup', 'newcomer']);
    expect(r.code, r.stdout).toBe(0);
    await ok(['rm', '-f', ...ids, 'newcomer']);
  });

  it('a `run --rm` killed before its container ran leaves no record, with no further command', async () => {
    await ok(['network', 'create', '--subnet', '10.93.0.0/24', 'locked']);
    const lock = join(sb.root, 'locks', 'net.lock');
    // hold the network lock so the start stops between "monitor spawned" and "network attached"
    const holder = spawn('flock', [lock, 'sleep', '3'], { stdio: 'ignore' });
    await sleep(100);
    const before = new Set(readdirSync(join(sb.root, 'containers')));
    const cli = sb.spawnTsd(['run', '--rm', '--network', 'locked', 'busybox', 'sleep', '60']);
    let id = '';
    await until('the start waits for the lock', () => {
      id = readdirSync(join(sb.root, 'containers')).find((d) => !before.has(d)) ?? '';
      return id !== '' && existsSync(ctrFile(id, 'state.json'));
    });
    cli.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    await until('the record is gone', () => !existsSync(ctrFile(id, '')), 15_000);
    expect(await procsMentioning(id)).toEqual([]);
  });
});

describe('the embedded DNS is supervised', () => {
  const dnsdPid = () => Number(readFileSync(join(sb.root, 'run', 'dnsd.pid'), 'utf8'));
  /** A user network with two sleeping containers; the embedded DNS's pid. */
  async function dnsNetwork(name: string, subnet: string, ctrs: string[]): Promise<number> {
    await ok(['network', 'create', '--subnet', subnet, name]);
    for (const c of ctrs) await ok(['run', '-d', '--network', name, '--name', c, 'busybox', 'sleep', '60']);
    return dnsdPid();
  }

  it('the monitors of containers on user networks bring it back by themselves, within seconds', async () => {
    const first = await dnsNetwork('watched', '10.89.0.0/24', ['watched1', 'watcher']);
    process.kill(first, 'SIGKILL');
    // no tsdocker command runs meanwhile: a monitor notices (it checks every 3 s) and starts it
    await until('a monitor restarted the DNS', () => {
      const pid = dnsdPid();
      return pid !== first && alive(pid);
    }, 15_000);
    await until('watched1 resolves', async () => (await sb.tsd(['exec', 'watcher', 'nslookup', 'watched1'])).code === 0, 5000);
    await ok(['rm', '-f', 'watched1', 'watcher']);
  });

  it('after kill -9, ps (or exec) brings it back and names resolve again', async () => {
    const first = await dnsNetwork('names', '10.92.0.0/24', ['named', 'asker']);
    process.kill(first, 'SIGKILL');
    await until('dnsd dead', () => !alive(first));
    expect((await sb.tsd(['ps'])).code).toBe(0);
    const second = dnsdPid();
    expect(second).not.toBe(first);
    expect(alive(second)).toBe(true);
    // within the daemon's bounded startup the name resolves again
    await until('named resolves', async () => (await sb.tsd(['exec', 'asker', 'nslookup', 'named'])).code === 0, 5000);

    process.kill(second, 'SIGKILL');
    await until('dnsd dead again', () => !alive(second));
    const q = await sb.tsd(['exec', 'asker', 'nslookup', 'named']);
    expect(q.code, q.stdout + q.stderr).toBe(0);

    const third = dnsdPid();
    process.kill(third, 'SIGKILL');
    await until('dnsd dead a third time', () => !alive(third));
    await ok(['network', 'reload']);
    const fourth = dnsdPid();
    expect(fourth).not.toBe(third);
    expect(alive(fourth)).toBe(true);
    await ok(['rm', '-f', 'named', 'asker']);
  });
});
