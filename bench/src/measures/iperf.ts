/** iperf3 and ping, run from the host's binaries inside a given network namespace. */
import { background, must, run, sleep, stop, type Background } from '../proc.js';
import { summarize, type Summary } from '../stats.js';

export interface NetPlan {
  runs: number;
  seconds: number;
  pings: number;
}

/** argv prefix that enters the network namespace of pid */
export const inNet = (pid: number): string[] => ['nsenter', `--net=/proc/${pid}/ns/net`, '--'];

export async function iperfServer(netPid: number, port = 5201): Promise<Background> {
  const srv = background([...inNet(netPid), 'iperf3', '-s', '-p', String(port)]);
  for (let i = 0; i < 100; i++) {
    const r = await run([...inNet(netPid), 'ss', '-Hltn', `sport = :${port}`]);
    if (r.stdout.trim()) return srv;
    await sleep(50);
  }
  await stop(srv.pid);
  throw new Error('iperf3 server did not start listening');
}

export async function withServer<T>(netPid: number, fn: () => Promise<T>): Promise<T> {
  const srv = await iperfServer(netPid);
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
