/**
 * Files in and out of a container root as tar streams (`cp`, the API's archive endpoints).
 * The root is hostile: a container path is resolved inside it by openat2 RESOLVE_IN_ROOT
 * (native `openAcross`: a symlink, absolute or `..`, stays in the root); below that, every
 * component is opened one at a time relative to an fd already held, with O_NOFOLLOW, so a
 * symlink swapped in mid-copy is never followed to the host (CVE-2018-15664). Modes, owners
 * and times are set through the fds opened, never by path. The host side uses the same
 * code with root "/".
 */
import {
  closeSync, constants as C, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readSync, readdirSync, readlinkSync, symlinkSync, unlinkSync, writeSync, type Stats,
} from 'node:fs';
import { posix } from 'node:path';
import { TsdError } from '../sys/errors.js';
import { closeFd, lgetxattr, mknod, O_PATH, openAcross } from '../native/index.js';
import { TAR_END, tarHeader, tarPadding, type TarEntry as OutEntry } from '../image/tar-write.js';
import type { TarEntry } from '../image/tar-read.js';
import { entryComponents } from '../image/tar-rules.js';
import { splitDev } from '../rootfs/host-devices.js';

const fdPath = (fd: number, name?: string): string => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits, as Docker's X-Docker-Container-Path-Stat carries them */
  mode: number;
  mtime: string;
  linkTarget: string;
  isDir: boolean;
}

/** A file to archive: a path whose last component is never followed (or an fd's own path, with its stat). */
interface Node {
  path: string;
  st: Stats;
  viaFd: boolean;
  close(): void;
}

export function notFound(path: string): TsdError {
  return new TsdError('BAD_ARGS', `Could not find the file ${path} in container`, { exitCode: 1, hint: 'check the path (tsdocker exec C ls DIR)' });
}

/** Open `path` in `root`: its last component as it is (a symlink stays one) unless `follow`. */
function openNode(root: string, path: string, follow: boolean): Node | undefined {
  const clean = posix.normalize(`/${path}`);
  const base = posix.basename(clean);
  if (follow || clean === '/') {
    const fd = openAcross(root, clean, O_PATH);
    if (fd === undefined) return undefined;
    return { path: fdPath(fd), st: fstatSync(fd), viaFd: true, close: () => closeFd(fd) };
  }
  const dir = openAcross(root, posix.dirname(clean), O_PATH | C.O_DIRECTORY);
  if (dir === undefined) return undefined;
  const st = lstatSync(fdPath(dir, base), { throwIfNoEntry: false });
  if (!st) {
    closeFd(dir);
    return undefined;
  }
  return { path: fdPath(dir, base), st, viaFd: false, close: () => closeFd(dir) };
}

/** Go's os.FileMode of a stat (the type bits Docker's path stat header carries). */
function goMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m |= 2 ** 31;
  else if (st.isSymbolicLink()) m |= 2 ** 27;
  else if (st.isFIFO()) m |= 2 ** 25;
  else if (st.isSocket()) m |= 2 ** 24;
  else if (st.isCharacterDevice()) m |= 2 ** 26 | 2 ** 21;
  else if (st.isBlockDevice()) m |= 2 ** 26;
  if (st.mode & 0o4000) m |= 2 ** 23;
  if (st.mode & 0o2000) m |= 2 ** 22;
  if (st.mode & 0o1000) m |= 2 ** 20;
  return m >>> 0;
}

/** What Docker's HEAD /archive says of a path; undefined when there is none. */
export function statIn(root: string, path: string): PathStat | undefined {
  const n = openNode(root, path, false);
  if (!n) return undefined;
  try {
    const link = n.st.isSymbolicLink() ? readlinkSync(n.path) : '';
    // Docker resolves the link target inside the root and reports it as an absolute path
    const linkTarget = link ? posix.resolve(posix.dirname(posix.normalize(`/${path}`)), link) : '';
    const isDir = n.st.isDirectory() || (!!link && !!statFollow(root, path)?.isDirectory());
    return { name: posix.basename(posix.normalize(`/${path}`)) || '/', size: n.st.size, mode: goMode(n.st), mtime: n.st.mtime.toISOString(), linkTarget, isDir };
  } finally {
    n.close();
  }
}

