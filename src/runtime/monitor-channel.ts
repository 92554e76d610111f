/**
 * The CLI's end of the socketpair to a container's monitor: lines each way (native/PROTOCOL.md).
 *
 * A CLI reads it through Node's thread pool (fs.read) and writes it with write(2): a
 * net.Socket would load `net` and Node's stream modules, ~4 ms of every `run` and `exec`, for
 * a handful of short lines. One read is pending while the channel is open (it keeps the event
 * loop alive, as the socket did) and holds one of the pool's 4 threads: fine for a CLI with one
 * container. A long-lived server (`tsdocker serve`, with one channel per exec it runs) would
 * run out of threads, so it asks for sockets on the event loop instead (socketChannels).
 * close() shuts the socket down, so the pending read returns at once; the descriptor is
 * closed only then, never under a read in flight. At process exit every channel still open is
 * shut down too: Node joins its pool's threads as it exits, and one blocked in a read of a
 * monitor that lives on (an OCI container's, a detached run's) would hold the exit forever.
 */
import { closeSync, read, writeSync } from 'node:fs';
import { shutdownFd } from '../native/index.js';
import { nodeNet } from '../sys/lazy-net.js';

export interface Channel {
  send(line: string): void;
  close(): void;
}

let sockets = false;
/** the descriptors of the pool channels still open */
const open = new Set<number>();
let exitHook = false;

/** A server process: channels on the event loop (net.Socket), not on the thread pool. */
export function socketChannels(): void {
  sockets = true;
}

export function openChannel(fd: number, onLine: (line: string) => void, onClose: () => void): Channel {
  return sockets ? socketChannel(fd, onLine, onClose) : poolChannel(fd, onLine, onClose);
}

/** Whole lines out of the bytes read so far (split on the byte \n, so UTF-8 stays whole). */
function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => void {
  let partial: Buffer[] = [];
  return (chunk) => {
    let nl: number;
    while ((nl = chunk.indexOf(10)) >= 0) {
      const line = Buffer.concat([...partial, chunk.subarray(0, nl)]).toString('utf8');
      partial = [];
      chunk = chunk.subarray(nl + 1);
      onLine(line);
    }
    if (chunk.length) partial.push(Buffer.from(chunk)); // a copy: the read buffer is reused
  };
}

function poolChannel(fd: number, onLine: (line: string) => void, onClose: () => void): Channel {
  const buf = Buffer.allocUnsafe(4096);
  const take = lineSplitter(onLine);
  let writable = true;
  open.add(fd);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const d of open) shutdownFd(d);
    });
  }
  const next = (): void =>
    read(fd, buf, 0, buf.length, null, (err, n) => {
      if (err?.code === 'EINTR' || err?.code === 'EAGAIN') return next();
      if (err || n === 0) {
        writable = false;
        open.delete(fd);
        closeSync(fd);
        onClose();
        return;
      }
      take(buf.subarray(0, n));
      next();
    });
  next();
  return {
    send(line) {
      if (!writable) return;
      try {
        writeSync(fd, `${line}\n`);
      } catch {
        /* the monitor is gone: its EOF comes through the read */
      }
    },
    close() {
      if (!writable) return;
      writable = false;
      shutdownFd(fd);
    },
  };
}

function socketChannel(fd: number, onLine: (line: string) => void, onClose: () => void): Channel {
  const sock = new (nodeNet().Socket)({ fd, readable: true, writable: true });
  const take = lineSplitter(onLine);
  sock.on('data', (chunk: Buffer) => take(chunk));
  sock.on('error', () => {
    /* EPIPE/ECONNRESET: reported through 'close' */
  });
  sock.on('close', onClose);
  return {
    send(line) {
      if (!sock.destroyed && sock.writable) sock.write(`${line}\n`);
    },
    close() {
      sock.destroy();
    },
  };
}
