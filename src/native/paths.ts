/** Where the native artefacts live: native/build beside dist/ (dev tree and installed tree alike). */
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function nativeDir(): string {
  return process.env.TSDOCKER_NATIVE_DIR ?? join(projectRoot, 'native', 'build');
}

export function nativeLibPath(): string {
  return join(nativeDir(), 'libtsdocker.so');
}

export function monitorPath(): string {
  return join(nativeDir(), 'tsdocker-monitor');
}

export function projectDir(): string {
  return projectRoot;
}
