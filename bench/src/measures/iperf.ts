/**
 * iperf3, ping and rr (TCP request/response, bench/helpers/rr.c), run from the host's
 * binaries inside a given network namespace.
 */
import { background, must, run, sleep, stop, type Background } from '../proc.js';
import { summarize, type Summary } from '../stats.js';

export interface NetPlan {
  runs: number;
  seconds: number;
  pings: number;
  /** round trips per rr run */
  trips: number;
}

let rrBin: string | undefined;
/**
 * rr's client and server share one CPU: on this VM a wakeup across CPUs costs ~70 µs and
 * made the figure bimodal (5 or 74 µs, depending on where the scheduler put them).
 */
const PIN = ['taskset', '-c', '0'];
let rrSkip = 'rr was not built';

/** Builds bench/helpers/rr.c with the machine's cc; without cc the rr figures are skipped. */
export async function buildRr(src: string, out: string): Promise<void> {
  const r = await run(['cc', '-O2', '-o', out, src]);
  if (r.code === 0) rrBin = out;
  else rrSkip = `cc could not build ${src}: ${(r.stderr || 'no cc').trim().split('\n')[0]}`;
}

/** argv prefix that enters the network namespace of pid */
export const inNet = (pid: number): string[] => ['nsenter', `--net=/proc/${pid}/ns/net`, '--'];

async function serverIn(netPid: number, argv: string[], port: number): Promise<Background> {
  const srv = background([...inNet(netPid), ...argv]);
  for (let i = 0; i < 100; i++) {
    const r = await run([...inNet(netPid), 'ss', '-Hltn', `sport = :${port}`]);
    if (r.stdout.trim()) return srv;
    await sleep(50);
  }
  await stop(srv.pid);
  throw new Error(`${argv[0]} server did not start listening`);
}

/** Runs fn while an iperf3 server (or, with rr, an rr echo server) listens on 5201 in netPid. */
export async function withServer<T>(netPid: number, fn: () => Promise<T>, rr = false): Promise<T> {
  if (rr && !rrBin) throw new Error(rrSkip);
  const argv = rr && rrBin ? [...PIN, rrBin, 'server', '5201'] : ['iperf3', '-s', '-p', '5201'];
  const srv = await serverIn(netPid, argv, 5201);
  try {
    return await fn();
  } finally {
    await stop(srv.pid, 2000);
  }
}

/** One TCP stream for plan.seconds, plan.runs times; Gbit/s received. */
export async function throughput(fromPid: number, host: string, port: number, plan: NetPlan): Promise<Summary> {
  const values: number[] = [];
  for (let i = 0; i < plan.runs; i++) {
    const out = await must([...inNet(fromPid), 'iperf3', '-c', host, '-p', String(port), '-t', String(plan.seconds), '-J'], {
      timeoutMs: (plan.seconds + 30) * 1000,
    });
    const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
    const bps = j.end?.sum_received?.bits_per_second;
    if (!bps) throw new Error(`iperf3: ${j.error ?? 'no result'}`);
    values.push(bps / 1e9);
  }
  return summarize(values, 'Gbit/s');
}

/** Round-trip time with busybox ping -A (next echo as soon as the reply is back); µs. */
export async function rtt(fromPid: number, host: string, plan: NetPlan): Promise<Summary> {
  await run([...inNet(fromPid), '/bin/busybox', 'ping', '-c', '3', '-q', '-A', host]); // ARP, caches
  const values: number[] = [];
  for (let i = 0; i < plan.runs; i++) {
    const out = await must([...inNet(fromPid), '/bin/busybox', 'ping', '-c', String(plan.pings), '-q', '-A', host], { timeoutMs: 60_000 });
    const m = /min\/avg\/max = [\d.]+\/([\d.]+)\//.exec(out);
    if (!m?.[1]) throw new Error(`ping: no round-trip line: ${out.trim().slice(-120)}`);
    values.push(Number(m[1]) * 1000);
  }
  return summarize(values, 'µs');
}

/** TCP request/response latency (1 byte each way, TCP_NODELAY): median of each run's median, µs. */
export async function latency(fromPid: number, host: string, port: number, plan: NetPlan): Promise<Summary> {
  if (!rrBin) throw new Error(rrSkip);
  const values: number[] = [];
  for (let i = 0; i < plan.runs; i++) {
    const out = await must([...inNet(fromPid), ...PIN, rrBin, 'client', host, String(port), String(plan.trips)], { timeoutMs: 120_000 });
    const med = Number(out.trim().split(' ')[0]);
    if (!Number.isFinite(med)) throw new Error(`rr: unexpected output ${out.trim()}`);
    values.push(med);
  }
  return summarize(values, 'µs');
}
