/** Container lifecycle commands: ps, start, stop, kill, rm, wait, inspect, logs, container prune. */
import type { Command } from 'commander';
import { collect, eachRef, out, parseIntArg, reportOne, requireRoot } from './common.js';
import { ago, humanDuration, table, truncate } from '../format.js';
import { ExitError, TsdError, errorMessage } from '../../sys/errors.js';
import type { ContainerView } from '../../state/containers.js';

function statusText(v: ContainerView, exitCode: number): string {
  if (v.status === 'running') return `Up ${humanDuration(Date.now() - Date.parse(v.state!.startedAt))}`;
  if (v.status === 'created') return 'Created';
  return `Exited (${exitCode}) ${v.exit ? ago(v.exit.finishedAt) : ''}`.trimEnd();
}

export function register(program: Command): void {
  program
    .command('ps')
    .description('List containers')
    .option('-a, --all', 'show all containers (default shows just running)')
    .option('-q, --quiet', 'only display container ids')
    .option('--no-trunc', 'do not truncate output')
    .option('--format <format>', 'output format: table or json')
    .action(async (f: { all?: boolean; quiet?: boolean; trunc: boolean; format?: string }) => {
      requireRoot();
      const { listContainers } = await import('../../state/containers.js');
      const { reconcile, exitCodeOf } = await import('../../runtime/lifecycle.js');
      const { formatPorts } = await import('../../net/index.js');
      await reconcile();
      const all = (await listContainers()).filter((v) => f.all || v.status === 'running');
      if (f.quiet) {
        for (const v of all) out(f.trunc ? v.config.id.slice(0, 12) : v.config.id);
        return;
      }
      const rows = all.map((v) => ({
        ID: f.trunc ? v.config.id.slice(0, 12) : v.config.id,
        Image: v.config.image.ref,
        Command: [v.config.path, ...v.config.args].join(' '),
        CreatedAt: v.config.created,
        RunningFor: ago(v.config.created),
        Status: statusText(v, exitCodeOf(v)),
        State: v.status,
        Ports: v.status === 'running' ? formatPorts(v.state?.network) : '',
        Names: v.config.name,
      }));
      if (f.format === 'json') {
        for (const r of rows) out(JSON.stringify(r));
        return;
      }
      if (f.format && f.format !== 'table') {
        throw new TsdError('BAD_ARGS', `unknown format "${f.format}"`, { hint: 'use --format table or --format json' });
      }
      out(
        table(
          ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
          rows.map((r) => [r.ID, r.Image, f.trunc ? `"${truncate(r.Command, 20)}"` : `"${r.Command}"`, r.RunningFor, r.Status, r.Ports, r.Names]),
        ),
      );
    });

  program
    .command('start')
    .description('Start one or more stopped containers')
    .argument('<container...>')
    .action(async (refs: string[]) => {
      requireRoot();
      const { startExisting } = await import('../../runtime/restart.js');
      await eachRef(refs, async (ref) => {
        await startExisting(ref);
        return ref;
      });
    });

  program
    .command('stop')
    .description('Stop one or more running containers (SIGTERM, then SIGKILL)')
    .option('-t, --time <seconds>', 'seconds to wait before killing', '10')
    .option('-s, --signal <signal>', 'signal to send first', 'SIGTERM')
    .argument('<container...>')
    .action(async (refs: string[], f: { time: string; signal: string }) => {
      requireRoot();
      const secs = parseIntArg('--time', f.time, 0);
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
        await removeContainer(ref, { force: Boolean(f.force), volumes: Boolean(f.volumes) });
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
    .command('inspect')
    .description('Show low-level information about containers or images as JSON')
    .argument('<name...>', 'container or image (containers are looked up first, as Docker does)')
    .action(async (refs: string[]) => {
      requireRoot();
      const { findContainer } = await import('../../state/containers.js');
      const { inspectContainer } = await import('../../runtime/inspect.js');
      const { resolveImage } = await import('../../image/index.js');
      const found: unknown[] = [];
      let failed: unknown;
      for (const ref of refs) {
        try {
          found.push(inspectContainer(await findContainer(ref)));
        } catch (err) {
          if (!(err instanceof TsdError) || err.code !== 'CONTAINER_NOT_FOUND') {
            failed = err;
            reportOne(ref, err);
            continue;
          }
          try {
            const img = await resolveImage(ref);
            found.push({ Id: img.id, RepoTags: img.repoTags, Created: img.created, Size: img.size, Config: img.config, Os: 'linux' });
          } catch {
            failed = err;
            process.stderr.write(`tsdocker: No such object: ${ref}\n`);
          }
        }
      }
      out(JSON.stringify(found, null, 4));
      if (failed) throw new ExitError(1);
    });

  program
    .command('logs')
    .description('Fetch the logs of a (detached) container')
    .option('-f, --follow', 'follow log output')
    .option('-n, --tail <lines>', 'number of lines to show from the end ("all" for all)', 'all')
    .option('-t, --timestamps', 'show timestamps')
    .argument('<container>')
    .action(async (ref: string, f: { follow?: boolean; tail: string; timestamps?: boolean }) => {
      requireRoot();
      const { showLogs } = await import('../../runtime/logs.js');
      await showLogs(ref, {
        follow: Boolean(f.follow),
        tail: f.tail === 'all' ? undefined : parseIntArg('--tail', f.tail, 0),
        timestamps: Boolean(f.timestamps),
        write: (stream, text) => (stream === 'stdout' ? process.stdout : process.stderr).write(text),
      });
    });

  const container = program.command('container').description('Manage containers');
  container
    .command('prune')
    .description('Remove all stopped containers')
    .option('-f, --force', 'do not prompt for confirmation (tsdocker never prompts)')
    .action(async () => {
      requireRoot();
      const { pruneContainers } = await import('../../runtime/lifecycle.js');
      const removed = await pruneContainers();
      out('Deleted Containers:');
      for (const id of removed) out(id);
      out('');
      out(`Total reclaimed containers: ${removed.length}`);
    });

  const internal = program.command('internal', { hidden: true }).description('commands run by tsdocker itself');
  internal
    .command('cleanup')
    .argument('<id>')
    .action(async (id: string) => {
      const { cleanupAfterExit } = await import('../../runtime/lifecycle.js');
      await cleanupAfterExit(id, { fromMonitor: true });
    });
  // run by the monitors of containers on user networks when the embedded DNS is gone
  internal.command('dns').action(async () => {
    const { superviseDns } = await import('../../net/index.js');
    await superviseDns();
  });
  void collect;
}
