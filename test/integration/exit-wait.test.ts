/**
 * waitForAnyExit (src/runtime/exit-wait.ts, native/src/exitwatch.c): what `stop` and `rm -f`
 * wait on. Real processes (`sleep`, started and killed here), the real kernel's pidfds; no
 * state, no namespace. Never timed: each wait either resolves as the kernel says or not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { waitForAnyExit } from '../../src/runtime/exit-wait.js';
import { processStartTime } from '../../src/sys/proc.js';

const started: ChildProcess[] = [];

function sleeper(): { pid: number; startTime: number | undefined } {
  const p = spawn('sleep', ['600'], { stdio: 'ignore' });
  started.push(p);
  return { pid: p.pid!, startTime: processStartTime(p.pid!) };
}

const threads = () => readdirSync('/proc/self/task').length;

async function settledThreads(want: number): Promise<number> {
  // a watching thread leaves right after our end closes; give it the time to be scheduled
  for (let i = 0; i < 200 && threads() !== want; i++) await new Promise((r) => setTimeout(r, 10));
  return threads();
}

afterEach(() => {
  for (const p of started.splice(0)) p.kill('SIGKILL');
});

describe('waitForAnyExit', () => {
  it('resolves true when one of the watched processes exits, and leaves no thread behind', async () => {
    const a = sleeper();
    const b = sleeper();
    const base = threads();
    const wait = waitForAnyExit([a, b], Infinity);
    setTimeout(() => process.kill(b.pid, 'SIGTERM'), 50);
    expect(await wait).toBe(true);
    expect(await settledThreads(base)).toBe(base);
  });

  it('resolves false at the timeout while they live, and its thread leaves with the watch', async () => {
    const a = sleeper();
    const base = threads();
    expect(await waitForAnyExit([a], 100)).toBe(false);
    expect(await settledThreads(base)).toBe(base);
    process.kill(a.pid, 0); // still there
  });

  it('does not wait on a stranger: a pid whose start time is not the one seen has exited already', async () => {
    const a = sleeper();
    expect(await waitForAnyExit([{ pid: a.pid, startTime: (a.startTime ?? 0) + 1 }], 60_000)).toBe(true);
    process.kill(a.pid, 0);
  });

  it('resolves true at once for a process already reaped', async () => {
    const p = spawn('true', { stdio: 'ignore' });
    const pid = p.pid!;
    await new Promise((r) => p.once('exit', r));
    await new Promise((r) => setImmediate(r)); // reaped by Node
    expect(await waitForAnyExit([{ pid, startTime: undefined }], 60_000)).toBe(true);
  });
});
