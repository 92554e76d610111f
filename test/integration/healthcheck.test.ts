/**
 * Healthchecks, run by the container's native monitor on its own timer inside the
 * container's namespaces, compared with Docker 20.10: docker/cli's and moby's refusals,
 * the image's HEALTHCHECK merged under the flags, moby's health rules (retries, start
 * period, timeout, last 5 results, output cut at 4096 bytes), and what ps and inspect show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, createSandbox, hostSnapshot, type Sandbox } from '../helpers/sandbox.js';
import { inspectIn, sandboxProcesses as watchProcesses, until } from '../helpers/watch.js';
import { dockerSaveClassic } from '../helpers/archives.js';

let sb: Sandbox;
const before = hostSnapshot();
const MS = 1_000_000; // ns

beforeAll(async () => {
  sb = await createSandbox('tsd-health');
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
  // images with a HEALTHCHECK, as `docker save` writes them (durations in ns)
  const dir = mkdtempSync(join(tmpdir(), 'tsd-health-img-'));
  try {
    const bb = readFileSync('/bin/busybox');
    const layer = [
      { name: 'bin/', type: 'dir' as const },
      { name: 'bin/busybox', data: bb, mode: 0o755 },
      ...['sh', 'sleep', 'cat', 'test'].map((n) => ({ name: `bin/${n}`, type: 'symlink' as const, linkname: 'busybox' })),
    ];
    writeFileSync(join(dir, 'img.tar'), dockerSaveClassic([
      { tags: ['checked:1'], layers: [layer], config: { Env: ['PATH=/bin'], Cmd: ['sleep', '1000'], Healthcheck: { Test: ['CMD', '/bin/sh', '-c', 'echo image probe'], Interval: 100 * MS, Retries: 2 } } },
      { tags: ['unchecked:1'], layers: [layer], config: { Env: ['PATH=/bin'], Cmd: ['sleep', '1000'], Healthcheck: { Test: ['NONE'] } } },
    ]));
    expect((await sb.tsd(['load', '-i', join(dir, 'img.tar')])).code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

afterAll(async () => {
  await sb?.close();
  expect(hostSnapshot()).toEqual(before);
});

const inspect = (ref: string) => inspectIn(sb, ref);
const sandboxProcesses = () => watchProcesses(sb);

const health = async (ref: string) => (await inspect(ref)).State.Health;
const status = async (ref: string) => (await sb.tsd(['ps', '-a', '--filter', `name=^${ref}$`, '--format', '{{.Status}}'])).stdout.trim();
const names = async (filter: string) => (await sb.tsd(['ps', '--filter', filter, '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort();
const runD = async (name: string, args: string[]) => {
  const r = await sb.tsd(['run', '-d', '--name', name, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
};

describe('health flags: refused as Docker refuses them', () => {
  it.each([
    [['--no-healthcheck', '--health-cmd', 'true'], '--no-healthcheck conflicts with --health-* options'],
    [['--no-healthcheck', '--health-retries', '2'], '--no-healthcheck conflicts with --health-* options'],
    [['--health-interval', '-1s'], '--health-interval cannot be negative'],
    [['--health-timeout', '-1s'], '--health-timeout cannot be negative'],
    [['--health-retries', '-1'], '--health-retries cannot be negative'],
    [['--health-start-period', '-1m'], '--health-start-period cannot be negative'],
    [['--health-interval', '10us'], 'Interval in Healthcheck cannot be less than 1ms'],
    [['--health-timeout', '999us'], 'Timeout in Healthcheck cannot be less than 1ms'],
    [['--health-interval', '5'], 'invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"'],
    [['--health-timeout', 'soon'], 'invalid argument "soon" for "--health-timeout" flag: time: invalid duration "soon"'],
    [['--health-retries', 'x'], 'invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": invalid syntax'],
  ])('run %j: exit 125, nothing created', async (flags, message) => {
    const r = await sb.tsd(['run', '-d', ...flags, 'busybox', 'true']);
    expect(r.stderr.split('\n')[0]).toBe(`tsdocker: ${message}`);
    expect(r.code).toBe(125);
    expect((await sb.tsd(['ps', '-aq'])).stdout).toBe('');
  });

  it('ps --filter health= takes starting, healthy, unhealthy, none', async () => {
    const r = await sb.tsd(['ps', '--filter', 'health=fine']);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([1, 'tsdocker: Unrecognised filter value for health: fine']);
  });
});

describe('the monitor probes the container', () => {
  it('starting, then healthy: the probe runs in the container (its files, its hostname); inspect and ps as Docker', async () => {
    const id = await runD('fine', [
      '--health-cmd', 'test -f /tmp/ready && echo "ok from $(hostname)"', '--health-interval', '100ms',
      'busybox', 'sh', '-c', 'touch /tmp/ready; exec sleep 1000',
    ]);
    await until('healthy', async () => (await health('fine'))?.Status === 'healthy');
    const i = await inspect('fine');
    expect(i.Config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'test -f /tmp/ready && echo "ok from $(hostname)"'], Interval: 100 * MS });
    expect(i.State.Health.FailingStreak).toBe(0);
    const last = i.State.Health.Log.at(-1);
    expect(last).toEqual({ Start: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/), End: expect.stringMatching(/Z$/), ExitCode: 0, Output: `ok from ${id.slice(0, 12)}\n` });
    expect(Date.parse(last.End)).toBeGreaterThanOrEqual(Date.parse(last.Start));
    expect(await status('fine')).toMatch(/^Up .* \(healthy\)$/);
    expect(await names('health=healthy')).toEqual(['fine']);
    expect(await names('health=none')).toEqual([]);
    // the last five results only, the oldest going first
    await until('five results', async () => (await health('fine')).Log.length === 5);
    const first = (await health('fine')).Log[0].Start;
    await until('the oldest dropped', async () => (await health('fine')).Log[0].Start !== first);
    expect((await health('fine')).Log).toHaveLength(5);
    // stop: the probes end with the container (the monitor's exit hook may still be finishing)
    expect((await sb.tsd(['stop', '-t', '1', 'fine'])).code).toBe(0);
    await until('nothing left', async () => sandboxProcesses().length === 0);
    expect(await status('fine')).toMatch(/^Exited \(137\) /);
  });

  it('health: starting until the first probe; unhealthy after `retries` failures in a row', async () => {
    await runD('later', ['--health-cmd', 'true', '--health-interval', '1h', 'busybox', 'sleep', '1000']);
    expect(await health('later')).toEqual({ Status: 'starting', FailingStreak: 0, Log: [] });
    expect(await status('later')).toMatch(/^Up .* \(health: starting\)$/);
    expect(await names('health=starting')).toEqual(['later']);
    await runD('sick', ['--health-cmd', 'echo bad >&2; exit 1', '--health-interval', '100ms', '--health-retries', '2', 'busybox', 'sleep', '1000']);
    await until('unhealthy', async () => (await health('sick'))?.Status === 'unhealthy');
    const h = await health('sick');
    expect(h.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(h.Log[0]).toMatchObject({ ExitCode: 1, Output: 'bad\n' });
    // two failures, then a probe that hangs (so the state stays put): unhealthy with
    // --health-retries 2, still starting with 3
    const twice = 'echo x >> /tmp/f; [ $(wc -l < /tmp/f) -le 2 ] && exit 1; sleep 1000';
    for (const [n, retries] of [['two', '2'], ['three', '3']] as const) {
      await runD(n, ['--health-cmd', twice, '--health-interval', '100ms', '--health-timeout', '1h', '--health-retries', retries, 'busybox', 'sleep', '1000']);
    }
    for (const n of ['two', 'three']) await until(`${n}: two results`, async () => (await health(n)).Log.length === 2);
    expect([(await health('two')).Status, (await health('two')).FailingStreak]).toEqual(['unhealthy', 2]);
    expect([(await health('three')).Status, (await health('three')).FailingStreak]).toEqual(['starting', 2]);
    await sb.tsd(['rm', '-f', 'two', 'three']);
    expect(await status('sick')).toMatch(/^Up .* \(unhealthy\)$/);
    expect(await names('health=unhealthy')).toEqual(['sick']);
    await sb.tsd(['rm', '-f', 'later', 'sick']);
  });

  it('the probe runs in the container\'s cgroups, as exec does', async () => {
    await runD('grouped', ['--health-cmd', 'cat /proc/self/cgroup > /tmp/probe; cat /proc/1/cgroup > /tmp/init; cmp /tmp/probe /tmp/init', '--health-interval', '100ms', 'busybox', 'sleep', '1000']);
    await until('a result', async () => (await health('grouped')).Log.length > 0);
    expect((await health('grouped')).Log[0]).toMatchObject({ ExitCode: 0, Output: '' });
    await sb.tsd(['rm', '-f', 'grouped']);
  });

  it('a probe past its timeout is killed and fails; output is cut at 4096 bytes', async () => {
    await runD('slow', ['--health-cmd', 'sleep 100; exit 0', '--health-timeout', '200ms', '--health-interval', '100ms', '--health-retries', '1', 'busybox', 'sleep', '1000']);
    await until('unhealthy', async () => (await health('slow'))?.Status === 'unhealthy');
    expect((await health('slow')).Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (200ms)' });
    await runD('chatty', ['--health-cmd', 'yes | head -c 5000', '--health-interval', '100ms', 'busybox', 'sleep', '1000']);
    await until('healthy', async () => (await health('chatty'))?.Status === 'healthy');
    expect((await health('chatty')).Log[0].Output).toBe('y\n'.repeat(2048));
    // a killed probe leaves nothing in the container: only the probe in flight, if any, runs
    await until('three timeouts', async () => (await health('slow')).Log.length >= 3);
    const top = await sb.tsd(['exec', 'slow', 'ps', '-o', 'args']);
    expect(top.stdout.split('\n').filter((l) => l === 'sleep 100').length).toBeLessThanOrEqual(1);
    await sb.tsd(['rm', '-f', 'slow', 'chatty']);
  });

  it('within the start period failures do not count (still starting)', async () => {
    await runD('warming', ['--health-cmd', 'exit 1', '--health-interval', '100ms', '--health-retries', '1', '--health-start-period', '1h', 'busybox', 'sleep', '1000']);
    await until('three probes', async () => (await health('warming')).Log.length >= 3);
    const h = await health('warming');
    expect([h.Status, h.FailingStreak]).toEqual(['starting', 0]);
    await sb.tsd(['rm', '-f', 'warming']);
  });

  it("the image's HEALTHCHECK, the flags over it, --no-healthcheck and NONE", async () => {
    await runD('img', ['checked:1']);
    expect((await inspect('img')).Config.Healthcheck).toEqual({ Test: ['CMD', '/bin/sh', '-c', 'echo image probe'], Interval: 100 * MS, Retries: 2 });
    await until('healthy', async () => (await health('img'))?.Status === 'healthy');
    expect((await health('img')).Log[0].Output).toBe('image probe\n');
    // a flag replaces only its own field (moby's merge)
    await runD('override', ['--health-cmd', 'exit 1', 'checked:1']);
    expect((await inspect('override')).Config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'exit 1'], Interval: 100 * MS, Retries: 2 });
    await until('unhealthy', async () => (await health('override'))?.Status === 'unhealthy');
    expect((await health('override')).FailingStreak).toBeGreaterThanOrEqual(2);
    await runD('off', ['--no-healthcheck', 'checked:1']);
    await runD('none', ['unchecked:1']);
    // moby merges even over NONE: the image's other fields stay
    expect((await inspect('off')).Config.Healthcheck).toEqual({ Test: ['NONE'], Interval: 100 * MS, Retries: 2 });
    expect((await inspect('none')).Config.Healthcheck).toEqual({ Test: ['NONE'] });
    for (const n of ['off', 'none']) {
      const i = await inspect(n);
      expect(i.State.Health).toBeUndefined();
      expect(await status(n)).toMatch(/^Up (Less than a second|\d+ seconds?)$/);
    }
    expect(await names('health=none')).toEqual(['none', 'off']);
    const plain = await runD('plain', ['busybox', 'sleep', '1000']);
    expect((await inspect(plain)).Config.Healthcheck).toBeUndefined();
    await sb.tsd(['rm', '-f', 'img', 'override', 'off', 'none', 'plain']);
  });
});
