/** Helpers shared by command modules: repeatable flags, root check, output. */
import { ExitError, TsdError } from '../../sys/errors.js';

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
    throw new TsdError('BAD_ARGS', `invalid value "${value}" for ${name}`, { hint: `${name} takes a whole number of at least ${min}` });
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
  process.stdout.write(`${line}\n`);
}

/**
 * Run `fn` for each argument of a multi-argument command (rm, stop, volume rm, ...): print
 * each success line, report each TsdError on stderr and go on; Docker's exit 1 if any failed.
 */
export async function eachRef(refs: string[], fn: (ref: string) => Promise<string | undefined>): Promise<void> {
  let failed = false;
  for (const ref of refs) {
    try {
      const line = await fn(ref);
      if (line !== undefined) out(line);
    } catch (err) {
      if (!(err instanceof TsdError)) throw err;
      failed = true;
      process.stderr.write(`tsdocker: ${err.message}\n`);
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    }
  }
  if (failed) throw new ExitError(1);
}

/** Docker exits 1 when the daemon side fails (pull, push, login): our 125s become 1. */
export function asExit1(err: unknown): never {
  if (err instanceof TsdError && err.exitCode === 125) throw new TsdError(err.code, err.message, { hint: err.hint, exitCode: 1, cause: err.cause });
  throw err;
}
