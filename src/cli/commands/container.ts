/** Container lifecycle commands: ps, start, stop, kill, rm, wait, inspect, logs, container prune. */
import type { Command } from 'commander';
import { collect, confirm, eachRef, out, parseIntArg, requireRoot } from './common.js';
import { ExitError, TsdError, errorMessage } from '../../sys/errors.js';
import { humanSize } from '../format.js';
import { mark } from '../../sys/trace.js';
import { writeOut } from '../stdout.js';

export function register(program: Command): void {
  program
    .command('ps')
    .description('List containers')
    .option('-a, --all', 'show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'filter output: ancestor, before, expose, exited, health, id, label, name, network, publish, since, status, volume (repeatable)', collect, [])
    .option('--format <format>', 'Go template, "table TEMPLATE" or "json" (fields: ID Image Command CreatedAt RunningFor Ports State Status Size Names Labels Label Mounts Networks LocalVolumes)')
    .option('-n, --last <n>', 'show the n last created containers (all states)', '-1')
    .option('-l, --latest', 'show the latest created container (all states)')
    .option('--no-trunc', 'do not truncate output')
    .option('-q, --quiet', 'only display container ids')
    .option('-s, --size', 'display total file sizes (the writable layer, and virtual: with the image)')
    .action(async (f: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string; filter: string[]; last: string; latest?: boolean; size?: boolean }) => {
      requireRoot();
      const { listContainers, listEntries } = await import('../../state/containers.js');
      const { reconcile } = await import('../../runtime/lifecycle.js');
      const { PS_SPEC, containerRow } = await import('../lists/containers.js');
      const { PS_FILTERS, filterContainers } = await import('../../query/containers.js');
      const { chooseFormat, formatList } = await import('../template/index.js');
      const { parseFilters } = await import('../../query/filters.js');
      const filters = parseFilters(f.filter, PS_FILTERS);
      const format = chooseFormat(f.format, Boolean(f.quiet), { ...PS_SPEC, table: f.size ? `${PS_SPEC.table}\t{{.Size}}` : PS_SPEC.table });
      const last = f.latest ? 1 : parseIntArg('--last', f.last, -1);
      // one listing of the records, unless reconcile changed them
      mark('ps: modules loaded');
      const entries = await listEntries();
      mark('ps: records read');
      const changed = await reconcile(entries);
      mark('ps: reconciled');
      let views = await filterContainers(await listContainers(changed ? undefined : entries), filters, Boolean(f.all) || last > 0);
      if (last >= 0) views = views.slice(0, last);
      mark('ps: selected');
      const sizes = f.size ? await (await import('../../runtime/disk-usage.js')).containerSizes(views) : undefined;
      const rows = views.map((v) => containerRow(v, f.trunc, sizes?.get(v.config.id)));
      mark('ps: rows');
      writeOut(formatList(format, rows, PS_SPEC));
      mark('ps: written');
    });

  program
    .command('start')
    .description('Start one or more stopped containers')
    .option('--all-restart', 'start every stopped container whose restart policy dockerd would honour at its start (always; unless-stopped if not stopped by hand): for a boot unit')
    .option('-a, --attach', "attach STDOUT/STDERR and forward signals; exit with the container's status")
    .option('-i, --interactive', "attach the container's STDIN")
    .option('--detach-keys <keys>', 'override the key sequence for detaching a container (default "ctrl-p,ctrl-q")')
    .argument('[container...]')
    .action(async (refs: string[], f: { allRestart?: boolean; attach?: boolean; interactive?: boolean; detachKeys?: string }) => {
      requireRoot();
      const { startAllRestart, startExisting } = await import('../../runtime/restart.js');
      if (f.allRestart) {
        if (refs.length) throw new TsdError('BAD_ARGS', '--all-restart takes no container', { hint: 'tsdocker start --all-restart' });
        for (const name of await startAllRestart()) out(name);
        return;
      }
      if (!refs.length) throw new TsdError('BAD_ARGS', '"tsdocker start" requires at least 1 argument.', { hint: 'tsdocker start CONTAINER..., or --all-restart' });
      if (f.attach || f.interactive) {
        if (refs.length > 1) throw new TsdError('BAD_ARGS', 'you cannot start and attach multiple containers at once', { exitCode: 1, hint: 'start -a one container' });
        const { startAttached } = await import('./attach.js');
        const code = await startAttached(refs[0]!, f);
        if (code !== 0) throw new ExitError(code);
        return;
      }
      await eachRef(refs, async (ref) => {
        await startExisting(ref);
        return ref;
      });
    });

  program
    .command('stop')
    .description('Stop one or more running containers (SIGTERM, then SIGKILL)')
    .option('-t, --time <seconds>', "seconds to wait before killing (default: the container's --stop-timeout, else 10)")
    .option('-s, --signal <signal>', "signal to send first (default: the container's stop signal, else SIGTERM)")
    .argument('<container...>')
    .action(async (refs: string[], f: { time?: string; signal?: string }) => {
      requireRoot();
      const secs = f.time === undefined ? undefined : parseIntArg('--time', f.time, 0);
      const { stopContainer } = await import('../../runtime/lifecycle.js');
      await eachRef(refs, async (ref) => {
        await stopContainer(ref, secs, f.signal);
        return ref;
      });
    });

  program
    .command('kill')
    .description('Send a signal to one or more running containers')
    .option('-s, --signal <signal>', 'signal to send', 'SIGKILL')
    .argument('<container...>')
    .action(async (refs: string[], f: { signal: string }) => {
      requireRoot();
      const { killContainer, parseSignal } = await import('../../runtime/lifecycle.js');
      parseSignal(f.signal);
      await eachRef(refs, async (ref) => {
        await killContainer(ref, f.signal);
        return ref;
      });
    });

  program
    .command('rm')
    .description('Remove one or more containers')
    .option('-f, --force', 'kill a running container first')
    .option('-v, --volumes', 'remove anonymous volumes of the container')
    .argument('<container...>')
    .action(async (refs: string[], f: { force?: boolean; volumes?: boolean }) => {
      requireRoot();
      const { removeContainer } = await import('../../runtime/lifecycle.js');
      await eachRef(refs, async (ref) => {
        try {
          // inline: the CLI waits for the directory to go anyway (no thread-pool trip per file)
          await removeContainer(ref, { force: Boolean(f.force), volumes: Boolean(f.volumes), inline: true });
        } catch (err) {
          // Docker: `rm -f` of a container that does not exist says so but is not an error
          if (f.force && err instanceof TsdError && err.code === 'CONTAINER_NOT_FOUND') {
            process.stderr.write(`tsdocker: ${err.message}\n`);
            return undefined;
          }
          throw err;
        }
        return ref;
      });
    });

  program
    .command('wait')
    .description('Block until containers stop, then print their exit codes')
    .argument('<container...>')
    .action(async (refs: string[]) => {
      requireRoot();
      const { findContainer, readContainer } = await import('../../state/containers.js');
      const { waitForExit, exitCodeOf } = await import('../../runtime/lifecycle.js');
      await eachRef(refs, async (ref) => {
        const v = await findContainer(ref);
        await waitForExit(v.config.id);
        const after = await readContainer(v.config.id);
        return String(after ? exitCodeOf(after) : 0);
      });
    });

  program
    .command('logs')
    .description('Fetch the logs of a container')
    .option('--details', 'show extra details provided to logs (none: a space before each line, as Docker)')
    .option('-f, --follow', 'follow log output')
    .option('--since <time>', 'show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)')
    .option('-n, --tail <lines>', 'number of lines to show from the end ("all", or negative, for all)', 'all')
    .option('-t, --timestamps', 'show timestamps')
    .option('--until <time>', 'show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m)')
    .argument('<container>')
    .action(async (ref: string, f: { follow?: boolean; tail: string; timestamps?: boolean; since?: string; until?: string; details?: boolean }) => {
      requireRoot();
      const { showLogs, parseLogTime } = await import('../../runtime/logs.js');
      await showLogs(ref, {
        follow: Boolean(f.follow),
        tail: f.tail === 'all' ? undefined : parseIntArg('--tail', f.tail, -Infinity),
        timestamps: Boolean(f.timestamps),
        ...(f.since !== undefined ? { since: parseLogTime('since', f.since) } : {}),
        ...(f.until !== undefined ? { until: parseLogTime('until', f.until) } : {}),
        details: Boolean(f.details),
        write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
      });
    });

  const container = program.command('container').description('Manage containers');
  container
    .command('prune')
    .description('Remove all stopped containers')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (f: { force?: boolean }) => {
      requireRoot();
      if (!confirm('WARNING! This will remove all stopped containers.', f.force)) return;
      const { pruneContainers } = await import('../../runtime/lifecycle.js');
      const r = await pruneContainers();
      if (r.removed.length) out(['Deleted Containers:', ...r.removed, ''].join('\n'));
      out(`Total reclaimed space: ${humanSize(r.bytes, 4)}`);
    });

  const internal = program.command('internal', { hidden: true }).description('commands run by tsdocker itself');
  internal
    .command('cleanup')
    .argument('<id>')
    .action(async (id: string) => {
      const { cleanupAfterExit } = await import('../../runtime/lifecycle.js');
      await cleanupAfterExit(id, { fromMonitor: true });
    });
  // exec'd by a monitor after its restart policy's back-off (native/src/restart.c)
  internal
    .command('restart')
    .argument('<id>')
    .action(async (id: string) => {
      const { restartByPolicy } = await import('../../runtime/restart.js');
      await restartByPolicy(id);
    });
  // run by the monitors of containers on user networks when the embedded DNS is gone
  internal.command('dns').action(async () => {
    const { superviseDns } = await import('../../net/index.js');
    await superviseDns();
  });
  void collect;
}

