/**
 * The client side of a monitor's attach socket (native/src/attach.c, native/PROTOCOL.md):
 * a header line naming the streams wanted and the detach keys, then frames both ways with
 * Docker's 8-byte stream header. The monitor sends 1 (stdout, or the pty) and 2 (stderr),
 * then 5: `exit <status>` when the container exits, or `detached` when our stdin carried the
 * detach keys. We send 0 (stdin), 3 (close the container's stdin) and 4 (`rows cols`).
 */
import net from 'node:net';
import { containerFiles } from '../state/containers.js';
import { TsdError } from '../sys/errors.js';

export type AttachEnd = { kind: 'exit'; status: number } | { kind: 'detached' } | { kind: 'closed' };

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** the detach sequence (detach-keys.ts); empty: none */
  detachKeys: Buffer;
  onOutput(stream: 1 | 2, data: Buffer): void;
}

export interface AttachSession {
  end: Promise<AttachEnd>;
  /** false: the monitor is behind (the container does not read its stdin); wait for onDrain */
  write(data: Buffer): boolean;
  onDrain(fn: () => void): void;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** let go (a client that leaves): the container runs on */
  close(): void;
}

export const FRAME = { stdin: 0, stdout: 1, stderr: 2, closeStdin: 3, resize: 4, end: 5 } as const;

export function frame(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Split a byte stream into frames; returns the bytes of an incomplete frame that remain. */
export function splitFrames(buf: Buffer, onFrame: (type: number, payload: Buffer) => void): Buffer {
  let off = 0;
  while (buf.length - off >= 8) {
    const n = buf.readUInt32BE(off + 4);
    if (buf.length - off < 8 + n) break;
    onFrame(buf[off]!, buf.subarray(off + 8, off + 8 + n));
    off += 8 + n;
  }
  return buf.subarray(off);
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(path);
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

export async function openAttach(id: string, req: AttachRequest): Promise<AttachSession> {
  let sock: net.Socket;
  try {
    sock = await connect(containerFiles.attach(id));
  } catch (err) {
    throw new TsdError('CONTAINER_NOT_RUNNING', `cannot attach to container ${id.slice(0, 12)}: its monitor serves no attach socket (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      exitCode: 1,
      hint: 'a container started in the foreground with --rm, or by an older tsdocker, cannot be attached; `tsdocker logs -f` shows its output',
      cause: err,
    });
  }
  const keys = req.detachKeys.length ? req.detachKeys.toString('hex') : '-';
  await new Promise<void>((resolve) => sock.write(`attach ${+req.stdin} ${+req.stdout} ${+req.stderr} ${keys}\n`, () => resolve()));
  let rest: Buffer = Buffer.alloc(0);
  let ended: AttachEnd = { kind: 'closed' };
  const end = new Promise<AttachEnd>((resolve) => {
    sock.on('close', () => resolve(ended));
  });
  sock.on('error', () => {}); // the end is reported through 'close'
  sock.on('data', (chunk: Buffer) => {
    rest = splitFrames(rest.length ? Buffer.concat([rest, chunk]) : chunk, (type, payload) => {
      if (type === FRAME.stdout || type === FRAME.stderr) req.onOutput(type, payload);
      else if (type === FRAME.end) {
        const text = payload.toString();
        const m = /^exit (\d+)$/.exec(text);
        ended = m ? { kind: 'exit', status: Number(m[1]) } : text === 'detached' ? { kind: 'detached' } : ended;
      }
    });
  });
  const send = (type: number, payload: Buffer): boolean => (!sock.destroyed && sock.writable ? sock.write(frame(type, payload)) : true);
  return {
    end,
    write: (data) => {
      let room = true;
      for (let i = 0; i < data.length; i += 16384) room = send(FRAME.stdin, data.subarray(i, i + 16384));
      return room;
    },
    onDrain: (fn) => {
      const done = () => {
        sock.off('drain', done).off('close', done);
        fn();
      };
      sock.on('drain', done).on('close', done);
    },
    closeStdin: () => send(FRAME.closeStdin, Buffer.alloc(0)),
    resize: (rows, cols) => send(FRAME.resize, Buffer.from(`${Math.trunc(rows)} ${Math.trunc(cols)}`)),
    close: () => sock.end(), // what was written goes first; the monitor then closes its side
  };
}
