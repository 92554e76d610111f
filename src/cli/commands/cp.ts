/**
 * `tsdocker cp`: files between a container and the host, both ways, with docker cp's path
 * rules (cp-paths.ts) over the same archive operations the API serves (runtime/cp.ts).
 */
import type { Command } from 'commander';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { requireRoot } from './common.js';
import { TsdError } from '../../sys/errors.js';
import { placement, rebase, splitCpArg, splitPathDirEntry, type DestInfo } from '../cp-paths.js';

/** docker/cli's resolveLocalPath: absolute, keeping a trailing `/` or `/.`. */
function localPath(p: string): string {
  const abs = resolve(p);
  if (p.endsWith('/.') || p === '.') return abs === '/' ? '/.' : `${abs}/.`;
  if (p.endsWith('/') && abs !== '/') return `${abs}/`;
  return abs;
}

/** moby's CopyInfoDestinationPath on the host: follows a symlink at DEST; a missing DEST needs its parent. */
function hostDest(path: string): DestInfo {
  let p = path;
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (st?.isSymbolicLink()) {
    try {
      p = realpathSync(p);
    } catch {
      /* dangling: copied onto the link's own path */
    }
  }
  const fin = statSync(p, { throwIfNoEntry: false });
  if (!fin) {
    const parent = splitPathDirEntry(p)[0];
    if (!statSync(parent, { throwIfNoEntry: false })) {
      throw new TsdError('BAD_ARGS', `lstat ${parent}: no such file or directory`, { exitCode: 1, hint: 'create the destination directory first' });
    }
    return { path: p, exists: false, isDir: false };
  }
  return { path: p, exists: true, isDir: fin.isDirectory() };
}

async function fromContainer(container: string, src: string, dest: string, follow: boolean): Promise<void> {
  const { containerArchive, containerPathStat, unpackHost } = await import('../../runtime/cp.js');
  let srcPath = posix.join('/', src) + (src.endsWith('/.') ? '/.' : src.endsWith('/') && src !== '/' ? '/' : '');
  let rebaseName: string | undefined;
  const st = await containerPathStat(container, srcPath);
  if (src.endsWith('/') && !st.isDir) throw new TsdError('BAD_ARGS', 'not a directory', { exitCode: 1 });
  if (follow && st.linkTarget) {
    rebaseName = splitPathDirEntry(srcPath)[1];
    srcPath = st.linkTarget;
  }
  const isDir = follow ? (await containerPathStat(container, srcPath)).isDir || (!!rebaseName && st.isDir) : st.isDir && !st.linkTarget;
  const top = splitPathDirEntry(srcPath)[1];
  if (dest === '-') {
    const tar = await containerArchive(container, srcPath, top, false);
    for await (const chunk of tar) if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
    return;
  }
  const where = placement({ path: srcPath, isDir, rebaseName }, hostDest(localPath(dest)));
  const tar = await containerArchive(container, srcPath, top, false);
  await unpackHost(where.dir, tar, rebase(top, where.name));
}

async function toContainer(src: string, container: string, dest: string, follow: boolean, archive: boolean): Promise<void> {
  const { containerPathStat, extractToContainer, packHost } = await import('../../runtime/cp.js');
  let dstPath = posix.join('/', dest) + (dest.endsWith('/.') ? '/.' : dest.endsWith('/') && dest !== '/' ? '/' : '');
  let info: DestInfo = { path: dstPath, exists: false, isDir: false };
  const stat = await containerPathStat(container, dstPath).catch(() => undefined);
  let st = stat;
  if (st?.linkTarget) {
    dstPath = st.linkTarget;
    st = await containerPathStat(container, dstPath).catch(() => undefined);
    info = { path: dstPath, exists: false, isDir: false };
  }
  if (st) info = { path: info.path, exists: true, isDir: st.isDir };
  if (src === '-') {
    if (!info.isDir) {
      throw new TsdError('BAD_ARGS', `destination "${container}:${dest}" must be a directory`, { exitCode: 1 });
    }
    await extractToContainer(container, info.path, process.stdin as AsyncIterable<Buffer>, archive);
    return;
  }
  const local = localPath(src);
  let srcPath = local;
  let rebaseName: string | undefined;
  let lst = lstatSync(local, { throwIfNoEntry: false });
  if (!lst) throw new TsdError('BAD_ARGS', `lstat ${local.replace(/\/\.?$/, '')}: no such file or directory`, { exitCode: 1 });
  if (follow && lst.isSymbolicLink()) {
    rebaseName = splitPathDirEntry(local)[1];
    srcPath = realpathSync(local);
    lst = statSync(srcPath);
  }
  if (local.endsWith('/') && !lst.isDirectory()) throw new TsdError('BAD_ARGS', 'not a directory', { exitCode: 1 });
  const where = placement({ path: srcPath, isDir: lst.isDirectory(), rebaseName }, info);
  await extractToContainer(container, where.dir, packHost(srcPath, where.name, false), archive);
}

export function register(program: Command): void {
  program
    .command('cp')
    .description('Copy files/folders between a container and the local filesystem')
    .usage('[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       tsdocker cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH')
    .addHelpText('after', `
Use '-' as the source to read a tar archive from stdin and extract it to a directory
destination in a container; use '-' as the destination to stream a tar archive of a
container source to stdout. Container paths are relative to the container's /, resolved
inside its root (a symlink never leads out of it), its volumes and bind mounts included;
the container may be running or stopped. SRC/. copies a directory's contents; a DEST
that is a directory receives SRC inside it; a trailing / asserts DEST is a directory.`)
    .argument('<src>', 'CONTAINER:SRC_PATH, SRC_PATH or -')
    .argument('<dest>', 'DEST_PATH, - or CONTAINER:DEST_PATH')
    .option('-a, --archive', 'archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'always follow symbol link in SRC_PATH')
    .action(async (src: string, dest: string, o: { archive?: boolean; followLink?: boolean }) => {
      requireRoot();
      const s = splitCpArg(src);
      const d = splitCpArg(dest);
      if (s.container !== undefined && d.container !== undefined) {
        throw new TsdError('BAD_ARGS', 'copying between containers is not supported', { exitCode: 1 });
      }
      if (s.container === undefined && d.container === undefined) {
        throw new TsdError('BAD_ARGS', 'must specify at least one container source', { exitCode: 1, hint: 'name the container side as CONTAINER:PATH' });
      }
      if ((s.container !== undefined && !s.path) || (d.container !== undefined && !d.path)) {
        throw new TsdError('BAD_ARGS', 'filepath cannot be empty', { exitCode: 1 });
      }
      if (s.container !== undefined) await fromContainer(s.container, s.path, d.path, !!o.followLink);
      else await toContainer(s.path, d.container!, d.path, !!o.followLink, !!o.archive);
    });
}
