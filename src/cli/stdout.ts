/**
 * process.stdout is made on first use, and making it costs: a pipe's (the usual stdout of a
 * script, a CI job or the bench) loads `net` and the stream modules, ~5 ms here; /dev/null's
 * ~3 ms. A `run` prints nothing of its own (the container writes to the descriptor itself),
 * so it should never make it. The EPIPE rule below must still hold for every command that
 * does print, whichever of its ~40 call sites touches process.stdout first: so the rule is
 * attached when Node's own lazy getter first makes the stream, by wrapping that getter (Node
 * defines it configurable; where it is not, the stream is made at once, as before).
 */
import { writeSync } from 'node:fs';

let made = false;
/** main.ts's exit (the one place that ends the process) */
let exit: (code: number) => void = () => undefined;

/** `tsdocker ... | head`: a reader that left is the end of our output, not a crash. */
function onError(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
  exit(0);
}

export function hookStdout(exitProcess: (code: number) => void): void {
  exit = exitProcess;
  const d = Object.getOwnPropertyDescriptor(process, 'stdout');
  const get = d?.get;
  if (!d || !get || !d.configurable) {
    process.stdout.on('error', onError);
    made = true;
    return;
  }
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: d.enumerable ?? true,
    get() {
      const s = get.call(process) as NodeJS.WriteStream;
      if (!made) {
        made = true;
        s.on('error', onError);
      }
      return s;
    },
  });
}

/**
 * A command's result: written with write(2) while process.stdout has not been made (so `run
 * -d`'s id, `ps` or `inspect` into a pipe do not pay for making it), through the stream once
 * it has (nothing it still holds is overtaken). A reader that left ends us quietly, as the
 * stream's EPIPE rule does; any other failure (EAGAIN: a non-blocking pipe is full) hands the
 * rest to the stream, which waits as it always did.
 */
export function writeOut(text: string): void {
  if (!made) {
    const buf = Buffer.from(text);
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(1, buf, off);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') exit(0);
      else process.stdout.write(buf.subarray(off));
      return;
    }
  }
  process.stdout.write(text);
}

/**
 * Go on (exit) once what was written to stdout has drained: a pipe takes 64 KiB at once and Node
 * queues the rest, so a long `inspect` or `ps --format json` read through a pipe would lose
 * its end (the callback of a write comes once everything before it is written).
 */
export function whenDrained(then: () => void): void {
  if (made && process.stdout.writableLength > 0) process.stdout.write('', then);
  else then();
}
