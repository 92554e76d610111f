/**
 * An interactive child for stream tests: its output (stdout and stderr together, \r
 * dropped, as a pty shows it), its stdin written as typed, and its exit code. `onPty` runs
 * an argv prefix's command line on a real pty of its own (util-linux script).
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Session {
  child: ChildProcess;
  out(): string;
  write(s: string): void;
  closed: Promise<number>;
}

export function session(child: ChildProcess): Session {
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stdin!.on('error', () => {});
  const closed = new Promise<number>((r) => child.on('close', (c, sig) => r(c ?? (sig ? 128 : -1))));
  return { child, out: () => out.replace(/\r/g, ''), write: (s) => child.stdin!.write(s), closed };
}

export function spawnSession(argv: string[]): Session {
  return session(spawn(argv[0]!, argv.slice(1), { stdio: 'pipe' }));
}

/** `cmd` (a shell command line) on a real pty, inside `enter` (the sandbox's nsenter prefix). */
export function onPty(enter: string[], cmd: string): Session {
  return spawnSession([...enter, 'script', '-qec', cmd, '/dev/null']);
}
