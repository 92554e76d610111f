/** Template failures carry Go's own message ("template: :1:2: executing ..."); exit 1 as Docker's CLI. */
import { TsdError } from '../../sys/errors.js';

export function templateError(message: string): TsdError {
  return new TsdError('BAD_ARGS', message, { exitCode: 1, hint: 'see the Go text/template syntax; fields are those of `--format "{{json .}}"`' });
}

export function isTemplateError(e: unknown): e is TsdError {
  return e instanceof TsdError && e.message.startsWith('template: ');
}
