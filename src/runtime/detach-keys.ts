/**
 * Docker's --detach-keys: a comma-separated sequence of keys, each a single character or
 * `ctrl-<c>` with <c> one of a-z @ [ \ ] ^ _ (moby's term.ToBytes). The default is
 * ctrl-p,ctrl-q. The monitor and the attach socket take the bytes in hex.
 */
import { TsdError } from '../sys/errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

function keyByte(key: string): number | undefined {
  if (key.length === 1) return key.charCodeAt(0) < 128 ? key.charCodeAt(0) : undefined;
  const m = /^ctrl-(.)$/.exec(key);
  if (!m) return undefined;
  const c = m[1]!;
  if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96;
  return CTRL_SPECIAL[c];
}

/** The detach sequence as bytes; throws Docker's message for a key it does not know. */
export function parseDetachKeys(spec: string | undefined, exitCode = 125): Buffer {
  const text = spec === undefined || spec === '' ? DEFAULT_DETACH_KEYS : spec;
  const bytes: number[] = [];
  for (const key of text.split(',')) {
    const k = key.trim();
    const b = keyByte(k.length === 1 ? k : k.toLowerCase());
    if (b === undefined) {
      throw new TsdError('BAD_ARGS', `Invalid detach keys (${text}) provided`, { exitCode, hint: 'give keys such as ctrl-p,ctrl-q: single characters or ctrl-a..ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_' });
    }
    bytes.push(b);
  }
  if (bytes.length > 16) throw new TsdError('BAD_ARGS', `Invalid detach keys (${text}) provided`, { exitCode, hint: 'at most 16 keys' });
  return Buffer.from(bytes);
}
