/**
 * node:net, required on first use: loading it (with Node's stream modules) costs a command
 * ~4 ms, and the start path never needs it (a run reads its monitor channel through the
 * thread pool, prints through write(2)). The few callers that do (an exit watch, a server's
 * monitor channels, an IPv6 address check) load it here.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function nodeNet(): typeof import('node:net') {
  return require('node:net') as typeof import('node:net');
}
