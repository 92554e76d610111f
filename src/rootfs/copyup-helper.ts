/**
 * Copy-up helper: run as `unshare --mount --propagation private -- node copyup-helper.js JSON`,
 * so the read-only overlay it mounts exists only in its own mount namespace and vanishes
 * with it (nothing can be left mounted on the host, even after a crash). It merges the
 * image layers, resolves the container path inside that root (symlinks are followed as
 * the container would, never out of the root), and copies the directory's content, with
 * owners, modes, times and special files, into the volume (`cp -a`).
 * Input: { layers: string[] (top first), path: string, dest: string, mnt: string }.
 * Output on stdout: `copied` or `nothing`.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Input {
  layers: string[];
  path: string;
  dest: string;
  mnt: string;
}

/** Resolve `path` inside `root` like a chroot would: `..` stops at the root, absolute links restart at it. */
export function resolveInRoot(root: string, path: string): string | undefined {
  const todo = path.split('/').filter(Boolean);
  const cur: string[] = [];
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      cur.pop();
      continue;
    }
    const full = join(root, ...cur, part);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const target = readlinkSync(full);
      if (target.startsWith('/')) cur.length = 0;
      todo.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    cur.push(part);
  }
  return join(root, ...cur);
}

function main(): void {
  const input = JSON.parse(process.argv[2] ?? '{}') as Input;
  let root = input.layers[0]!;
  if (input.layers.length > 1) {
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${input.layers.join(':')}`, input.mnt]);
    root = input.mnt;
  }
  const src = resolveInRoot(root, input.path);
  if (!src || !statSync(src, { throwIfNoEntry: false })?.isDirectory() || lstatSync(src).isSymbolicLink()) {
    process.stdout.write('nothing\n');
    return;
  }
  execFileSync('cp', ['-a', '--', `${src}/.`, input.dest]);
  process.stdout.write('copied\n');
}

if (process.argv[1]?.endsWith('copyup-helper.js')) main();
