/** Where the native artefacts live: native/build beside dist/ (dev tree and installed tree alike). */
import { join } from 'node:path';
import { projectDir } from '../sys/project.js';

export function nativeDir(): string {
  return process.env.TSDOCKER_NATIVE_DIR ?? join(projectDir(), 'native', 'build');
}

export function nativeLibPath(): string {
  return join(nativeDir(), 'libtsdocker.so');
}

export function monitorPath(): string {
  return join(nativeDir(), 'tsdocker-monitor');
}

/** The static init `run --init` mounts at /sbin/docker-init. */
export function initPath(): string {
  return join(nativeDir(), 'tsdocker-init');
}

export { projectDir };
