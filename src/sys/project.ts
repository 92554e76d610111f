/**
 * Where the installed project lives, whether this code runs from the single-file bundle
 * (dist/tsdocker.cjs), from tsc's output (dist/<room>/x.js) or from the TypeScript
 * sources (tests): the nearest ancestor directory holding tsdocker's package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function projectDir(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"tsdocker"/.test(readFileSync(pkg, 'utf8'))) return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the tsdocker project directory (package.json)');
    dir = up;
  }
}

/** tsc's output directory: separately started Node programs (helpers, daemons) live here. */
export function distFile(...parts: string[]): string {
  return join(projectDir(), 'dist', ...parts);
}
