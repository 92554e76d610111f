/**
 * The Node side of the monitor protocol (native/PROTOCOL.md). startMonitor writes the spec,
 * starts native/build/tsdocker-monitor as a daemon (never our child) with one end of a
 * socketpair as its fd 3, and turns the text lines it sends into promises:
 *   pid <n>  -> handle.pid      ok / error ... -> handle.started      exit <n> -> handle.exit
 */
import { basename } from 'node:path';
import { spawnDetached, socketpair, closeFd } from '../native/index.js';
import { monitorPath } from '../native/paths.js';
import { TsdError, errorMessage } from '../sys/errors.js';
import { writeFileAtomic } from '../sys/fs.js';
import { renderSpec, type ContainerSpec } from './spec.js';
import { openChannel } from './monitor-channel.js';

export interface MonitorOptions {
  spec: ContainerSpec;
  specPath: string;
  mode: 'run' | 'exec';
  /** the container's stdio when not logged; -1 = /dev/null */
  stdio: [number, number, number];
}

export interface MonitorHandle {
  monitorPid: number;
  /** host pid of the container's first process (it waits for go()) */
  pid: Promise<number>;
  /** cgroups and network are ready: mount, pivot and exec */
  go(): void;
  /** before go(): an interface the container's init configures in its namespace before exec */
  netif(ifname: string, ip: string, prefix: number, gateway: string | undefined): void;
  /** resolves once the command was exec'd; rejects with a TsdError (exitCode 125/126/127) */
  started: Promise<void>;
  /** the container's exit status (128+n on signal n) */
  exit: Promise<number>;
  /** the foreground pty relay read the detach keys: the container runs on without us */
  detached: Promise<void>;
  /** we have seen `exit` and clean up ourselves: the monitor skips the hook */
  ack(): void;
  resize(rows: number, cols: number): void;
  /** close our end: the monitor carries on alone and runs the hook after the exit */
  detach(): void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let res!: (v: T) => void;
  let rej!: (e: Error) => void;
  const promise = new Promise<T>((a, b) => {
    res = a;
    rej = b;
  });
  promise.catch(() => {}); // a caller may never look at one of them; never an unhandled rejection
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve(v) {
      if (!d.settled) (d.settled = true), res(v);
    },
    reject(e) {
      if (!d.settled) (d.settled = true), rej(e);
    },
  };
  return d;
}

/** The TsdError for an `error <code> <errno> <message>` line. */
export function monitorError(code: number, errno: number, message: string): TsdError {
  if (code === 127) {
    return new TsdError('CMD_NOT_FOUND', message, { exitCode: 127, errno, hint: "check the command name and the image's PATH" });
  }
  if (code === 126) {
    return new TsdError('CMD_NOT_EXECUTABLE', message, { exitCode: 126, errno, hint: "the container's user cannot run the command (or enter the working directory): check modes and -u" });
  }
  return new TsdError('CONTAINER_START', `cannot start container: ${message}`, { exitCode: 125, errno });
}

function parseLine(line: string): { kind: string; args: string[]; rest: string } {
  const [kind = '', ...args] = line.split(' ');
  return { kind, args, rest: args.slice(2).join(' ') };
}

export async function startMonitor(opts: MonitorOptions): Promise<MonitorHandle> {
  await writeFileAtomic(opts.specPath, renderSpec(opts.spec), { mode: 0o600, durable: false });
  const [ours, theirs] = socketpair();
  let monitorPid: number;
  try {
    monitorPid = spawnDetached({
      path: monitorPath(),
      argv: ['tsdocker-monitor', opts.mode, opts.specPath],
      env: Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`),
      fds: [...opts.stdio, theirs],
    });
  } catch (err) {
    closeFd(ours);
    throw new TsdError('CONTAINER_START', `cannot start the monitor: ${errorMessage(err)}`, {
      cause: err,
      hint: 'build the native part with `make -C native`',
    });
  } finally {
    closeFd(theirs);
  }

  const pid = deferred<number>();
  const started = deferred<void>();
  const exit = deferred<number>();
  const detachedByKeys = deferred<void>();
  let detached = false;
  const fail = (e: Error): void => {
    pid.reject(e);
    started.reject(e);
    exit.reject(e);
  };

  const onLine = (line: string): void => {
    const { kind, args, rest } = parseLine(line);
    if (kind === 'pid') pid.resolve(Number(args[0]));
    else if (kind === 'ok') started.resolve();
    else if (kind === 'error') fail(monitorError(Number(args[0]), Number(args[1]), rest));
    else if (kind === 'exit') exit.resolve(Number(args[0]));
    else if (kind === 'detached') detachedByKeys.resolve();
  };
  const onClose = (): void => {
    const name = basename(opts.specPath);
    if (detached) {
      fail(new TsdError('STATE', 'detached from the monitor'));
      return;
    }
    if (!pid.settled || !started.settled) {
      fail(
        new TsdError('CONTAINER_START', `the container monitor (pid ${monitorPid}) exited before the container started`, {
          hint: `run with TSDOCKER_LOG_LEVEL=debug; spec ${name}`,
        }),
      );
    } else {
      exit.reject(new TsdError('STATE', `the container monitor (pid ${monitorPid}) went away before the container exited`));
    }
  };
  const channel = openChannel(ours, onLine, onClose);
  const send = channel.send;
  return {
    monitorPid,
    pid: pid.promise,
    started: started.promise,
    exit: exit.promise,
    detached: detachedByKeys.promise,
    go: () => send('go'),
    netif: (ifname, ip, prefix, gateway) => send(`netif ${ifname} ${ip} ${prefix} ${gateway ?? '-'}`),
    ack: () => send('ack'),
    resize: (rows, cols) => send(`resize ${Math.trunc(rows)} ${Math.trunc(cols)}`),
    detach: () => {
      detached = true;
      channel.close();
    },
  };
}
