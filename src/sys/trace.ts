/**
 * A start-up timeline for people who want to see where the time of a command goes:
 * TSDOCKER_TRACE=1 prints each step's offset from process start on stderr at exit.
 * Costs nothing when the variable is not set.
 */
const enabled = Boolean(process.env.TSDOCKER_TRACE);
const marks: [string, number][] = [];

export function mark(step: string): void {
  if (enabled) marks.push([step, performance.now()]);
}

export function printTrace(): void {
  if (!enabled || marks.length === 0) return;
  let prev = 0;
  for (const [step, t] of marks) {
    process.stderr.write(`trace ${t.toFixed(1).padStart(7)} ms  +${(t - prev).toFixed(1).padStart(6)}  ${step}\n`);
    prev = t;
  }
}