function statFollow(root: string, path: string): Stats | undefined {
  const n = openNode(root, path, true);
  if (!n) return undefined;
  try {
    return n.st;
  } finally {
    n.close();
  }
}

function entryOf(st: Stats, name: string): OutEntry {
  return { name, type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
}

/** For a layer (commit): whiteouts as `.wh.` entries, opaque directories marked, the runtime's own paths left out. */
interface LayerWalk {
  skip: Set<string>;
}

const whiteoutName = (name: string): string => {
  const i = name.lastIndexOf('/');
  return `${name.slice(0, i + 1)}.wh.${name.slice(i + 1)}`;
};

async function* walk(n: Node, name: string, layer?: LayerWalk): AsyncGenerator<Buffer> {
  const { st } = n;
  const e = entryOf(st, name);
  if (layer && layer.skip.has(`/${name}`)) return;
  if (layer && st.isCharacterDevice() && st.rdev === 0) {
    yield tarHeader({ ...e, name: whiteoutName(name), mode: 0o644, uid: 0, gid: 0 });
    return;
  }
  if (st.isDirectory()) {
    if (name !== '') yield tarHeader({ ...e, type: 'dir' }); // '': the root itself, whose entries are named bare (export)
    if (layer && name !== '' && lgetxattr(n.path, 'trusted.overlay.opaque')?.toString() === 'y') {
      yield tarHeader({ ...e, name: `${name}/.wh..wh..opq`, mode: 0o644 });
    }
    const fd = openSync(n.path, C.O_RDONLY | C.O_DIRECTORY | (n.viaFd ? 0 : C.O_NOFOLLOW));
    try {
      for (const child of readdirSync(fdPath(fd)).sort()) {
        const p = fdPath(fd, child);
        const cst = lstatSync(p, { throwIfNoEntry: false });
        if (cst) yield* walk({ path: p, st: cst, viaFd: false, close: () => undefined }, name === '' ? child : `${name}/${child}`, layer);
      }
    } finally {
      closeSync(fd);
    }
  } else if (st.isFile()) {
    const fd = openSync(n.path, C.O_RDONLY | C.O_NONBLOCK | C.O_NOCTTY | (n.viaFd ? 0 : C.O_NOFOLLOW));
    try {
      const fst = fstatSync(fd);
      if (!fst.isFile()) return; // swapped for something else: not what was listed
      yield tarHeader({ ...entryOf(fst, name), size: fst.size });
      let done = 0;
      while (done < fst.size) {
        const buf = Buffer.alloc(Math.min(1 << 20, fst.size - done));
        const r = readSync(fd, buf, 0, buf.length, done);
        if (r === 0) break;
        done += r;
        yield buf.subarray(0, r);
      }
      if (done < fst.size) yield Buffer.alloc(fst.size - done); // it shrank: the header's size stands
      yield tarPadding(fst.size);
    } finally {
      closeSync(fd);
    }
  } else if (st.isSymbolicLink()) {
    yield tarHeader({ ...e, type: 'symlink', linkname: readlinkSync(n.path) });
  } else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
    const { major, minor } = splitDev(st.rdev);
    yield tarHeader({ ...e, type: st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'block', devmajor: major, devminor: minor });
  }
  // sockets are not archived (as Go's archive/tar)
}

/** A tar of `path` in `root`, its top entry named `name` (Docker's archive of a path). */
export async function* packFrom(root: string, path: string, name: string, follow = false): AsyncGenerator<Buffer> {
  const n = openNode(root, path, follow);
  if (!n) throw notFound(path);
  try {
    yield* walk(n, name);
    yield TAR_END;
  } finally {
    n.close();
  }
}

/** A container's upper dir as a layer tar (Docker's whiteout format), the runtime's own paths left out. */
export async function* packLayer(upper: string, skip: Set<string>): AsyncGenerator<Buffer> {
  const n = openNode(upper, '/', true);
  if (!n) throw notFound('/');
  try {
    yield* walk(n, '', { skip });
    yield TAR_END;
  } finally {
    n.close();
  }
}

