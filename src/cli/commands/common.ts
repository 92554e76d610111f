/** Helpers shared by command modules: repeatable flags, root check, output. */
import { readSync } from 'node:fs';
import { ExitError, TsdError, errorMessage, fromSystemError } from '../../sys/errors.js';
import { writeOut } from '../stdout.js';

/** commander collector for repeatable options (-e A -e B). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new TsdError('NOT_ROOT', 'tsdocker must run as root', { hint: 'run it with sudo, or as the root user' });
  }
}

export function parseIntArg(name: string, value: string, min = 0): number {
  if (!/^-?\d+$/.test(value) || Number(value) < min) {
    throw new TsdError('BAD_ARGS', `invalid argument "${value}" for "${name}" flag`, { hint: Number.isFinite(min) ? `${name} takes a whole number of at least ${min}` : `${name} takes a whole number` });
  }
  return Number(value);
}

export function parseLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const eq = l.indexOf('=');
    out[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  return out;
}

export function out(line: string): void {
  writeOut(`${line}\n`);
}

/** One failed argument of a multi-argument command: its error line (and hint); the others go on. */
export function reportOne(ref: string, raw: unknown): void {
  const err = fromSystemError(raw);
  if (err instanceof TsdError) {
    process.stderr.write(`tsdocker: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return;
  }
  // not foreseen: still one line for this argument, and the rest are done
  process.stderr.write(`tsdocker: ${ref}: ${errorMessage(err)}\n`);
}

/**
 * Run `fn` for each argument of a multi-argument command (rm, stop, volume rm, ...): print
 * each success line, report each failure on stderr and go on; Docker's exit 1 if any failed.
 */
export async function eachRef(refs: string[], fn: (ref: string) => Promise<string | undefined>): Promise<void> {
  let failed = false;
  for (const ref of refs) {
    try {
      const line = await fn(ref);
      if (line !== undefined) out(line);
    } catch (err) {
      failed = true;
      reportOne(ref, err);
    }
  }
  if (failed) throw new ExitError(1);
}

/** Docker's CheckTty: -it with stdin attached (not -d) needs a terminal on stdin. */
export function checkTty(f: { interactive?: boolean; tty?: boolean; detach?: boolean }): void {
  if (f.tty && f.interactive && !f.detach && !process.stdin.isTTY) {
    throw new TsdError('BAD_ARGS', 'the input device is not a TTY', { exitCode: 1, hint: 'drop -t when stdin is a pipe or a file' });
  }
}

/** Read one line from stdin (blocking); '' at end of input. */
function readLine(): string {
  const buf = Buffer.alloc(1);
  let line = '';
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, buf, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return line;
    }
    if (n === 0 || buf[0] === 0x0a) return line;
    line += String.fromCharCode(buf[0]!);
  }
}

/** Docker's PromptForConfirmation: the warning, "[y/N]", and only "y" goes on (-f skips it). */
export function confirm(warning: string, force: boolean | undefined): boolean {
  if (force) return true;
  writeOut(`${warning}\nAre you sure you want to continue? [y/N] `);
  return readLine().trim().toLowerCase() === 'y';
}

/** Docker exits 1 when the daemon side fails (pull, push, login): our 125s become 1. */
export function asExit1(err: unknown): never {
  if (err instanceof TsdError && err.exitCode === 125) throw new TsdError(err.code, err.message, { hint: err.hint, exitCode: 1, cause: err.cause });
  throw err;
}
