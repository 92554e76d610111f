/**
 * The only importer of koffi. Loads native/build/libtsdocker.so, checks that its protocol
 * version matches ours, and turns negative errno returns into TsdErrors. Nothing here
 * changes a namespace of the Node process (DESIGN.md: no namespace syscall on a Node thread).
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { nativeLibPath } from './paths.js';
import { TsdError } from '../sys/errors.js';

export const PROTO_VERSION = 1;

type Koffi = typeof import('koffi');
const require = createRequire(import.meta.url);

interface Lib {
  tsd_proto_version: () => number;
  tsd_spawn: (path: string, argv: (string | null)[], envp: (string | null)[], fds: number[], nfds: number) => number;
  tsd_flock: (fd: number, op: number) => number;
  tsd_socketpair: (out: number[]) => number;
  tsd_mkwhiteout: (path: string) => number;
  tsd_mknod: (path: string, mode: number, major: number, minor: number) => number;
  tsd_lsetxattr: (path: string, name: string, value: Buffer, len: number) => number;
  tsd_kill: (pid: number, sig: number) => number;
  tsd_close: (fd: number) => number;
  tsd_shutdown: (fd: number) => number;
  tsd_open_in_root: (root: string, path: string, flags: number) => number;
  tsd_open_across: (root: string, path: string, flags: number) => number;
  tsd_lgetxattr: (path: string, name: string, buf: Buffer, len: number) => number;
  tsd_nft_genid: () => number;
  tsd_veth_attach: (hostIf: string, peerIf: string, peerMac: string, mtu: number, pid: number, bridge: string, hairpin: number) => number;
  tsd_guard_bind: (inetTable: string, bridge: string, netChain: string, brTable: string, hostIf: string, chain: string, mac: string, ip: string, ctrChain: string | null, ports: string | null, forward: number[]) => number;
  tsd_nft_forward_drops: () => number;
  tsd_guard_unbind: (brTable: string, hostIf: string, chain: string) => number;
  tsd_rmtree: (path: string) => number;
  tsd_exit_watch: (pids: number[], n: number) => number;
  tsd_port_probe: (ip: string, port: number, udp: number) => number;
  tsd_ports_unbind: (inetTable: string, chain: string, keys: string) => number;
}

let lib: Lib | undefined;

/**
 * koffi's native add-on itself. Its index.js would find the same file but first requires
 * https, zlib and crypto for its downloader (8-10 ms at every start, against ~1.3 ms for the
 * add-on alone); the add-on exports the same load/func API. Anything unusual (a musl
 * build, another architecture's directory layout) falls back to the package's own loader.
 */
export function loadKoffi(): Koffi {
  try {
    const dir = dirname(require.resolve('koffi/package.json'));
    return require(`${dir}/build/koffi/${process.platform}_${process.arch}/koffi.node`) as Koffi;
  } catch {
    return require('koffi') as Koffi;
  }
}

function load(): Lib {
  if (lib) return lib;
  let koffi: Koffi;
  let handle: ReturnType<Koffi['load']>;
  try {
    koffi = loadKoffi();
    handle = koffi.load(nativeLibPath());
  } catch (err) {
    throw new TsdError('NATIVE', `cannot load ${nativeLibPath()}: ${(err as Error).message}`, {
      hint: 'build the native part with `make -C native` (the README quick start does it)',
      cause: err,
    });
  }
  const l: Lib = {
    tsd_proto_version: handle.func('int tsd_proto_version(void)'),
    tsd_spawn: handle.func('int tsd_spawn(const char *path, const char **argv, const char **envp, const int *fds, int nfds)'),
    tsd_flock: handle.func('int tsd_flock(int fd, int op)'),
    tsd_socketpair: handle.func('int tsd_socketpair(_Out_ int *out)'),
    tsd_mkwhiteout: handle.func('int tsd_mkwhiteout(const char *path)'),
    tsd_mknod: handle.func('int tsd_mknod(const char *path, unsigned int mode, unsigned int major, unsigned int minor)'),
    tsd_lsetxattr: handle.func('int tsd_lsetxattr(const char *path, const char *name, const uint8_t *value, int len)'),
    tsd_kill: handle.func('int tsd_kill(int pid, int sig)'),
    tsd_close: handle.func('int tsd_close(int fd)'),
    tsd_shutdown: handle.func('int tsd_shutdown(int fd)'),
    tsd_open_in_root: handle.func('int tsd_open_in_root(const char *root, const char *path, int flags)'),
    tsd_open_across: handle.func('int tsd_open_across(const char *root, const char *path, int flags)'),
    tsd_lgetxattr: handle.func('int tsd_lgetxattr(const char *path, const char *name, _Out_ uint8_t *buf, int len)'),
    tsd_nft_genid: handle.func('long long tsd_nft_genid(void)'),
    tsd_rmtree: handle.func('int tsd_rmtree(const char *path)'),
    tsd_veth_attach: handle.func(
      'int tsd_veth_attach(const char *host_if, const char *peer_if, const char *peer_mac, int mtu, int pid, const char *bridge, int hairpin)',
    ),
    tsd_guard_bind: handle.func(
      'long long tsd_guard_bind(const char *inet_table, const char *bridge, const char *net_chain, const char *br_table, const char *host_if, const char *chain, const char *mac, const char *ip, const char *ctr_chain, const char *ports, _Out_ int *forward)',
    ),
    tsd_nft_forward_drops: handle.func('int tsd_nft_forward_drops(void)'),
    tsd_guard_unbind: handle.func('long long tsd_guard_unbind(const char *br_table, const char *host_if, const char *chain)'),
    tsd_exit_watch: handle.func('int tsd_exit_watch(const int *pids, int n)'),
    tsd_port_probe: handle.func('int tsd_port_probe(const char *ip, int port, int udp)'),
    tsd_ports_unbind: handle.func('long long tsd_ports_unbind(const char *inet_table, const char *chain, const char *keys)'),
  };
  const v = l.tsd_proto_version();
  if (v !== PROTO_VERSION) {
    throw new TsdError('NATIVE', `native library speaks protocol ${v}, this tsdocker speaks ${PROTO_VERSION}`, {
      hint: 'rebuild the native part with `make -C native`',
    });
  }
  lib = l;
  return l;
}

