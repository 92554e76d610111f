/**
 * The tsdocker CLI: global flags, command registration, and the one place that exits.
 * Failures map to Docker's exit codes: 125 for tsdocker's own failure (bad flags included),
 * 126/127 for a command that cannot be invoked / is not found, else the container's status.
 */
import { Command, CommanderError, Option } from 'commander';
import { ExitError, TsdError, fromSystemError } from '../sys/errors.js';
import { log, setLogFormat, setLogLevel } from '../sys/log.js';
import { setRoot } from '../state/paths.js';
import { setClusterFlags } from '../net/overlay/config.js';
import { registerAll, registerCommands } from './commands/index.js';
import { exitCodeFor } from './exit-codes.js';
import { mark, printTrace } from '../sys/trace.js';
import { basename } from 'node:path';
import { normalizeArgv } from './argv.js';
import { expandGroups } from './groups.js';
import { hookStdout, whenDrained } from './stdout.js';

/** The CLI; with argv, only the commands argv can reach are registered (see commands/index.ts). */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('tsdocker');
  program
    .description('A container runtime in TypeScript with networking built in')
    .version(process.env.npm_package_version ?? '0.1.0', '-v, --version')
    .option('--root <dir>', 'directory for all of tsdocker\'s state (env TSDOCKER_ROOT)', process.env.TSDOCKER_ROOT)
    .addOption(
      new Option('--log-level <level>', 'log level on stderr').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
    )
    .addOption(new Option('--log-format <format>', 'log lines on stderr: text ("WARNING: ...", the default) or json (pino)').choices(['text', 'json']))
    .option('-D, --debug', 'debug logging as JSON lines (--log-level debug --log-format json)')
    .option('--cluster-store <url>', 'overlay networks: etcd://HOST:PORT[,HOST:PORT...] (env TSDOCKER_CLUSTER_STORE, or <root>/cluster.json)')
    .option('--advertise-addr <ip>', "overlay networks: this host's address on the underlay (env TSDOCKER_ADVERTISE_ADDR)")
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s.startsWith('error: ') ? `tsdocker: ${s.slice(7)}` : s),
    })
    .hook('preAction', async (thisCommand, actionCommand) => {
      let top = actionCommand;
      while (top.parent && top.parent !== thisCommand) top = top.parent;
      commandName = top.name();
      const opts = thisCommand.opts<{ root?: string; logLevel?: string; logFormat?: string; debug?: boolean; clusterStore?: string; advertiseAddr?: string }>();
      if (opts.root) setRoot(opts.root);
      if (opts.debug) {
        setLogLevel('debug');
        setLogFormat('json');
      } else if (opts.logLevel) setLogLevel(opts.logLevel);
      if (opts.logFormat) setLogFormat(opts.logFormat);
      setClusterFlags({ store: opts.clusterStore, advertise: opts.advertiseAddr });
      await restartOverlayAgent();
    });
  await (argv ? registerCommands(program, argv) : registerAll(program));
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** On a host with overlay links, any command brings a dead overlay agent back (never fails the command). */
async function restartOverlayAgent(): Promise<void> {
  try {
    const { clusterConfigured } = await import('../net/overlay/config.js');
    if (!clusterConfigured() || process.getuid?.() !== 0) return;
    const { ensureAgentIfNeeded } = await import('../net/overlay/agentctl.js');
    await ensureAgentIfNeeded();
  } catch (err) {
    log.warn(`the overlay agent could not be restarted: ${(err as Error).message}`);
  }
}

/** The top-level command being run (run, network, ...): it decides Docker's exit code of a failure. */
let commandName = '';

export function report(raw: unknown): number {
  const err = fromSystemError(raw);
  if (err instanceof ExitError) return err.exitCode;
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return err.exitCode === 0 ? 0 : 125;
  }
  if (err instanceof TsdError) {
    process.stderr.write(`tsdocker: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    log.debug({ code: err.code, cause: err.cause instanceof Error ? err.cause.message : err.cause }, 'error detail');
    return exitCodeFor(err, commandName);
  }
  const e = err as Error;
  process.stderr.write(`tsdocker: internal error: ${e?.stack ?? String(err)}\nplease report this as a bug\n`);
  return 125;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(normalizeArgv(program, expandGroups(program, argv)));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return report(err);
  }
}

mark('cli loaded');
hookStdout((code) => process.exit(code));
// bin/tsdocker-oci (a link to bin/tsdocker) is the OCI runtime front end on the same core
// (loaded only there: the OCI lifecycle is not what `tsdocker` commands run)
const frontEnd = basename(process.argv[1] ?? '') === 'tsdocker-oci' ? async (argv: string[]) => (await import('./oci.js')).ociMain(argv) : main;
void frontEnd(process.argv).then((code) => {
  mark('done');
  printTrace();
  whenDrained(() => process.exit(code));
});
