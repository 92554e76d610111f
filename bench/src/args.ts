/** Command line of `npm run bench -- [options]`. */
import type { Scale } from './figures.js';
import type { Plan } from './stats.js';
import type { NetPlan } from './measures/iperf.js';

export interface Options {
  json: boolean;
  installPeers: boolean;
  quick: boolean;
  devImage: boolean;
  only: string[];
  start: Plan;
  loaded: Plan;
  net: NetPlan;
  scale: Scale;
  pull: Plan;
}

export const USAGE = `usage: npm run bench -- [--json] [--install-peers] [--quick] [--only tsdocker,docker,podman,runc,tsdocker-oci,bare,overlay,pull] [--dev-image]
  --json            print the results as JSON on stdout instead of the table
  --install-peers   apt-get install docker.io podman runc iperf3 where missing
  --quick           short run: fewer repetitions, 10/20 containers instead of 50/200
  --only LIST       measure only these columns (overlay, pull: only those measures)
  --dev-image       if images/busybox.tar is missing, build a stand-in from /bin/busybox`;

export function parseArgs(argv: readonly string[]): Options {
  const has = (f: string): boolean => argv.includes(f);
  const known = new Set(['--json', '--install-peers', '--quick', '--dev-image', '--only', '--help', '-h']);
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',').filter(Boolean) : [];
  for (const [i, a] of argv.entries()) {
    if (!known.has(a) && !(i === onlyAt + 1 && onlyAt >= 0)) throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  const quick = has('--quick');
  return {
    json: has('--json'),
    installPeers: has('--install-peers'),
    quick,
    devImage: has('--dev-image'),
    only,
    start: quick ? { warmup: 1, minRuns: 3, minMs: 0, maxRuns: 3 } : { warmup: 5, minRuns: 20, minMs: 5000, maxRuns: 50 },
    loaded: quick ? { warmup: 1, minRuns: 3, minMs: 0, maxRuns: 3 } : { warmup: 3, minRuns: 10, minMs: 0, maxRuns: 10 },
    net: quick ? { runs: 1, seconds: 2, pings: 50, trips: 2000 } : { runs: 5, seconds: 3, pings: 500, trips: 10000 },
    scale: quick ? { levels: [10, 20], burst: 10, overlayPerHost: 5 } : { levels: [50, 200], burst: 50, overlayPerHost: 20 },
    pull: quick ? { warmup: 1, minRuns: 3, minMs: 0, maxRuns: 3 } : { warmup: 1, minRuns: 5, minMs: 0, maxRuns: 5 },
  };
}
