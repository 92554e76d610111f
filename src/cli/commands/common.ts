/** Helpers shared by command modules: repeatable flags, root check, output. */
import { TsdError } from '../../sys/errors.js';

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
