/**
 * withSharedLock (src/state/lock.ts): holders of a shared lock run together, an exclusive
 * holder of the same name waits for them all and they for it (creates hold the images lock
 * shared while their records appear; rmi, load and pull hold it exclusive).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootDir, setRoot } from '../../src/state/paths.js';
import { withLock, withSharedLock } from '../../src/state/lock.js';

let base: string;
let before: string;
beforeEach(() => {
  before = rootDir();
  base = mkdtempSync(join(tmpdir(), 'tsd-shlock-'));
  mkdirSync(join(base, 'locks'));
  setRoot(base);
});
afterEach(() => {
  setRoot(before);
  rmSync(base, { recursive: true, force: true });
});

/** A holder that stays in until its release is called; `entered` resolves once it is in. */
function holder(order: string[], tag: string, lock: typeof withLock): { entered: Promise<void>; done: Promise<unknown>; release: () => void } {
  let release = () => {};
  let enter = () => {};
  const held = new Promise<void>((r) => (release = r));
  const entered = new Promise<void>((r) => (enter = r));
  const done = lock('images', async () => {
    order.push(`${tag} in`);
    enter();
    await held;
    order.push(`${tag} out`);
  });
  return { entered, done, release: () => release() };
}

// the waits below only give a waiter the chance to get in wrongly; what must happen is awaited
describe('withSharedLock', () => {
  it('shared holders are in at once; an exclusive one waits for all of them', async () => {
    const order: string[] = [];
    const a = holder(order, 'a', withSharedLock);
    const b = holder(order, 'b', withSharedLock);
    await Promise.all([a.entered, b.entered]); // an exclusive lock would never let b in while a holds
    const x = holder(order, 'x', withLock);
    await sleep(60);
    a.release();
    await a.done;
    await sleep(60);
    expect(order).toEqual(['a in', 'b in', 'a out']);
    b.release();
    await x.entered;
    expect(order).toEqual(['a in', 'b in', 'a out', 'b out', 'x in']);
    x.release();
    await x.done;
  });

  it('a shared holder waits for an exclusive one', async () => {
    const order: string[] = [];
    const x = holder(order, 'x', withLock);
    await x.entered;
    const a = holder(order, 'a', withSharedLock);
    await sleep(60);
    expect(order).toEqual(['x in']);
    x.release();
    await a.entered;
    expect(order).toEqual(['x in', 'x out', 'a in']);
    a.release();
    await a.done;
  });
});
