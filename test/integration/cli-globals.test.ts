/**
 * The global knobs the README names: TSDOCKER_ROOT (and --root over it), --log-level and
 * --debug, TSDOCKER_TRACE. Each is seen from the outside, through the CLI, in a sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_TAR, CLI, createSandbox, run, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
let other: string;

beforeAll(async () => {
  sb = await createSandbox('tsd-glob');
  other = mkdtempSync(join(tmpdir(), 'tsd-glob-other-'));
  // the default root, hidden inside the sandbox's mount namespace: a command that ignored
  // TSDOCKER_ROOT writes into these tmpfs, never into the machine's real state
  for (const d of ['/var/lib/tsdocker', '/run/tsdocker']) await sb.sh(['mount', '-t', 'tmpfs', 'tsd-test-default', d]);
  expect((await sb.tsd(['load', '-i', BUSYBOX_TAR])).code).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  if (other) rmSync(other, { recursive: true, force: true });
});

/** tsdocker in the sandbox without --root: the environment decides */
const bare = (args: string[], env: NodeJS.ProcessEnv) =>
  run([...sb.enter, process.execPath, CLI, ...args], { env: { ...process.env, TSDOCKER_CGROUP_PARENT: `tsdocker-test-glob`, ...env } });

describe('global flags and environment', () => {
  it('TSDOCKER_ROOT moves all state; --root wins over it', async () => {
    const load = await bare(['load', '-i', BUSYBOX_TAR], { TSDOCKER_ROOT: other });
    expect(load.code, load.stderr).toBe(0);
    expect(readdirSync(join(other, 'images'))).toContain('repositories.json');
    const id = (await sb.tsd(['images', '-q'])).stdout;
    expect(id).toMatch(/^[0-9a-f]{12}\n$/);
    expect((await bare(['images', '-q'], { TSDOCKER_ROOT: sb.root })).stdout).toBe(id);
    expect((await bare(['images', '-q'], { TSDOCKER_ROOT: other })).stdout).toBe(id);
    expect((await bare(['rmi', 'busybox'], { TSDOCKER_ROOT: other })).code).toBe(0);
    expect((await bare(['images', '-q'], { TSDOCKER_ROOT: other })).stdout).toBe('');
    expect((await bare(['--root', sb.root, 'images', '-q'], { TSDOCKER_ROOT: other })).stdout).toBe(id);
    expect((await sb.sh(['ls', '-A', '/var/lib/tsdocker', '/run/tsdocker'])).stdout.split('\n').filter((l) => l && !l.endsWith(':'))).toEqual([]);
  });

  it('--log-level and --debug choose what goes to stderr; stdout stays the result', async () => {
    const args = ['run', '--rm', '--network', 'none', 'busybox', 'echo', 'out'];
    const quiet = await sb.tsd(args);
    expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, 'out\n', '']);
    // --log-level alone gives plain lines for a person; JSON with --log-format json or --debug
    const plain = await sb.tsd(['--log-level', 'debug', ...args]);
    expect(plain.stderr).toMatch(/^DEBUG: container started \(/m);
    for (const flags of [['--log-level', 'debug', '--log-format', 'json'], ['--debug'], ['-D']]) {
      const loud = await sb.tsd([...flags, ...args]);
      expect(loud.code, loud.stderr).toBe(0);
      expect(loud.stdout).toBe('out\n');
      const lines = loud.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; mod: string });
      expect(lines, flags.join(' ')).toContainEqual(expect.objectContaining({ level: 20, mod: 'runtime.start', msg: 'container started' }));
      expect(lines.every((l) => l.level >= 20)).toBe(true);
    }
    const info = await sb.tsd(['--log-level', 'info', ...args]);
    expect(info.stderr).not.toContain('container started');
    const bad = await sb.tsd(['--log-level', 'loud', 'images']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^tsdocker: option '--log-level <level>' argument 'loud' is invalid/);
  });

  it('TSDOCKER_TRACE=1 prints the timeline of a start on stderr; without it nothing', async () => {
    const args = ['run', '--rm', '--network', 'none', 'busybox', 'echo', 'out'];
    const plain = await sb.tsd(args);
    expect([plain.code, plain.stdout, plain.stderr]).toEqual([0, 'out\n', '']);
    const traced = await sb.tsd(args, { env: { ...process.env, TSDOCKER_TRACE: '1' } });
    expect(traced.code, traced.stderr).toBe(0);
    expect(traced.stdout).toBe('out\n');
    const lines = traced.stderr.trim().split('\n');
    expect(lines.every((l) => /^trace +\d+\.\d ms +\+ *\d+\.\d {2}\S/.test(l)), traced.stderr).toBe(true);
    const steps = lines.map((l) => l.replace(/^trace +\S+ ms +\+ *\S+ {2}/, ''));
    expect(steps[0]).toBe('cli loaded');
    expect(steps.at(-1)).toBe('done');
    expect(steps.length).toBeGreaterThan(4);
  });

  it('output into a pipe whose reader has gone (| head) ends quietly, no EPIPE trace', async () => {
    // `true` leaves before tsdocker (60 ms of Node start) writes a byte
    const cli = `"${process.execPath}" "${CLI}" --root "${sb.root}"`;
    const r = await sb.sh(['sh', '-c', `${cli} load --help | true; ${cli} images | true`]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/EPIPE|Error|internal/);
  });
});
