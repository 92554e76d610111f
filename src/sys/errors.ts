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
  | 'CONTAINER_PAUSED'
  | 'CONTAINER_NOT_PAUSED'
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
  | 'CLUSTER_STORE'
  | 'STORE_UNREACHABLE'
  | 'NATIVE'
  | 'STATE'
  | 'CORRUPT_RECORD'
  | 'NO_SPACE'
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

/** A record on disk that is not what its reader expects (garbage, empty, wrong types). */
export function corruptRecord(path: string, why: string): TsdError {
  return new TsdError('CORRUPT_RECORD', `corrupt record ${path}: ${why}`, {
    hint: 'remove the object it belongs to (`rm -f` for a container), or restore the file from a backup',
  });
}

export function isCorruptRecord(err: unknown): err is TsdError {
  return err instanceof TsdError && err.code === 'CORRUPT_RECORD';
}

/**
 * A system error the user can do something about (a full disk, a quota, a read-only
 * filesystem) as a one-line TsdError naming what could not be written; anything else as is.
 */
export function fromSystemError(err: unknown): unknown {
  if (!isErrno(err, 'ENOSPC', 'EDQUOT', 'EROFS')) return err;
  const e = err as NodeJS.ErrnoException;
  const what = e.path ? `cannot write ${e.path}` : `${e.syscall ?? 'write'} failed`;
  const why = e.code === 'ENOSPC' ? 'no space left on device' : e.code === 'EDQUOT' ? 'disk quota exceeded' : 'read-only file system';
  return new TsdError('NO_SPACE', `${why}: ${what}`, {
    cause: err,
    hint: e.code === 'EROFS' ? 'tsdocker needs a writable --root' : 'free space on the filesystem that holds the tsdocker root (--root) and retry',
  });
}
