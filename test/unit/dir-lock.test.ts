/**
 * withDirLock locks an object's directory itself (src/state/lock.ts). A lock file inside it
 * was re-created by whoever came to lock the object while its holder removed the directory:
 * that newcomer got a lock of its own at once, and the holder's last rmdir failed (ENOTEMPTY),
 * as `rm` racing a container's exit hook did about once in 100 runs.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDirLock } from '../../src/state/lock.js';

describe('withDirLock', () => {
  it('a waiter neither gets in nor leaves a file while the holder removes the directory; then it finds it gone', async () => {
    const base = mkdtempSync(join(tmpdir(), 'tsd-dirlock-'));
    const dir = join(base, 'obj');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), '{}');
    const order: string[] = [];
    try {
      let waiter: Promise<string | undefined> | undefined;
      await withDirLock(dir, 'obj', async () => {
        for (const f of readdirSync(dir)) unlinkSync(join(dir, f));
        // another process comes to lock the object now (here: another open of it)
        waiter = withDirLock(dir, 'obj', async () => {
          order.push('waiter ran');
          return existsSync(join(dir, 'config.json')) ? 'found' : 'gone';
        });
        await new Promise((r) => setTimeout(r, 50));
        order.push('holder removes');
        rmdirSync(dir); // ENOTEMPTY if the waiter had made a lock file in it
      });
      expect(await waiter).toBe('gone');
      expect(order[0]).toBe('holder removes');
      expect(existsSync(dir)).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('a directory that is already gone: undefined, nothing made', async () => {
    const base = mkdtempSync(join(tmpdir(), 'tsd-dirlock-'));
    try {
      expect(await withDirLock(join(base, 'none'), 'x', async () => 'ran')).toBe(undefined);
      expect(readdirSync(base)).toEqual([]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
