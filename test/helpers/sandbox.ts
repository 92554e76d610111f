/**
 * A throwaway "host" for integration tests: a process holding its own network and mount
 * namespaces (`unshare -n -m --propagation private`), and a temporary --root. tsdocker runs
 * inside it through nsenter, so bridges, veths, nft tables and mounts never touch the real
 * host, and everything disappears with the namespace. `close()` removes the containers
 * first (their monitors live in the sandbox), then ends the holder and the state dir.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { removeCgroupParent } from '../../src/runtime/cgroups/index.js';

export const PROJECT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(PROJECT, 'bin', 'tsdocker');
export const BUSYBOX_TAR = join(PROJECT, 'images', 'busybox.tar');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  root: string;
  holderPid: number;
  /** argv prefix that enters the sandbox's namespaces */
  enter: string[];
  /** run tsdocker inside the sandbox with this sandbox's --root */
  tsd(args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** run any command inside the sandbox's namespaces */
  sh(argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** start tsdocker inside the sandbox without waiting (for signals, ptys, concurrency) */
  spawnTsd(args: string[]): ChildProcess;
  close(): Promise<void>;
}

export function run(argv: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${argv.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the command may not read its stdin
    child.stdin.end(opts.input ?? '');
  });
}

/** A `sleep infinity` that holds new namespaces (`unshare` flags), once it is inside them. */
export async function startHolder(unshareFlags: string[]): Promise<ChildProcess> {
  const holder = spawn('unshare', [...unshareFlags, 'sleep', 'infinity'], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sleep') break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return holder;
}

/** The pid of `parent`'s first child once it runs `comm` (unshare --fork's child). */
async function childRunning(parent: number, comm: string): Promise<number> {
  for (let i = 0; i < 400; i++) {
    try {
      const kid = Number(readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(' ')[0]);
      if (kid && readFileSync(`/proc/${kid}/comm`, 'utf8').trim() === comm) return kid;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no ${comm} under ${parent}`);
}

/**
 * `pidns`: the sandbox also has its own pid namespace (with its own /proc), where a test can
 * steer which pid the next process gets (/proc/sys/kernel/ns_last_pid) without racing the
 * rest of the machine. Pids that tsdocker reports are then that namespace's.
 */
export async function createSandbox(name = 'tsd-test', opts: { pidns?: boolean } = {}): Promise<Sandbox> {
  const root = mkdtempSync(join(tmpdir(), `${name}-`));
  const pidFlags = opts.pidns ? ['--pid', '--fork', '--kill-child', '--mount-proc'] : [];
  const holder = opts.pidns
    ? spawn('unshare', ['--net', '--mount', '--propagation', 'private', ...pidFlags, 'sleep', 'infinity'], { stdio: 'ignore' })
    : await startHolder(['--net', '--mount', '--propagation', 'private']);
  // with a pid namespace the namespaces are held by unshare's child (pid 1 there)
  const holderPid = opts.pidns ? await childRunning(holder.pid!, 'sleep') : holder.pid!;
  const enter = [
    'nsenter',
    `--net=/proc/${holderPid}/ns/net`,
    `--mount=/proc/${holderPid}/ns/mnt`,
    ...(opts.pidns ? [`--pid=/proc/${holderPid}/ns/pid`] : []),
    '--',
  ];
  execFileSync(enter[0]!, [...enter.slice(1), 'ip', 'link', 'set', 'lo', 'up']);
  // container cgroups go under a parent of this sandbox's own, removed by close()
  const cgroupParent = `tsdocker-test-${basename(root)}`;
  const env = (e?: NodeJS.ProcessEnv) => ({ TSDOCKER_CGROUP_PARENT: cgroupParent, ...(e ?? process.env) });
  const sb: Sandbox = {
    root,
    holderPid,
    enter,
    tsd: (args, opts) => run([...enter, process.execPath, CLI, '--root', root, ...args], { ...opts, env: env(opts?.env) }),
    sh: (argv, opts) => run([...enter, ...argv], opts),
    spawnTsd: (args) => spawn(enter[0]!, [...enter.slice(1), process.execPath, CLI, '--root', root, ...args], { stdio: 'pipe', env: env() }),
    async close() {
      try {
        const ids = await sb.tsd(['ps', '-aq']);
        const list = ids.stdout.split('\n').filter(Boolean);
        if (list.length) await sb.tsd(['rm', '-f', '-v', ...list]);
      } catch {
        /* the sandbox may have no containers or no ps yet */
      }
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
      rmSync(root, { recursive: true, force: true });
      await removeCgroupParent(cgroupParent);
    },
  };
  return sb;
}

/** The host's state that tests must leave as they found it. */
export function hostSnapshot(): { links: string; mounts: string; netns: string; tables: string; run: string } {
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(':')[1]?.trim() ?? '')
    .filter(Boolean)
    .sort()
    .join('\n');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.includes('tsd'))
    .sort()
    .join('\n');
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  // the host's nft tables (a test's bridge network made outside its sandbox would leave one) and
  // what runtimes may create in the host's /run (podman's netavark writes /run/containers)
  const tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n').filter(Boolean).sort().join('\n');
  const run = ['containers', 'netns', 'docker', 'tsdocker', 'tsdocker-oci'].filter((d) => existsSync(`/run/${d}`)).join(' ');
  return { links, mounts, netns, tables, run };
}

/** The sandbox's nft ruleset and sorted link names, to compare before and after a test. */
export async function sandboxNetState(sb: Sandbox): Promise<{ nft: string; links: string }> {
  const nft = (await sb.sh(['nft', 'list', 'ruleset'])).stdout;
  const links = (await sb.sh(['ip', '-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim() ?? '')
    .filter(Boolean)
    .sort()
    .join('\n');
  return { nft, links };
}

/** Run tsdocker in the sandbox; its stdout, or an error with its stderr when it fails. */
export async function tsdOk(sb: Sandbox, args: string[]): Promise<string> {
  const r = await sb.tsd(args);
  if (r.code !== 0) throw new Error(`tsdocker ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** GET `url` from a namespace (the sandbox host, a world) with busybox wget, retrying while a server starts; '' when nothing answers. */
export async function httpGet(ns: { sh(argv: string[], opts?: { timeoutMs?: number }): Promise<RunResult> }, url: string, tries = 50): Promise<string> {
  for (let i = 0; i < tries; i++) {
    const r = await ns.sh(['busybox', 'wget', '-qO-', url], { timeoutMs: 5000 }).catch(() => ({ code: 1, stdout: '' }));
    if (r.code === 0) return r.stdout;
    if (i < tries - 1) await new Promise((res) => setTimeout(res, 100));
  }
  return '';
}
