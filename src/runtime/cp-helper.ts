/**
 * cp for a container that is not running: run as `unshare --mount --propagation private --
 * node cp-helper.js JSON`, so its root (the overlay of the image layers and the container's
 * upper dir, with its volumes and bind mounts on top, found inside the root as cp-fs does)
 * exists only in this process's mount namespace and vanishes with it, even after a crash.
 * Input: { lower: string[] (top first), upper, work, mnt, mounts: [{source, destination}],
 * op: 'stat' | 'pack' | 'unpack', path, name?, follow?, file?, owner? }.
 * stat prints the PathStat as JSON (or `null`); pack writes the tar to `file`; unpack reads it from `file`.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { O_PATH, closeFd, openAcross } from '../native/index.js';
import { packFrom, statIn, unpackInto } from './cp-fs.js';
import { byteReader, readTar } from '../image/tar-read.js';

export interface CpHelperInput {
  lower: string[];
  upper: string;
  work: string;
  mnt: string;
  mounts: { source: string; destination: string }[];
  /** export: the root alone (no volumes), read-only, the upper dir as the top lower layer */
  op: 'stat' | 'pack' | 'unpack' | 'export';
  path: string;
  name?: string;
  follow?: boolean;
  file?: string;
  owner?: { uid: number; gid: number };
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as CpHelperInput;
  const m = input.mnt;
  if (input.op === 'export') {
    // read-only with the upper dir as a lower layer: safe while the container runs on it
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${[input.upper, ...input.lower].join(':')}`, m]);
    await pipeline(Readable.from(packFrom(m, '/', '', false)), createWriteStream(input.file!, { flags: 'wx', mode: 0o600 }));
    return;
  }
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${input.lower.join(':')},upperdir=${input.upper},workdir=${input.work}`, m]);
  for (const mnt of input.mounts) {
    const fd = openAcross(m, mnt.destination, O_PATH);
    if (fd === undefined) continue; // made by the monitor at start: nothing of it is in the root now
    try {
      execFileSync('mount', ['--bind', mnt.source, `/proc/${process.pid}/fd/${fd}`]);
    } finally {
      closeFd(fd);
    }
  }
  if (input.op === 'stat') {
    process.stdout.write(`${JSON.stringify(statIn(m, input.path) ?? null)}\n`);
  } else if (input.op === 'pack') {
    await pipeline(Readable.from(packFrom(m, input.path, input.name!, input.follow)), createWriteStream(input.file!, { flags: 'wx', mode: 0o600 }));
  } else {
    const tar = readTar(byteReader(createReadStream(input.file!) as AsyncIterable<Buffer>), 'archive');
    await unpackInto(m, input.path, tar, { owner: input.owner });
  }
}

if (process.argv[1]?.endsWith('cp-helper.js')) {
  main().catch((err: Error & { code?: string; exitCode?: number; hint?: string }) => {
    // the caller rebuilds the error from this line (cp.ts)
    process.stdout.write(`${JSON.stringify({ error: err.message, code: err.name === 'TsdError' ? err.code : undefined, exitCode: err.exitCode, hint: err.hint })}\n`);
    process.exitCode = 3;
  });
}