const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(osConstants.errno).map(([name, num]) => [num, name]),
);

export function errnoName(errno: number): string {
  return errnoNames[errno] ?? `errno ${errno}`;
}

function check(rc: number, what: string): number {
  if (rc < 0) {
    throw new TsdError('NATIVE', `${what}: ${errnoName(-rc)}`, { errno: -rc });
  }
  return rc;
}

export interface SpawnRequest {
  path: string;
  argv: readonly string[];
  env: readonly string[];
  /** fds[i] becomes descriptor i of the new process; -1 means /dev/null. */
  fds: readonly number[];
}

/** Start a detached daemon (double fork, new session); returns its pid. */
export function spawnDetached(req: SpawnRequest): number {
  const l = load();
  return check(l.tsd_spawn(req.path, [...req.argv, null], [...req.env, null], [...req.fds], req.fds.length), `spawn ${req.path}`);
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

/** flock(2); returns false when LOCK_NB was given and the lock is held elsewhere. */
export function flock(fd: number, op: number): boolean {
  const rc = load().tsd_flock(fd, op);
  if (rc === -osConstants.errno.EWOULDBLOCK) return false;
  check(rc, 'flock');
  return true;
}

/** A connected AF_UNIX stream socket pair, both ends close-on-exec. */
export function socketpair(): [number, number] {
  const out = [0, 0];
  check(load().tsd_socketpair(out), 'socketpair');
  return [out[0]!, out[1]!];
}

export function mkWhiteout(path: string): void {
  check(load().tsd_mkwhiteout(path), `mknod whiteout ${path}`);
}

export function mknod(path: string, mode: number, major: number, minor: number): void {
  check(load().tsd_mknod(path, mode, major, minor), `mknod ${path}`);
}

export function lsetxattr(path: string, name: string, value: string | Buffer): void {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  check(load().tsd_lsetxattr(path, name, b, b.length), `setxattr ${name} on ${path}`);
}

/** kill(2) that reports ESRCH as false instead of throwing. */
/**
 * The nf_tables generation id of our network namespace (one netlink request, no process), or
 * undefined when nf_tables cannot answer (then callers check the firewall the slow way).
 */
export function nftGenid(): number | undefined {
  const v = Number(load().tsd_nft_genid());
  return v >= 0 ? v : undefined;
}

/**
 * A veth pair over rtnetlink, in our namespace: `hostIf` in `bridge` and up (hairpin mode if
 * asked), its peer created in the namespace of `pid` as `peerIf` with `peerMac`. Throws
 * a TsdError with the kernel's errno on failure.
 */
export function vethAttach(req: { hostIf: string; peerIf: string; peerMac: string; mtu: number; pid: number; bridge: string; hairpin: boolean }): void {
  check(
    load().tsd_veth_attach(req.hostIf, req.peerIf, req.peerMac, req.mtu, req.pid, req.bridge, req.hairpin ? 1 : 0),
    `veth ${req.hostIf} (peer ${req.peerIf} in pid ${req.pid}'s netns) into ${req.bridge}`,
  );
}

/** A bridge port's binding (net/guard.ts) in one nf_tables transaction, no libnftables (native/src/nftguard.c). */
export interface GuardNames {
  /** tsdocker's inet and bridge tables (one name), the network's bridge and its forward chain */
  table: string;
  bridge: string;
  netChain: string;
  /** the host veth and its chain in the bridge table */
  hostIf: string;
  chain: string;
}

/** A container's IPv4 published ports (native/src/nftports.c): its DNAT chain, lines `PROTO HOSTIP HOSTPORT CTRIP CTRPORT`. */
export interface NativePorts {
  chain: string;
  lines: string;
}

/**
 * Bind `hostIf` to (mac, ip), and make `ports` in the same transaction. `gen`: the generation
 * the transaction committed from (it made exactly G+1: nothing else came between), or -errno
 * of the kernel's refusal (ENOENT: a table, chain, set or counter of ours is gone; nothing was
 * changed). `forwardDrops`: asked right after the commit, as nftForwardDrops.
 */
export function guardBind(n: GuardNames, mac: string, ip: string, ports?: NativePorts): { gen: number; forwardDrops: boolean | undefined } {
  const out = [0];
  const gen = Number(load().tsd_guard_bind(n.table, n.bridge, n.netChain, n.table, n.hostIf, n.chain, mac, ip, ports?.chain ?? null, ports?.lines ?? null, out));
  return { gen, forwardDrops: out[0]! < 0 ? undefined : out[0] === 1 };
}

/** Remove a container's DNAT chain and its `keys` (lines `PROTO HOSTPORT`) from the ports map: as guardBind's gen (ENOENT, EBUSY: nothing changed). */
export function portsUnbind(table: string, chain: string, keys: string): number {
  return Number(load().tsd_ports_unbind(table, chain, keys));
}

/**
 * Whether iptables-nft's FORWARD chain (nf_tables `ip filter FORWARD`) has policy DROP; false
 * when there is no such chain; undefined when nf_tables cannot say.
 */
export function nftForwardDrops(): boolean | undefined {
  const rc = load().tsd_nft_forward_drops();
  return rc < 0 ? undefined : rc === 1;
}

/** Remove `hostIf`'s binding whether or not it is there: as guardBind's result. */
export function guardUnbind(table: string, hostIf: string, chain: string): number {
  return Number(load().tsd_guard_unbind(table, hostIf, chain));
}

/**
 * A pipe's read end that becomes readable when any of `pids` exits (native/src/exitwatch.c:
 * pidfds polled by a thread of ours); 'gone' when one has already been reaped; 'unsupported'
 * on a kernel without pidfd_open (before 5.3). Close the fd (or its stream) when done.
 */
export function exitWatch(pids: readonly number[]): { fd: number } | 'gone' | 'unsupported' {
  const rc = load().tsd_exit_watch([...pids], pids.length);
  if (rc === -osConstants.errno.ESRCH) return 'gone';
  if (rc === -osConstants.errno.ENOSYS) return 'unsupported';
  return { fd: check(rc, `watch the exit of ${pids.join(', ')}`) };
}

/**
 * Whether `ip`:`port` can be bound for `proto` in our namespace (native/src/portprobe.c: a bind
 * as Go's listeners make it, closed at once): 0 when free, else the errno (EADDRINUSE: taken).
 */
export function portProbe(ip: string, port: number, proto: 'tcp' | 'udp'): number {
  return -load().tsd_port_probe(ip, port, proto === 'udp' ? 1 : 0);
}

export function kill(pid: number, sig: number): boolean {
  const rc = load().tsd_kill(pid, sig);
  if (rc === -osConstants.errno.ESRCH) return false;
  check(rc, `kill ${pid}`);
  return true;
}

/** Linux O_PATH (not in Node's fs.constants): a handle that names a file without opening it. */
export const O_PATH = 0o10000000;

/**
 * open(2) of `path` resolved inside `root` as if it were "/" (openat2 RESOLVE_IN_ROOT, no
 * magic links, no mount crossing); undefined when there is no such file (ENOENT, ENOTDIR).
 */
export function openInRoot(root: string, path: string, flags: number): number | undefined {
  const rc = load().tsd_open_in_root(root, path, flags);
  if (rc === -osConstants.errno.ENOENT || rc === -osConstants.errno.ENOTDIR) return undefined;
  return check(rc, `open ${path} in ${root}`);
}

/** openInRoot, crossing the mounts below root (a running container's volumes under /proc/PID/root). */
export function openAcross(root: string, path: string, flags: number): number | undefined {
  const rc = load().tsd_open_across(root, path, flags);
  if (rc === -osConstants.errno.ENOENT || rc === -osConstants.errno.ENOTDIR) return undefined;
  return check(rc, `open ${path} in ${root}`);
}

/** An extended attribute of `path` itself (never through a symlink); undefined when it is not set. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const buf = Buffer.alloc(256);
  const rc = load().tsd_lgetxattr(path, name, buf, buf.length);
  if (rc === -osConstants.errno.ENODATA || rc === -osConstants.errno.ENOTSUP) return undefined;
  return buf.subarray(0, check(rc, `getxattr ${name} of ${path}`));
}

export function closeFd(fd: number): void {
  load().tsd_close(fd);
}

/** shutdown(2) both ways: a read blocked on the socket returns 0 (EOF). */
export function shutdownFd(fd: number): void {
  load().tsd_shutdown(fd);
}

/**
 * `rm -rf path` in one native call (native/src/rmtree.c): follows no symlink, and never enters
 * a directory on another filesystem (EXDEV: something is mounted inside, and stays untouched).
 * A missing path is fine.
 */
export function removeTree(path: string): void {
  check(load().tsd_rmtree(path), `remove ${path}`);
}
