/**
 * The root logger: pino, synchronous, on stderr (fd 2), so stdout carries only container
 * output and command results, and lines survive process.exit. Modules take a child:
 * `log.child({ mod: 'net.bridge' })`.
 *
 * pino is loaded on the first message that passes the level: most commands log nothing at
 * the default level, and loading pino costs ~18 ms of the 150 ms a `run --rm` may take.
 *
 * A message meant for a person is a plain line ("WARNING: ..."), as Docker prints it; the
 * lines are pino's JSON only when asked for (--log-format json, or --debug).
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger as PinoLogger } from 'pino';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
type LevelName = keyof typeof LEVELS;

interface LogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}

export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  readonly level: string;
}

const require = createRequire(import.meta.url);
let levelName: LevelName = (process.env.TSDOCKER_LOG_LEVEL as LevelName) in LEVELS ? (process.env.TSDOCKER_LOG_LEVEL as LevelName) : 'warn';
let root: PinoLogger | undefined;
let format: 'text' | 'json' = process.env.TSDOCKER_LOG_FORMAT === 'json' ? 'json' : 'text';

const WORD: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'FATAL' };

function detail(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Error) return v.message;
  return JSON.stringify(v);
}

/** One plain line: "WARNING: msg (key: value, ...)". */
export function plainLine(level: string, a: string | object, msg?: string): string {
  if (typeof a === 'string') return `${WORD[level]}: ${a}\n`;
  const fields = Object.entries(a).filter(([k]) => k !== 'mod').map(([k, v]) => `${k}: ${detail(v)}`);
  return `${WORD[level]}: ${msg ?? ''}${fields.length ? ` (${fields.join(', ')})` : ''}\n`;
}

function pinoRoot(): PinoLogger {
  if (!root) {
    const pino = require('pino') as typeof import('pino');
    root = pino.pino(
      { level: levelName, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
      pino.destination({ fd: 2, sync: true }),
    );
  }
  return root;
}

function make(bindings: Record<string, unknown>[]): Logger {
  let real: PinoLogger | undefined;
  const get = (): PinoLogger => (real ??= bindings.reduce<PinoLogger>((l, b) => l.child(b), pinoRoot()));
  const at =
    (name: Exclude<LevelName, 'silent'>): LogFn =>
    (a: string | object, msg?: string) => {
      if (LEVELS[name] < LEVELS[levelName]) return;
      if (format === 'text') {
        writeSync(2, plainLine(name, a, msg));
        return;
      }
      const l = get();
      if (typeof a === 'string') l[name](a);
      else l[name](a, msg);
    };
  return {
    child: (b) => make([...bindings, b]),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    get level() {
      return levelName;
    },
  };
}

export const log: Logger = make([]);

export function setLogFormat(f: string): void {
  if (f === 'json' || f === 'text') format = f;
}

export function setLogLevel(level: string): void {
  if (!(level in LEVELS)) return;
  levelName = level as LevelName;
  if (root) root.level = levelName;
}
