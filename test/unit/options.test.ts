import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeEnv, parseEnvArg, readEnvFile, resolveProcess, resolveUser, DEFAULT_PATH } from '../../src/runtime/options.js';
import { TsdError } from '../../src/sys/errors.js';

const base = { command: [], env: [], envFiles: [] };

describe('resolveProcess (Docker rules for Entrypoint and Cmd)', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/bin', 'A=1'], WorkingDir: '/app' };

  it('uses the image entrypoint and cmd by default', () => {
    expect(resolveProcess(image, base).argv).toEqual(['/entry', 'default']);
  });
  it('a command replaces Cmd but keeps Entrypoint', () => {
    expect(resolveProcess(image, { ...base, command: ['x', 'y'] }).argv).toEqual(['/entry', 'x', 'y']);
  });
  it('--entrypoint replaces Entrypoint and drops the image Cmd', () => {
    expect(resolveProcess(image, { ...base, entrypoint: 'sh' }).argv).toEqual(['sh']);
    expect(resolveProcess(image, { ...base, entrypoint: 'sh', command: ['-c', 'true'] }).argv).toEqual(['sh', '-c', 'true']);
  });
  it('refuses an empty command with a clear error', () => {
    expect(() => resolveProcess({}, base)).toThrow(/no command specified/);
  });
  it('-e overrides image Env and PATH gets a default', () => {
    const p = resolveProcess({ Cmd: ['sh'], Env: ['A=1'] }, { ...base, env: ['A=2', 'B=3'] });
    expect(p.env).toEqual([`PATH=${DEFAULT_PATH}`, 'A=2', 'B=3']);
  });
  it('working dir: -w, image WorkingDir, then /; relative is refused', () => {
    expect(resolveProcess(image, base).workingDir).toBe('/app');
    expect(resolveProcess(image, { ...base, workdir: '/x/../y' }).workingDir).toBe('/y');
    expect(resolveProcess({ Cmd: ['sh'] }, base).workingDir).toBe('/');
    expect(() => resolveProcess(image, { ...base, workdir: 'rel' })).toThrow(TsdError);
  });
});

describe('environment', () => {
  it('-e NAME copies from our environment, or is dropped', () => {
    expect(parseEnvArg('HOME', { HOME: '/root' })).toBe('HOME=/root');
    expect(parseEnvArg('NOPE', {})).toBeUndefined();
    expect(() => parseEnvArg('=x')).toThrow(TsdError);
  });
  it('mergeEnv keeps the last value of each name', () => {
    expect(mergeEnv(['A=1', 'B=1'], ['A=2'])).toEqual(['B=1', 'A=2']);
  });
  it('reads env files with comments and blank lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'envf-'));
    try {
      writeFileSync(join(dir, 'e'), '# comment\nA=1\n\n  B=two words\nC\n');
      expect(readEnvFile(join(dir, 'e'), { C: 'c' })).toEqual(['A=1', 'B=two words', 'C=c']);
      expect(() => readEnvFile(join(dir, 'missing'))).toThrow(/--env-file|open/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('resolveUser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'user-'));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nwww:x:33:\nstaff:x:50:www\n');

  it('numbers are taken as they are', () => {
    expect(resolveUser('1000:1001', [dir])).toMatchObject({ uid: 1000, gid: 1001 });
  });
  it('names come from the image passwd and group, with supplementary groups', () => {
    expect(resolveUser('www', [dir])).toEqual({ uid: 33, gid: 33, groups: [33, 50], home: '/var/www' });
    expect(resolveUser('33:staff', [dir])).toMatchObject({ uid: 33, gid: 50, groups: [50] });
  });
  it('a uid without a passwd entry gets gid 0 and groups [0], as Docker (runc)', () => {
    expect(resolveUser('1234', [dir])).toEqual({ uid: 1234, gid: 0, groups: [0], home: '/' });
    expect(resolveUser('1234:7', [dir])).toMatchObject({ uid: 1234, gid: 7, groups: [7] });
  });
  it('an unknown name is refused', () => {
    expect(() => resolveUser('nobody', [dir])).toThrow(/unable to find user nobody/);
    expect(() => resolveUser('0:nogroup', [dir])).toThrow(/unable to find group/);
  });
});

describe('exit records belong to the run that wrote them', () => {
  it('compares times with different fraction lengths exactly', async () => {
    const { timeNs, deriveStatus } = await import('../../src/state/containers.js');
    expect(timeNs('2026-11-22T07:27:45.362500000Z') > timeNs('2026-11-22T07:27:45.362Z')).toBe(true);
    expect(timeNs('2026-11-22T07:27:45.3619Z') < timeNs('2026-11-22T07:27:45.362Z')).toBe(true);
    expect(timeNs('2026-11-22T07:27:45Z')).toBe(BigInt(Date.parse('2026-11-22T07:27:45Z')) * 1_000_000n);
    expect(deriveStatus(undefined, undefined)).toBe('created');
  });
  it('a live process with a record of this run is exited; one of an earlier run is still running', async () => {
    const { deriveStatus } = await import('../../src/state/containers.js');
    const { processStartTime } = await import('../../src/sys/proc.js');
    // this test's own process plays the container and its monitor: alive, so only the record decides
    const me = { pid: process.pid, pidStartTime: processStartTime(process.pid)!, monitorPid: process.pid, monitorStartTime: processStartTime(process.pid)! };
    const state = { ...me, startedAt: '2026-11-22T07:27:45.362Z' };
    expect(deriveStatus(state, undefined)).toBe('running');
    expect(deriveStatus(state, { exitCode: 0, finishedAt: '2026-11-22T07:27:45.362400000Z' })).toBe('exited');
    expect(deriveStatus(state, { exitCode: 0, finishedAt: '2026-11-22T07:27:45.3619Z' })).toBe('running');
    // a dead process is exited with or without a record
    const dead = { ...state, pid: 999999999, monitorPid: 999999999 };
    expect(deriveStatus(dead, undefined)).toBe('exited');
    // a live monitor whose container is gone; a live container whose monitor pid was reused
    expect(deriveStatus({ ...state, pid: 999999999 }, undefined)).toBe('exited');
    expect(deriveStatus({ ...state, monitorStartTime: state.monitorStartTime - 1 }, undefined)).toBe('exited');
  });
});

describe("Docker's exit codes by command", async () => {
  const { exitCodeFor } = await import('../../src/cli/exit-codes.js');
  it('125 stays for run/create and bad flags; other commands say 1; 126/127 are kept', () => {
    const e = (msg: string, exitCode?: number) => new TsdError('BAD_ARGS', msg, exitCode === undefined ? {} : { exitCode });
    expect(exitCodeFor(e('No such container: x'), 'run')).toBe(125);
    expect(exitCodeFor(e('No such container: x'), 'create')).toBe(125);
    expect(exitCodeFor(e('No such container: x'), 'logs')).toBe(1);
    expect(exitCodeFor(e('network x not found'), 'network')).toBe(1);
    expect(exitCodeFor(e('invalid argument "x" for "--time" flag'), 'stop')).toBe(125);
    expect(exitCodeFor(e('exec failed', 126), 'exec')).toBe(126);
  });
});
