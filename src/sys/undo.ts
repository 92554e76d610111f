/**
 * Setup registers its undo; when a later step fails, what was done is undone in reverse.
 * Undo keeps going past errors and returns them all, so one failure never hides another.
 */
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

export interface UndoStack {
  push(what: string, fn: () => Promise<void> | void): void;
  /** Run every undo step in reverse order; returns the errors (empty when all went well). */
  run(log?: Logger): Promise<Error[]>;
  /** Forget the steps: setup succeeded and now owns its resources. */
  clear(): void;
}

export function createUndoStack(): UndoStack {
  let steps: { what: string; fn: () => Promise<void> | void }[] = [];
  return {
    push(what, fn) {
      steps.push({ what, fn });
    },
    async run(log) {
      const errors: Error[] = [];
      for (const step of steps.reverse()) {
        try {
          await step.fn();
        } catch (err) {
          log?.warn({ step: step.what, err: errorMessage(err) }, 'undo step failed');
          errors.push(new Error(`${step.what}: ${errorMessage(err)}`));
        }
      }
      steps = [];
      return errors;
    },
    clear() {
      steps = [];
    },
  };
}

/** Run every teardown step, keep going past errors, throw them all at the end. */
export async function runAll(steps: readonly (readonly [string, () => Promise<void> | void])[]): Promise<void> {
  const errors: Error[] = [];
  for (const [what, fn] of steps) {
    try {
      await fn();
    } catch (err) {
      errors.push(new Error(`${what}: ${errorMessage(err)}`));
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
}
