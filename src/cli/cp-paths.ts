/**
 * docker cp's path rules, as docker/cli and moby's archive package apply them on the client:
 * where an archive of SRC is extracted and what its top entry becomes, given what DEST is
 * (an existing directory: into it; an existing file: replace it; missing: become DEST), with
 * `SRC/.` meaning the directory's contents and a trailing `/` asserting a directory.
 */
import { posix } from 'node:path';
import { TsdError } from '../sys/errors.js';

/** moby's SplitPathDirEntry: `/a/b/.` is ("/a/b", "."), `/a/b/` is ("/a", "b"). */
export function splitPathDirEntry(path: string): [string, string] {
  let clean = posix.normalize(path);
  if (clean.length > 1) clean = clean.replace(/\/+$/, '');
  if (path === '.' || path.endsWith('/.')) clean = `${clean === '/' ? '' : clean}/.`;
  return [posix.dirname(clean), clean === '/' ? '/' : posix.basename(clean)];
}

export const assertsDirectory = (path: string): boolean => path.endsWith('/') || path.endsWith('/.') || path === '.';

export interface DestInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
}

export interface Placement {
  /** the directory the archive is extracted into */
  dir: string;
  /** the name the source's top entry gets there */
  name: string;
}

function err(msg: string): TsdError {
  return new TsdError('BAD_ARGS', msg, { exitCode: 1 });
}

/** moby's PrepareArchiveCopy, for a source whose base name is srcBase (or rebaseName). */
export function placement(src: { path: string; isDir: boolean; rebaseName?: string }, dst: DestInfo): Placement {
  const srcBase = src.rebaseName || splitPathDirEntry(src.path)[1];
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  if (dst.exists && dst.isDir) return { dir: dst.path, name: srcBase };
  if (dst.exists && src.isDir) throw err('cannot copy directory');
  if (dst.exists || src.isDir) return { dir: dstDir, name: dstBase };
  if (assertsDirectory(dst.path)) throw err('no such directory');
  return { dir: dstDir, name: dstBase };
}

/** The entry-name rewrite that turns top entry `from` into `to` (`.` is a directory's contents). */
export function rebase(from: string, to: string): (parts: string[]) => string[] | undefined {
  if (from === to) return (p) => p;
  if (from === '.') return (p) => (to === '.' ? p : [to, ...p]);
  return (p) => (p[0] === from ? (to === '.' ? p.slice(1) : [to, ...p.slice(1)]) : p);
}

/** docker/cli's splitCpArg: `CONTAINER:PATH`, or a local path (absolute, or starting with `.`). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const i = arg.indexOf(':');
  if (i < 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}
