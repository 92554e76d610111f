import { describe, expect, it } from 'vitest';
import { bar, makeProgress } from '../../src/cli/progress.js';

function fake(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const stream = { isTTY, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => out };
}

describe('pull progress', () => {
  it('draws Docker\'s bar with decimal sizes', () => {
    expect(bar(0, 2_000_000)).toBe(`[>${' '.repeat(49)}]      0B/2MB`);
    expect(bar(1_000_000, 2_000_000)).toBe(`[${'='.repeat(25)}>${' '.repeat(24)}]     1MB/2MB`);
    expect(bar(2_000_000, 2_000_000)).toBe(`[${'='.repeat(50)}]     2MB/2MB`);
  });

  it('on a terminal, redraws each layer\'s line in place', () => {
    const f = fake(true);
    const p = makeProgress(f.stream, false);
    p.layer('aaa', 'Pulling fs layer');
    p.layer('bbb', 'Pulling fs layer');
    p.layer('aaa', 'Downloading', 500, 1000);
    p.layer('bbb', 'Pull complete');
    expect(f.text()).toBe(
      'aaa: Pulling fs layer\nbbb: Pulling fs layer\n' +
        `\x1b[2A\r\x1b[2Kaaa: Downloading ${bar(500, 1000)}\x1b[2B\r` +
        '\x1b[1A\r\x1b[2Kbbb: Pull complete\x1b[1B\r',
    );
  });

  it('on a terminal, starts a new block of layer lines after a whole line', () => {
    const f = fake(true);
    const p = makeProgress(f.stream, false);
    p.layer('aaa', 'Pulling fs layer');
    p.line('v2: Pulling from app');
    p.layer('aaa', 'Already exists');
    p.layer('aaa', 'Pull complete');
    expect(f.text()).toBe('aaa: Pulling fs layer\nv2: Pulling from app\naaa: Already exists\n\x1b[1A\r\x1b[2Kaaa: Pull complete\x1b[1B\r');
  });

  it('elsewhere, prints a plain line per status change, without bars', () => {
    const f = fake(false);
    const p = makeProgress(f.stream, false);
    p.layer('aaa', 'Downloading', 1, 10);
    p.layer('aaa', 'Downloading', 5, 10);
    p.layer('aaa', 'Pull complete');
    p.line('Digest: sha256:x');
    expect(f.text()).toBe('aaa: Downloading\naaa: Pull complete\nDigest: sha256:x\n');
  });

  it('says nothing when quiet', () => {
    const f = fake(true);
    const p = makeProgress(f.stream, true);
    p.layer('aaa', 'Downloading', 1, 10);
    p.line('Status: x');
    expect(f.text()).toBe('');
  });
});
