/**
 * A start-up timeline for people who want to see where the time of a command goes:
 * TSDOCKER_TRACE=1 prints each step's offset from process start on stderr at exit.
 * TSDOCKER_FAULT_KILL_AT=<step> makes the process SIGKILL itself at that step, for the
 * fault tests (a kill at every point of a start, deterministically). Both cost nothing
 * when the variables are not set.
 */
const enabled = Boolean(process.env.TSDOCKER_TRACE);
const killAt = process.env.TSDOCKER_FAULT_KILL_AT;
// for this process only: the monitors and hooks it starts must not die at the same step
delete process.env.TSDOCKER_FAULT_KILL_AT;
const marks: [string, number][] = [];

export function mark(step: string): void {
  if (enabled) marks.push([step, process.uptime() * 1000]); // not performance.now(): that getter loads perf_hooks (~1 ms)
  if (killAt !== undefined && step === killAt) process.kill(process.pid, 'SIGKILL');
}

export function printTrace(): void {
  if (!enabled || marks.length === 0) return;
  let prev = 0;
  for (const [step, t] of marks) {
    process.stderr.write(`trace ${t.toFixed(1).padStart(7)} ms  +${(t - prev).toFixed(1).padStart(6)}  ${step}\n`);
    prev = t;
  }
}
