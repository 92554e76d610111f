/**
 * Pull, push and load progress as Docker prints it. On a terminal: one line per layer, redrawn
 * in place (`a1b2c3d4e5f6: Downloading [=====>      ]  1.2MB/4.5MB`). Elsewhere: a plain
 * line each time a layer's status changes (no bars, no byte counts). Quiet: nothing.
 */
import { humanSize } from './format.js';

export interface Progress {
  layer(id: string, status: string, current?: number, total?: number): void;
  line(text: string): void;
}

const BAR = 50;

export function bar(current: number, total: number): string {
  const frac = total > 0 ? Math.min(1, current / total) : 0;
  const filled = Math.floor(frac * BAR);
  const body = filled >= BAR ? '='.repeat(BAR) : `${'='.repeat(filled)}>${' '.repeat(BAR - filled - 1)}`;
  return `[${body}] ${humanSize(current, 4).padStart(7)}/${humanSize(total, 4)}`; // go-units HumanSize: %.4g
}

export function makeProgress(stream: NodeJS.WriteStream, quiet: boolean): Progress {
  if (quiet) return { layer: () => undefined, line: () => undefined };
  if (!stream.isTTY) {
    const last = new Map<string, string>();
    return {
      layer(id, status) {
        if (last.get(id) === status) return;
        last.set(id, status);
        stream.write(`${id}: ${status}\n`);
      },
      line: (t) => stream.write(`${t}\n`),
    };
  }
  const order: string[] = [];
  const text = new Map<string, string>();
  return {
    layer(id, status, current, total) {
      const shown = `${id}: ${status}${current !== undefined && total !== undefined && status !== 'Pull complete' ? ` ${bar(current, total)}` : ''}`;
      if (!text.has(id)) {
        order.push(id);
        text.set(id, shown);
        stream.write(`${shown}\n`);
        return;
      }
      if (text.get(id) === shown) return;
      text.set(id, shown);
      const up = order.length - order.indexOf(id);
      stream.write(`\x1b[${up}A\r\x1b[2K${shown}\x1b[${up}B\r`);
    },
    line(t) {
      // a whole line ends the block of layer lines above it: later layers start a new one
      order.length = 0;
      text.clear();
      stream.write(`${t}\n`);
    },
  };
}

/** Docker's progress reader draws a layer at most this often (plus its first and last state). */
export const REDRAW_MS = 100;

/**
 * `load`'s per-layer reports drawn as Docker 20.10 does (`a1b2c3d4e5f6: Loading layer [==>  ]
 * 1.2MB/5MB`), at most every REDRAW_MS per layer; the first and the complete state always.
 */
export function loadLayerProgress(p: Progress, now: () => number = Date.now): (id: string, read: number, total: number) => void {
  const drawn = new Map<string, number>();
  return (id, read, total) => {
    const t = now();
    const last = drawn.get(id);
    if (last !== undefined && read < total && t - last < REDRAW_MS) return;
    drawn.set(id, t);
    p.layer(id, 'Loading layer', read, total);
  };
}
