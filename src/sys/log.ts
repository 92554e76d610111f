/**
 * The root logger: pino, synchronous, on stderr (fd 2), so stdout carries only container
 * output and command results, and lines survive process.exit. Modules take a child:
 * `log.child({ mod: 'net.bridge' })`.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const initialLevel = process.env.TSDOCKER_LOG_LEVEL ?? 'warn';

export const log: Logger = pino(
  { level: initialLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
  pino.destination({ fd: 2, sync: true }),
);

export function setLogLevel(level: string): void {
  log.level = level;
}
