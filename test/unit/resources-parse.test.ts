import { describe, expect, it } from 'vitest';
import {
  parseBytes, parseCpus, parseCpuset, parseCpuShares, parsePidsLimit, parseProcLimits, parseSwap, parseUlimit,
} from '../../src/runtime/resource-parse.js';
import { TsdError } from '../../src/sys/errors.js';

function err(fn: () => unknown): TsdError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TsdError);
    return e as TsdError;
  }
  throw new Error('did not throw');
}

describe('resource flag parsing', () => {
  it('sizes use binary units as Docker does', () => {
    expect(parseBytes('1024', '-m')).toBe(1024);
    expect(parseBytes('64k', '-m')).toBe(65536);
    expect(parseBytes('512m', '-m')).toBe(512 << 20);
    expect(parseBytes('1.5g', '-m')).toBe(1.5 * 2 ** 30);
    expect(parseBytes('2GiB', '-m')).toBe(2 * 2 ** 30);
    expect(parseBytes('10MB', '-m')).toBe(10 << 20);
    const e = err(() => parseBytes('12x', '--memory'));
    expect(e.exitCode).toBe(125);
    expect(e.message).toContain('"12x"');
    expect(e.message).toContain('--memory');
    expect(() => parseBytes('-5m', '-m')).toThrow(TsdError);
    expect(parseSwap('-1', '--memory-swap')).toBe(-1);
  });
  it('cpus become a quota per 100ms, bounded by the host', () => {
    expect(parseCpus('0.5', 2)).toEqual({ quota: 50_000, period: 100_000 });
    expect(parseCpus('2', 2)).toEqual({ quota: 200_000, period: 100_000 });
    expect(err(() => parseCpus('3', 2)).message).toContain('only 2 CPUs available');
    expect(() => parseCpus('0.001', 2)).toThrow(TsdError);
    expect(() => parseCpus('abc', 2)).toThrow(TsdError);
    expect(() => parseCpus('-1', 2)).toThrow(TsdError);
  });
  it('cpu shares and cpusets', () => {
    expect(parseCpuShares('512')).toBe(512);
    expect(parseCpuShares('0')).toBeUndefined();
    expect(() => parseCpuShares('1')).toThrow(TsdError);
    expect(parseCpuset('0-1', '0-1')).toBe('0,1');
    expect(parseCpuset('1', '0-3')).toBe('1');
    expect(err(() => parseCpuset('0-3', '0-1')).message).toContain('not available');
    expect(() => parseCpuset('a', '0-1')).toThrow(TsdError);
  });
  it('pids limits: positive, 0 and -1 unlimited, other negatives refused', () => {
    expect(parsePidsLimit('10')).toBe(10);
    expect(parsePidsLimit('-1')).toBe(0);
    expect(parsePidsLimit(0)).toBe(0);
    expect(err(() => parsePidsLimit('-5')).message).toContain('negative');
    expect(() => parsePidsLimit('ten')).toThrow(TsdError);
  });
  it('ulimits', () => {
    expect(parseUlimit('nofile=1024:2048')).toEqual({ name: 'nofile', resource: 7, soft: 1024, hard: 2048 });
    expect(parseUlimit('nproc=50')).toEqual({ name: 'nproc', resource: 6, soft: 50, hard: 50 });
    expect(parseUlimit('core=-1')).toMatchObject({ resource: 4, soft: -1, hard: -1 });
    expect(parseUlimit('memlock=1:-1')).toMatchObject({ soft: 1, hard: -1 });
    expect(err(() => parseUlimit('bogus=1')).message).toContain('unknown ulimit');
    expect(err(() => parseUlimit('nofile=10:5')).message).toContain('greater than hard');
    expect(() => parseUlimit('nofile')).toThrow(TsdError);
    expect(() => parseUlimit('nofile=x')).toThrow(TsdError);
  });
  it('reads /proc/self/limits', () => {
    const text = `Limit                     Soft Limit           Hard Limit           Units
Max stack size            8388608              unlimited            bytes
Max open files            20000                20000                files
`;
    const m = parseProcLimits(text);
    expect(m.get(3)).toEqual({ soft: 8388608, hard: -1 });
    expect(m.get(7)).toEqual({ soft: 20000, hard: 20000 });
  });
});
