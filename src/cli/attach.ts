/**
 * Our terminal on an attach session (`attach`, `start -a/-i`): the container's output to
 * our stdout/stderr, our stdin to it (the terminal in raw mode with a pty, so the keys go
 * through as typed, the detach keys among them), window-size changes to its pty, and, with
 * --sig-proxy and no pty, the signals we receive to the container. Returns how it ended.
 */
import { forwardSignals, type SignalForwarder } from '../runtime/run.js';
import { terminalSize } from '../runtime/start.js';
import { openAttach, type AttachEnd, type AttachSession } from '../runtime/attach.js';

export interface StdioAttach {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys: Buffer;
  /** our stdin's end closes the container's (start -i) */
  closeStdin: boolean;
}

/** Connect now (before the container starts, for start -a), stream later with pipeStdio. */
export function connectStdio(id: string, o: StdioAttach): Promise<AttachSession> {
  return openAttach(id, {
    stdin: o.stdin,
    stdout: o.stdout,
    stderr: o.stderr,
    detachKeys: o.detachKeys,
    onOutput: (stream, data) => (stream === 1 ? process.stdout : process.stderr).write(data),
  });
}

/** --sig-proxy without a pty (Docker's rule): caught from before the connection, so none is lost */
export function proxySignals(o: { sigProxy: boolean; tty: boolean }): SignalForwarder | undefined {
  return o.sigProxy && !o.tty ? forwardSignals() : undefined;
}

export async function pipeStdio(session: AttachSession, o: StdioAttach & { signals: SignalForwarder | undefined; pid: number }): Promise<AttachEnd> {
  const signals = o.signals;
  signals?.target(o.pid);
  const stdin = process.stdin;
  const raw = o.tty && o.stdin && stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  const onResize = () => {
    const size = terminalSize();
    if (size) session.resize(size.rows, size.cols);
  };
  if (o.tty) {
    onResize();
    process.on('SIGWINCH', onResize);
  }
  // back-pressure: what the container does not read stays in our stdin, not in our memory
  const onData = (d: Buffer) => {
    if (session.write(d)) return;
    stdin.pause();
    session.onDrain(() => stdin.resume());
  };
  const onEnd = () => o.closeStdin && session.closeStdin();
  if (o.stdin) {
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
  }
  try {
    return await session.end;
  } finally {
    signals?.stop();
    process.off('SIGWINCH', onResize);
    if (o.stdin) {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
    }
    if (raw) stdin.setRawMode(false);
    // done with our stdin for good: a terminal's read handle would keep us alive
    if (o.stdin) stdin.destroy();
  }
}
