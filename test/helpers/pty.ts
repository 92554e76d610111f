/**
 * An interactive shell on a real terminal: `script` (util-linux, from install.sh) gives the
 * client command (docker, podman, tsdocker) a pty of its own, as a person's terminal would.
 */
import { expect } from 'vitest';
import type { Sandbox } from './sandbox.js';

/**
 * Run `command` (a shell command line that starts `sh` with -it) under `script`, type a few
 * lines into the shell and check that it ran on a pty, computed, and exited with `code`.
 */
export async function expectShellOnPty(sb: Sandbox, command: string, code: number): Promise<void> {
  const r = await sb.sh(['script', '-qec', command, '/dev/null'], { input: `tty; echo sum-$((40+${code}))\nexit ${code}\n` });
  const out = r.stdout.replace(/\r/g, '');
  expect(out, `stderr: ${r.stderr}`).toMatch(/\/dev\/pts\/\d+\n/);
  expect(out).toContain(`sum-${40 + code}\n`);
  expect(r.code).toBe(code);
}
