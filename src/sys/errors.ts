/**
 * The error vocabulary. A TsdError is a failure the user can cause or understand: the CLI
 * prints its one-line message (plus a hint) and exits with its exit code (125 unless said
 * otherwise, Docker's code for "the runtime itself failed"). An ExitError carries a status
 * that has already been reported, typically the container's own exit status.
 */
export type ErrorCode =
  | 'BAD_ARGS'
  | 'NOT_ROOT'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_INVALID'
  | 'IMAGE_IN_USE'
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_EXISTS'
  | 'CONTAINER_RUNNING'
  | 'CONTAINER_NOT_RUNNING'
  | 'CONTAINER_START'
  | 'CMD_NOT_FOUND'
  | 'CMD_NOT_EXECUTABLE'
  | 'NETWORK_NOT_FOUND'
  | 'NETWORK_EXISTS'
  | 'NETWORK_IN_USE'
  | 'NETWORK_INVALID'
  | 'IPAM_EXHAUSTED'
  | 'PORT_IN_USE'
  | 'VOLUME_NOT_FOUND'
  | 'VOLUME_IN_USE'
  | 'RESOURCE'
  | 'CMD_FAILED'
  | 'NATIVE'
  | 'STATE'
  | 'REGISTRY'
  | 'UNAUTHORIZED'
  | 'INTERNAL';

export interface TsdErrorOptions {
  hint?: string;
  exitCode?: number;
  errno?: number;
  cause?: unknown;
}

export class TsdError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly errno: number | undefined;

  constructor(code: ErrorCode, message: string, opts: TsdErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.name = 'TsdError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 125;
    this.errno = opts.errno;
  }
}

/** A status that is already reported (or is the container's own): exit with it, print nothing. */
export class ExitError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit status ${exitCode}`);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
