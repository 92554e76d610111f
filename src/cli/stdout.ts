/**
 * process.stdout is made on first use, and making it costs: a pipe's (the usual stdout of a
 * script, a CI job or the bench) loads `net` and the stream modules, ~5 ms here; /dev/null's
 * ~3 ms. A `run` prints nothing of its own (the container writes to the descriptor itself),
 * so it should never make it. The EPIPE rule below must still hold for every command that
 * does print, whichever of its ~40 call sites touches process.stdout first: so the rule is
 * attached when Node's own lazy getter first makes the stream, by wrapping that getter (Node
 * defines it configurable; where it is not, the stream is made at once, as before).
 */
let made = false;

/** `tsdocker ... | head`: a reader that left is the end of our output, not a crash. */
function onError(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
}

export function hookStdout(): void {
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
 * Exit once what was written to stdout has drained: a pipe takes 64 KiB at once and Node
 * queues the rest, so a long `inspect` or `ps --format json` read through a pipe would lose
 * its end (the callback of a write comes once everything before it is written).
 */
export function exitWhenDrained(code: number): void {
  if (made && process.stdout.writableLength > 0) process.stdout.write('', () => process.exit(code));
  else process.exit(code);
}
