import { describe, expect, it } from 'vitest';
import { bar, loadLayerProgress, makeProgress, REDRAW_MS } from '../../src/cli/progress.js';

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

describe('load progress', () => {
  it('on a terminal, draws Loading layer bars per layer, at most every REDRAW_MS, always the first and complete states', () => {
    const f = fake(true);
    let clock = 1000;
    const draw = loadLayerProgress(makeProgress(f.stream, false), () => clock);
    draw('aaaaaaaaaaaa', 0, 5_000_000);
    clock += 10;
    draw('aaaaaaaaaaaa', 1_000_000, 5_000_000); // too soon: not drawn
    draw('bbbbbbbbbbbb', 0, 2_000_000); // another layer has its own clock
    clock += REDRAW_MS;
    draw('aaaaaaaaaaaa', 2_000_000, 5_000_000);
    clock += 1;
    draw('aaaaaaaaaaaa', 5_000_000, 5_000_000); // complete: drawn even though soon
    draw('bbbbbbbbbbbb', 2_000_000, 2_000_000);
    expect(f.text()).toBe(
      `aaaaaaaaaaaa: Loading layer ${bar(0, 5_000_000)}\n` +
        `bbbbbbbbbbbb: Loading layer ${bar(0, 2_000_000)}\n` +
        `\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Loading layer ${bar(2_000_000, 5_000_000)}\x1b[2B\r` +
        `\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Loading layer ${bar(5_000_000, 5_000_000)}\x1b[2B\r` +
        `\x1b[1A\r\x1b[2Kbbbbbbbbbbbb: Loading layer ${bar(2_000_000, 2_000_000)}\x1b[1B\r`,
    );
    expect(bar(1_200_000, 5_000_000)).toBe(`[${'='.repeat(12)}>${' '.repeat(37)}]   1.2MB/5MB`);
  });
});
