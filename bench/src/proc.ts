/** External commands: argv arrays only, never a shell string. */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** wall time from spawn to exit, milliseconds */
  ms: number;
}

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    const t0 = process.hrtime.bigint();
    const child = spawn(file ?? 'false', args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout, stderr: stderr + String(err.message), ms: 0 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      resolve({ code, signal, stdout, stderr, ms });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

const SUBCOMMANDS = new Set(['run', 'rm', 'load', 'ps', 'version', 'spec']);

/** "tsdocker run -d --name x …" rather than nsenter, node, paths and global options. */
function shortCmd(argv: readonly string[]): string {
  const cmd = argv[0] === 'nsenter' ? argv.slice(argv.indexOf('--') + 1) : [...argv];
  const tool = cmd.find((a) => a.endsWith('bin/tsdocker')) ? 'tsdocker' : (cmd[0] ?? '').split('/').pop() ?? '';
  const sub = cmd.findIndex((a) => SUBCOMMANDS.has(a));
  const rest = sub >= 0 ? cmd.slice(sub) : cmd.slice(1);
  return `${tool} ${rest.slice(0, 5).join(' ')}${rest.length > 5 ? ' …' : ''}`;
}

export function failure(argv: readonly string[], r: RunResult): Error {
  const lines = (r.stderr || r.stdout).split('\n').map((l) => l.trim()).filter(Boolean);
  // the message is usually the first line (a stack trace may follow), the hint the last
  const msg = lines.find((l) => !l.startsWith('at ')) ?? '';
  const last = lines.at(-1) ?? '';
  const tail = last && last !== msg && !last.startsWith('at ') ? `${msg} / ${last}` : msg;
  const how = r.signal ? `signal ${r.signal}` : `exit ${r.code}`;
  return new Error(`${shortCmd(argv)}: ${how}${tail ? `: ${tail}` : ''}`);
}

/** Runs argv, throws on a non-zero exit, returns stdout. */
export async function must(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw failure(argv, r);
  return r.stdout;
}

/** Runs argv, throws on failure, returns its wall time in ms. */
export async function timed(argv: readonly string[], opts: RunOptions = {}): Promise<number> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw failure(argv, r);
  return r.ms;
}

/** A long-running process (daemon, namespace holder, server) whose pid we own. */
export interface Background {
  pid: number;
  child: ChildProcess;
  exited: Promise<number | null>;
}

export function background(argv: readonly string[], logFile?: string, pipeStdout = false): Background {
  const [file, ...args] = argv;
  const fd = logFile ? openSync(logFile, 'a') : undefined;
  const out = pipeStdout ? 'pipe' : (fd ?? 'ignore');
  const child = spawn(file ?? 'false', args, { stdio: ['ignore', out, fd ?? 'ignore'] });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`cannot start ${file}`);
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.on('error', () => undefined);
  return { pid: child.pid, child, exited };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Ends a process we started, by pid: TERM, then KILL after graceMs. */
export async function stop(pid: number, graceMs = 5000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    if (!alive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Runs fn over items with at most `limit` in flight; after a failure it starts no more. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed = true; // start nothing new after the first failure
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
