import { describe, expect, it } from 'vitest';
import { parseLogLine } from '../../src/runtime/logs.js';
import { parseSignal } from '../../src/runtime/lifecycle.js';
import { binarySize, humanSize, table } from '../../src/cli/format.js';
import { humanDuration } from '../../src/query/human.js';

describe('CRI log lines', () => {
  it('parses full and partial records, keeping spaces in the content', () => {
    expect(parseLogLine('2026-01-01T00:00:00.000000001Z stdout F hello  world')).toEqual({
      time: '2026-01-01T00:00:00.000000001Z',
      stream: 'stdout',
      partial: false,
      content: 'hello  world',
    });
    expect(parseLogLine('2026-01-01T00:00:00Z stderr P ')).toMatchObject({ stream: 'stderr', partial: true, content: '' });
    expect(parseLogLine('garbage')).toBeUndefined();
  });
});

describe('signals', () => {
  it('accepts names with or without SIG, and numbers', () => {
    expect(parseSignal('TERM')).toBe(15);
    expect(parseSignal('sigkill')).toBe(9);
    expect(parseSignal('10')).toBe(10);
    expect(parseSignal(undefined)).toBe(9);
    expect(() => parseSignal('NOPE')).toThrow(/invalid signal/);
  });
});

describe('formatting', () => {
  it('durations read like Docker', () => {
    expect(humanDuration(3000)).toBe('3 seconds');
    expect(humanDuration(60_000)).toBe('About a minute');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
    // go-units HumanDuration: seconds and minutes are cut, not rounded; then days, weeks, months, years
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(59_900)).toBe('59 seconds');
    expect(humanDuration(119_000)).toBe('About a minute');
    expect(humanDuration(59 * 60_000 + 59_000)).toBe('59 minutes');
    expect(humanDuration(47 * 3600_000)).toBe('47 hours');
    expect(humanDuration(13 * 86400_000)).toBe('13 days');
    expect(humanDuration(20 * 86400_000)).toBe('2 weeks');
    expect(humanDuration(90 * 86400_000)).toBe('3 months');
    expect(humanDuration(800 * 86400_000)).toBe('2 years');
  });
  it('sizes use Docker\'s decimal units for images and binary units for stats', () => {
    expect(humanSize(1982531)).toBe('1.98MB');
    expect(humanSize(999)).toBe('999B');
    expect(humanSize(1_990_000)).toBe('1.99MB');
    expect(humanSize(2_000_000)).toBe('2MB'); // %.3g: no trailing zeros
    expect(humanSize(1_234_567, 4)).toBe('1.235MB');
    expect(binarySize(100 * 1024 * 1024)).toBe('100MiB');
    expect(binarySize(1.944 * 1024 ** 3)).toBe('1.944GiB');
    expect(binarySize(1536 * 1024)).toBe('1.5MiB');
    expect(binarySize(512)).toBe('512B');
  });
  it('tables pad columns', () => {
    expect(table(['A', 'B'], [['xx', 'y']])).toBe('A    B\nxx   y');
  });
});

describe('logs --tail, --since, --until', async () => {
  const { tailRecords, parseLogTime } = await import('../../src/runtime/logs.js');
  const rec = (content: string, partial = false) => ({ time: '2026-01-01T00:00:00Z', stream: 'stdout' as const, partial, content });
  it('tail counts whole lines, partial pieces with their line; 0 is nothing', () => {
    const rs = [rec('a'), rec('b1', true), rec('b2'), rec('c')];
    expect(tailRecords(rs, 0)).toEqual([]);
    expect(tailRecords(rs, 1).map((r) => r.content)).toEqual(['c']);
    expect(tailRecords(rs, 2).map((r) => r.content)).toEqual(['b1', 'b2', 'c']);
    expect(tailRecords(rs, 9)).toEqual(rs);
    expect(tailRecords([], 3)).toEqual([]);
  });
  it('times: Go durations before now, Unix times, RFC 3339 with nanoseconds', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(parseLogTime('since', '1h30m', now)).toBe(BigInt(Date.parse('2026-01-01T10:30:00Z')) * 1_000_000n);
    expect(parseLogTime('since', '1700000000.5')).toBe(1_700_000_000_500_000_000n);
    expect(parseLogTime('since', '2026-01-01T00:00:00.000000001Z')).toBe(BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n + 1n);
    expect(parseLogTime('until', '2026-01-01')).toBe(BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n);
    expect(() => parseLogTime('since', 'yesterday')).toThrow('invalid value for "since": failed to parse value as time or duration: "yesterday"');
  });
});
