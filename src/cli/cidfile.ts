/**
 * `--cidfile PATH` (docker/cli's cidFile): refused when the file exists, created before the
 * container, the id written once the container exists; removed again if the run fails
 * before that (nothing half-made).
 */
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { TsdError, errorMessage } from '../sys/errors.js';

export interface CidFile {
  write(id: string): void;
  /** the run failed: the file goes unless it names a container that exists */
  abort(): void;
}

export function openCidFile(path: string | undefined): CidFile {
  if (!path) return { write: () => {}, abort: () => {} };
  if (existsSync(path)) {
    throw new TsdError('BAD_ARGS', `Container ID file found, make sure the other container isn't running or delete ${path}`, {
      hint: 'remove the file, or give --cidfile another path',
    });
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    throw new TsdError('BAD_ARGS', `Failed to create the container ID file: ${errorMessage(err)}`, { hint: 'give --cidfile a path in a writable directory' });
  }
  let written = false;
  return {
    write(id) {
      writeSync(fd, id);
      closeSync(fd);
      written = true;
    },
    abort() {
      if (written) return;
      closeSync(fd);
      rmSync(path, { force: true });
    },
  };
}
