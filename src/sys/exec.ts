/**
 * The one seam for external commands (ip, nft, nsenter, ...): argv arrays only, never a
 * shell string. A non-zero exit that the caller did not expect becomes a TsdError that
 * names the command and carries its stderr.
 */
import { createRequire } from 'node:module';
import { TsdError } from './errors.js';

// child_process (which loads net and dgram with it) only when a command is run: a start that
// runs none does not pay for its initialisation
const require = createRequire(import.meta.url);
const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string;
  /** Exit codes that are not failures (default: [0]). */
  okCodes?: number[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export type Exec = (argv: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

export const exec: Exec = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) {
      reject(new TsdError('INTERNAL', 'exec: empty argv'));
      return;
    }
    const child = childProcess().execFile(
      file,
      args,
      { encoding: 'utf8', env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (err && typeof err.code === 'string') {
          reject(
            new TsdError('CMD_FAILED', `${file}: ${err.code === 'ENOENT' ? 'command not found' : err.message}`, {
              hint: err.code === 'ENOENT' ? `install ${file} (see README: the first quick-start command installs everything)` : undefined,
              cause: err,
            }),
          );
          return;
        }
        const ok = opts.okCodes ?? [0];
        if (!ok.includes(code)) {
          const detail = (stderr || stdout).trim().split('\n').slice(-3).join('; ');
          reject(new TsdError('CMD_FAILED', `${argv.join(' ')}: exit ${code}${detail ? `: ${detail}` : ''}`, { cause: err }));
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {}); // a command that does not read its input (EPIPE) is not a failure
      child.stdin?.end(opts.input);
    }
  });

/** argv that runs `argv` inside the network namespace of `pid`. */
export function inNetns(pid: number, argv: readonly string[]): string[] {
  return ['nsenter', `--net=/proc/${pid}/ns/net`, '--', ...argv];
}
