/** `tsdocker update [flags] CONTAINER...`: new resource limits, applied to running containers at once. */
import type { Command } from 'commander';
import { eachRef, requireRoot } from './common.js';
import { TsdError } from '../../sys/errors.js';

interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
}

export function register(program: Command): void {
  program
    .command('update')
    .description('Update configuration of one or more containers (resource limits; running ones at once)')
    .argument('<container...>')
    .option('-m, --memory <bytes>', 'memory limit, e.g. 512m')
    .option('--memory-swap <bytes>', 'memory plus swap limit; -1 for unlimited swap')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--cpus <number>', 'number of CPUs')
    .option('-c, --cpu-shares <number>', 'CPU shares (relative weight)')
    .option('--cpu-quota <microseconds>', 'CFS quota per period (-1 for none)')
    .option('--cpu-period <microseconds>', 'CFS period')
    .option('--cpuset-cpus <list>', 'CPUs the container may run on')
    .option('--pids-limit <number>', 'process limit (-1 for unlimited)')
    .action(async (refs: string[], f: UpdateFlags) => {
      requireRoot();
      const { updateContainer, UPDATE_KEYS } = await import('../../runtime/update.js');
      const change = Object.fromEntries(UPDATE_KEYS.filter((k) => f[k] !== undefined).map((k) => [k, f[k]]));
      if (!Object.keys(change).length) {
        throw new TsdError('BAD_ARGS', 'you must provide one or more flags when using this command', { exitCode: 1, hint: 'e.g. tsdocker update --memory 256m CONTAINER' });
      }
      await eachRef(refs, async (ref) => {
        await updateContainer(ref, change);
        return ref;
      });
    });
}
