import { describe, expect, it } from 'vitest';
import { parseLogLine } from '../../src/runtime/logs.js';
import { parseSignal } from '../../src/runtime/lifecycle.js';
import { binarySize, humanDuration, humanSize, table } from '../../src/cli/format.js';

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
  });
  it('sizes use Docker\'s decimal units for images and binary units for stats', () => {
    expect(humanSize(1982531)).toBe('1.98MB');
    expect(humanSize(999)).toBe('999B');
    expect(binarySize(1536 * 1024)).toBe('1.5MiB');
    expect(binarySize(512)).toBe('512B');
  });
  it('tables pad columns', () => {
    expect(table(['A', 'B'], [['xx', 'y']])).toBe('A    B\nxx   y');
  });
});
