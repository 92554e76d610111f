/** A container's interface counters from /proc/PID/net/dev (which shows the namespace of PID), lo left out. */
import { readFileSync } from 'node:fs';

export interface IfCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** Interface name -> counters; empty when the process is gone. */
export function interfaceCounters(pid: number | undefined): Record<string, IfCounters> {
  const out: Record<string, IfCounters> = {};
  if (!pid) return out;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    const n = (i: number) => f[i] ?? 0;
    out[m[1]!] = { rx_bytes: n(0), rx_packets: n(1), rx_errors: n(2), rx_dropped: n(3), tx_bytes: n(8), tx_packets: n(9), tx_errors: n(10), tx_dropped: n(11) };
  }
  return out;
}
