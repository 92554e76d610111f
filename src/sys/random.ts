/**
 * Random ids without node:crypto: loading that module costs a start ~3.5 ms (it pulls in
 * streams and the whole crypto binding), and ids need only unpredictable bytes, which the
 * kernel's /dev/urandom gives (the same getrandom source node:crypto uses). Bytes are read
 * in one pool per process, so a command that makes several ids opens the device once.
 */
import { closeSync, openSync, readSync } from 'node:fs';

let pool = Buffer.alloc(0);
let used = 0;

export function randomBytes(n: number): Buffer {
  if (used + n > pool.length) {
    pool = Buffer.alloc(Math.max(256, n));
    const fd = openSync('/dev/urandom', 'r');
    try {
      let got = 0;
      while (got < pool.length) got += readSync(fd, pool, got, pool.length - got, null);
    } finally {
      closeSync(fd);
    }
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + n));
  pool.fill(0, used, used + n);
  used += n;
  return out;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** A uniform integer in [0, max), max <= 2^32 (rejection sampling: no modulo bias). */
export function randomInt(max: number): number {
  const limit = Math.floor(0x1_0000_0000 / max) * max;
  for (;;) {
    const v = randomBytes(4).readUInt32LE(0);
    if (v < limit) return v % max;
  }
}
