/**
 * The start path pays only for what it uses, counted (never timed): which Node modules a
 * `run` loads, which processes it execs, whether Node reads the CA bundle, and that what
 * `run --rm` owned is gone when it returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUSYBOX_TAR, CLI, PROJECT, createSandbox, hostSnapshot, run, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
let tmp: string;
const before = hostSnapshot();
const PRELOAD = resolve(PROJECT, 'test', 'fixtures', 'modules-at-exit.cjs');

beforeAll(async () => {
  sb = await createSandbox('tsd-start');
  tmp = mkdtempSync(join(tmpdir(), 'tsd-start-'));
  const r = await sb.tsd(['load', '-i', BUSYBOX_TAR]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await sb?.close();
  rmSync(tmp, { recursive: true, force: true });
  expect(hostSnapshot()).toEqual(before);
});

/** bin/tsdocker exec'd as a user runs it (its #! line included), inside the sandbox */
function tsdExec(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []) {
  const cg = { TSDOCKER_CGROUP_PARENT: `tsdocker-test-${sb.root.split('/').pop()}` };
  return run([...sb.enter, ...wrap, CLI, '--root', sb.root, ...args], { env: { ...process.env, ...cg, ...env } });
}

function modulesOf(stderr: string): string[] {
  const line = stderr.split('\n').find((l) => l.startsWith('TSD-MODULES '));
  expect(line, stderr).toBeDefined();
  return line!.slice('TSD-MODULES '.length).split(' ');
}

describe('pay only for what a command uses', () => {
  it('run --network none loads none of tar, zlib, http(s), tls, child_process, dgram', async () => {
    const r = await tsdExec(['run', '--rm', '--network', 'none', 'busybox', 'true'], { NODE_OPTIONS: `--require ${PRELOAD}` });
    expect(r.code, r.stderr).toBe(0);
    const mods = modulesOf(r.stderr);
    expect(mods).toContain('fs'); // the list is real
    for (const m of ['zlib', 'http', 'https', 'tls', '_tls_wrap', 'child_process', 'dgram']) expect(mods).not.toContain(m);
  });

  it('Node does not read the NODE_EXTRA_CA_CERTS file for a command that makes no TLS connection', async () => {
    const ca = join(tmp, 'extra-ca.pem');
    writeFileSync(ca, '');
    const trace = join(tmp, 'open.trace');
    const r = await tsdExec(['run', '--rm', '--network', 'none', 'busybox', 'true'], { NODE_EXTRA_CA_CERTS: ca }, [
      'strace', '-f', '-qq', '-e', 'trace=open,openat', '-o', trace,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const opens = readFileSync(trace, 'utf8');
    expect(opens).toMatch(/tsdocker\.cjs/); // the trace saw the start
    expect(opens).not.toContain(ca);
  });

  it('the extra CA path reaches tsdocker, and --env-file still reaches the command', async () => {
    const envFile = join(tmp, 'env');
    writeFileSync(envFile, 'FOO=from-file\n');
    const r = await tsdExec(['run', '--rm', '--network', 'none', '--env-file', envFile, 'busybox', 'sh', '-c', 'echo $FOO'], {
      NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem',
      NODE_OPTIONS: `--require ${PRELOAD}`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('from-file');
    expect(r.stderr).toContain('TSD-CAFILE /nonexistent/ca.pem\n');
  });
});
