/**
 * Setup registers its undo; when a later step fails, what was done is undone in reverse.
 * Undo and teardown keep going past errors and report them all, so one failure never hides
 * another, and as one TsdError: each step's message, and the code, exit code and hint of
 * the first typed error among them (a TsdError raised in a step keeps what it says to the
 * user). A rolled-back setup reports its own failure and what its undo could not do.
 */
import { errorMessage, TsdError } from './errors.js';
import type { Logger } from './log.js';

export interface StepFailure {
  what: string;
  err: unknown;
}

export interface UndoStack {
  push(what: string, fn: () => Promise<void> | void): void;
  /** Run every undo step in reverse order; returns what failed (empty when all went well). */
  run(log?: Logger): Promise<StepFailure[]>;
  /**
   * Setup failed with `err`: undo everything, and return the error to throw: `err` itself
   * when the undo went well, else one that keeps both `err` and the undo's failures.
   */
  rollback(err: unknown, log?: Logger): Promise<unknown>;
  /** Forget the steps: setup succeeded and now owns its resources. */
  clear(): void;
}

const RETRY_HINT = 'fix what the message names and run the command again (teardown is safe to repeat)';

/** One TsdError for the failed steps of a teardown. */
export function teardownError(failures: readonly StepFailure[]): TsdError {
  const typed = failures.map((f) => f.err).filter((e): e is TsdError => e instanceof TsdError);
  const hints = [...new Set(typed.map((e) => e.hint).filter((h): h is string => !!h))];
  return new TsdError(typed[0]?.code ?? 'STATE', failures.map((f) => `${f.what}: ${errorMessage(f.err)}`).join('; '), {
    hint: hints.length ? hints.join('; ') : RETRY_HINT,
    exitCode: typed[0]?.exitCode,
    errno: typed[0]?.errno,
    cause: failures.length === 1 ? failures[0]!.err : new AggregateError(failures.map((f) => f.err)),
  });
}

/** `err` (the failure of a setup) together with the failures of undoing it. */
export function withUndoFailures(err: unknown, failures: readonly StepFailure[]): unknown {
  if (failures.length === 0) return err;
  const undo = teardownError(failures);
  const message = `${errorMessage(err)}; undoing it failed too: ${undo.message}`;
  if (err instanceof TsdError) {
    const hint = [err.hint, undo.hint === RETRY_HINT ? undefined : undo.hint].filter(Boolean).join('; ');
    return new TsdError(err.code, message, { hint: hint || RETRY_HINT, exitCode: err.exitCode, errno: err.errno, cause: new AggregateError([err, undo]) });
  }
  // not a failure the user caused (a bug): it stays one, with its own stack
  const wrapped = new AggregateError([err, undo], message);
  if (err instanceof Error && err.stack) wrapped.stack = `${wrapped.name}: ${message}\n${err.stack.split('\n').slice(1).join('\n')}`;
  return wrapped;
}

async function runSteps(steps: readonly (readonly [string, () => Promise<void> | void])[], log?: Logger): Promise<StepFailure[]> {
  const failures: StepFailure[] = [];
  for (const [what, fn] of steps) {
    try {
      await fn();
    } catch (err) {
      log?.debug({ step: what, err: errorMessage(err) }, 'step failed');
      failures.push({ what, err });
    }
  }
  return failures;
}

export function createUndoStack(): UndoStack {
  let steps: (readonly [string, () => Promise<void> | void])[] = [];
  const run = async (log?: Logger): Promise<StepFailure[]> => {
    const todo = steps.reverse();
    steps = [];
    return runSteps(todo, log);
  };
  return {
    push(what, fn) {
      steps.push([what, fn]);
    },
    run,
    async rollback(err, log) {
      return withUndoFailures(err, await run(log));
    },
    clear() {
      steps = [];
    },
  };
}

/** Run every teardown step, keep going past errors, throw them all at the end as one TsdError. */
export async function runAll(steps: readonly (readonly [string, () => Promise<void> | void])[]): Promise<void> {
  const failures = await runSteps(steps);
  if (failures.length) throw teardownError(failures);
}
