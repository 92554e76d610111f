/** Which exit code a failure gets, by command, as Docker's CLI gives it. */
import type { TsdError } from '../sys/errors.js';

/**
 * Docker's exit codes: `run` and `create` say 125 when Docker itself failed; every other
 * command says 1 for a failure the daemon reports (no such container, bad filter, conflict...),
 * and 125 only for a bad flag (commander's, or "invalid argument ... flag"), and when
 * tsdocker cannot reach the cluster store it needs (its own failure, as a CLI that cannot
 * reach its daemon; overlay commands say 125 then, whatever the command).
 */
export function exitCodeFor(err: TsdError, command: string): number {
  if (err.exitCode !== 125 || command === 'run' || command === 'create' || command === '') return err.exitCode;
  if (err.code === 'STORE_UNREACHABLE') return 125;
  if (/^invalid argument ".*" for ".*" flag/.test(err.message)) return 125;
  return 1;
}
