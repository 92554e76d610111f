/**
 * removeTree (native/src/rmtree.c), which removes a container's directory after `run --rm`:
 * `rm -rf` that follows no symlink and never enters a filesystem mounted inside the tree.
 * Run in a private mount namespace (unshare -m), so the tmpfs it mounts never reaches the host.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../helpers/sandbox.js';

const native = resolve('dist/native/index.js');

/** A node script run as root in its own mount namespace; prints what it finds. */
const inMountNs = (script: string) =>
  run(['unshare', '-m', '--propagation', 'private', process.execPath, '--input-type=module', '-e', script]);

describe('removeTree', () => {
  it('removes a tree, a symlink in it but not what it points to, and leaves a filesystem mounted inside alone (EXDEV)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tsd-rmtree-'));
    try {
      const r = await inMountNs(`
        import { mkdirSync, writeFileSync, symlinkSync, existsSync, readFileSync } from 'node:fs';
        import { execFileSync } from 'node:child_process';
        const { removeTree } = await import(${JSON.stringify(native)});
        const w = ${JSON.stringify(work)};
        // a plain tree with a symlink out of it
        mkdirSync(w + '/outside'); writeFileSync(w + '/outside/keep', 'k');
        mkdirSync(w + '/t/a/b/c', { recursive: true }); writeFileSync(w + '/t/a/b/c/f', 'x'); writeFileSync(w + '/t/.hidden', 'h');
        symlinkSync(w + '/outside', w + '/t/a/link');
        removeTree(w + '/t');
        console.log('tree', existsSync(w + '/t'), 'outside', readFileSync(w + '/outside/keep', 'utf8'));
        removeTree(w + '/t'); // missing: fine
        // a filesystem mounted inside
        mkdirSync(w + '/m/sub/mnt', { recursive: true }); writeFileSync(w + '/m/file', 'y');
        execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', w + '/m/sub/mnt']);
        writeFileSync(w + '/m/sub/mnt/precious', 'p');
        try { removeTree(w + '/m'); console.log('removed'); } catch (e) { console.log('error', e.message); }
        console.log('precious', readFileSync(w + '/m/sub/mnt/precious', 'utf8'));
      `);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('tree false outside k');
      expect(r.stdout).toMatch(/error remove .*\/m: EXDEV/);
      expect(r.stdout).toContain('precious p');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