export interface UnpackOptions {
  /** owner of everything written; undefined keeps the archive's uid/gid */
  owner?: { uid: number; gid: number };
  /** keep no owner at all (the caller's), as docker cp does on the host side */
  noChown?: boolean;
  /** rename an entry (its components); undefined skips it */
  rename?: (parts: string[]) => string[] | undefined;
}

/** Open (or make) directory `name` below the directory fd `dir`, never through a symlink. */
function subdir(dir: number, name: string, make: boolean): number {
  const p = fdPath(dir, name);
  try {
    return openSync(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  } catch (err) {
    if (!make || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(p, 0o755);
    return openSync(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  }
}

function refuse(msg: string): TsdError {
  return new TsdError('BAD_ARGS', msg, { exitCode: 1 });
}

/** Write a tar stream into directory `dir` of `root` (Docker's PUT /archive). */
export async function unpackInto(root: string, dir: string, entries: AsyncIterable<TarEntry>, o: UnpackOptions = {}): Promise<void> {
  const top = openAcross(root, dir, C.O_RDONLY | C.O_DIRECTORY);
  if (top === undefined) throw notFound(dir);
  try {
    for await (const { header: h, body } of entries) {
      let parts: string[] | undefined = entryComponents(h.path, 'archive');
      if (o.rename) parts = o.rename(parts);
      if (!parts || parts.length === 0) continue;
      const fds: number[] = [];
      try {
        let cur = top;
        for (const c of parts.slice(0, -1)) fds.push((cur = subdir(cur, c, true)));
        await writeEntry(cur, parts[parts.length - 1]!, h, body, o, top);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
    }
  } finally {
    closeSync(top);
  }
}

async function writeEntry(dir: number, name: string, h: TarEntry['header'], body: TarEntry['body'], o: UnpackOptions, top: number): Promise<void> {
  const p = fdPath(dir, name);
  const old = lstatSync(p, { throwIfNoEntry: false });
  const uid = o.owner?.uid ?? h.uid;
  const gid = o.owner?.gid ?? h.gid;
  if (h.type === 'dir') {
    if (old && !old.isDirectory()) throw refuse(`cannot overwrite non-directory "${name}" with directory`);
    const fd = subdir(dir, name, true);
    try {
      if (!o.noChown) fchownSync(fd, uid, gid);
      fchmodSync(fd, h.mode & 0o7777);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (old?.isDirectory()) throw refuse(`cannot overwrite directory "${name}" with non-directory`);
  if (old) unlinkSync(p);
  if (h.type === 'file') {
    const fd = openSync(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body()) writeSync(fd, chunk);
      if (!o.noChown) fchownSync(fd, uid, gid);
      fchmodSync(fd, h.mode & 0o7777);
      futimesSync(fd, h.mtime, h.mtime);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (h.type === 'symlink') {
    symlinkSync(h.linkpath, p);
    if (!o.noChown) lchownSync(p, uid, gid);
    lutimesSync(p, h.mtime, h.mtime);
    return;
  }
  if (h.type === 'hardlink') {
    const t = entryComponents(h.linkpath, 'archive');
    const renamed = o.rename ? o.rename(t) : t;
    if (!renamed?.length) return;
    const fds: number[] = [];
    try {
      let cur = top;
      for (const c of renamed.slice(0, -1)) fds.push((cur = subdir(cur, c, false)));
      linkSync(fdPath(cur, renamed[renamed.length - 1]!), p);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    return;
  }
  if (h.type === 'fifo' || h.type === 'char' || h.type === 'block') {
    const kind = h.type === 'fifo' ? C.S_IFIFO : h.type === 'char' ? C.S_IFCHR : C.S_IFBLK;
    mknod(p, kind | (h.mode & 0o7777), h.devmajor, h.devminor);
    if (!o.noChown) lchownSync(p, uid, gid);
  }
}
