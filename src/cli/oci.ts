/**
 * tsdocker-oci: the OCI runtime command line (runc's shape), the front end that Docker's
 * containerd shim, Podman's conmon and the runtime-tools suite call. Global flags come
 * before the command. Every failure exits 1 with one line on stderr and, with --log, a
 * line in the log file (`--log-format json`: {"level":"error","msg":...,"time":...}, which
 * the shim shows to the user).
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { OCI_DEFAULT_ROOT } from '../state/paths.js';
import { ExitError, TsdError, errorMessage } from '../sys/errors.js';
import { defaultSpec, features } from '../runtime/oci/defaults.js';
import { createContainer, deleteContainer, killContainer, startContainer } from '../runtime/oci/lifecycle.js';
import { execProcess, pauseContainer, psContainer, runContainer, updateContainer } from '../runtime/oci/ops.js';
import { listIds, readRecord, stateJson } from '../runtime/oci/state.js';
import { writeOut } from './stdout.js';

export const OCI_CLI_VERSION = '0.1.0';
export const OCI_SPEC_VERSION = '1.0.2-dev';

interface Globals {
  root: string;
  log?: string;
  logFormat: string;
  debug?: boolean;
  systemdCgroup?: boolean;
}

const out = (s: string) => void writeOut(s);
const collect = (v: string, prev: string[]) => [...prev, v];

function program(): Command {
  const p = new Command('tsdocker-oci');
  let g: Globals = { root: OCI_DEFAULT_ROOT, logFormat: 'text' };
  p.description('OCI runtime (runc command line) on the tsdocker native core')
    .option('--root <dir>', 'state directory', OCI_DEFAULT_ROOT)
    .option('--log <file>', 'append errors to this file')
    .option('--log-format <format>', 'text or json', 'text')
    .option('--debug', 'debug output (accepted; errors are always reported)')
    .option('--systemd-cgroup', 'use systemd for cgroups (not supported)')
    .option('-v, --version', 'print the version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error: ') ? `tsdocker-oci: ${s.slice(7)}` : s) })
    .hook('preAction', () => {
      g = p.opts<Globals>();
      if (g.systemdCgroup) {
        throw new TsdError('BAD_ARGS', '--systemd-cgroup is not supported: tsdocker-oci manages cgroupfs itself', { exitCode: 1, hint: 'leave --systemd-cgroup out (Docker: the cgroupfs driver; Podman: --cgroup-manager=cgroupfs)' });
      }
      if (!['text', 'json'].includes(g.logFormat)) throw new TsdError('BAD_ARGS', `--log-format ${g.logFormat}: use text or json`, { exitCode: 1 });
      if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new TsdError('NOT_ROOT', 'tsdocker-oci must run as root', { exitCode: 1 });
    })
    .action(() => {
      if (p.opts<{ version?: boolean }>().version) out(`tsdocker-oci version ${OCI_CLI_VERSION}\nspec: ${OCI_SPEC_VERSION}\ncommit: tsdocker-${OCI_CLI_VERSION}\n`);
      else p.help();
    });
  const root = () => g.root;

  p.command('create').description('create a container: its init waits for start').argument('<id>')
    .option('-b, --bundle <dir>', 'bundle directory', '.').option('--pid-file <file>', 'write the init pid here')
    .option('--console-socket <path>', 'send the pty master to this unix socket').option('--no-pivot', 'accepted (pivot_root is always used)')
    .option('--no-new-keyring', 'accepted').option('--preserve-fds <n>', 'accepted (only 0 is supported)', '0')
    .action(async (id: string, o: { bundle: string; pidFile?: string; consoleSocket?: string }) => {
      await createContainer({ root: root(), id, ...o }, 'create');
    });
  p.command('start').description('run the process of a created container').argument('<id>').action((id: string) => startContainer(root(), id));
  p.command('run').description('create, start and wait').argument('<id>')
    .option('-b, --bundle <dir>', 'bundle directory', '.').option('--pid-file <file>', 'write the init pid here')
    .option('--console-socket <path>', 'send the pty master to this unix socket').option('-d, --detach', 'do not wait')
    .option('--no-pivot', 'accepted').option('--no-new-keyring', 'accepted')
    .action(async (id: string, o: { bundle: string; pidFile?: string; consoleSocket?: string; detach?: boolean }) => {
      const code = await runContainer({ root: root(), id, ...o, detach: o.detach ?? false });
      if (code) throw new ExitError(code);
    });
  p.command('state').description('print the state as JSON').argument('<id>').action((id: string) => {
    out(`${JSON.stringify(stateJson(root(), readRecord(root(), id)), null, 2)}\n`);
  });
  p.command('list').description('list containers').option('-q, --quiet', 'ids only').option('-f, --format <f>', 'table or json', 'table')
    .action((o: { quiet?: boolean; format: string }) => {
      const states = listIds(root()).map((id) => stateJson(root(), readRecord(root(), id)));
      if (o.quiet) return out(states.map((s) => `${s.id}\n`).join(''));
      if (o.format === 'json') return out(`${JSON.stringify(states)}\n`);
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, s.pid, s.status, s.bundle, s.created, 'root'].map(String))];
      const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      out(rows.map((r) => r.map((c, i) => c.padEnd(w[i]! + 3)).join('').trimEnd() + '\n').join(''));
    });
  p.command('kill').description('send a signal (default TERM) to the init').argument('<id>').argument('[signal]')
    .option('-a, --all', 'to every process of the container')
    .action((id: string, sig: string | undefined, o: { all?: boolean }) => killContainer(root(), id, sig, o.all ?? false));
  p.command('delete').description('delete a stopped container').argument('<id>').option('-f, --force', 'kill it first; no error when it does not exist')
    .action((id: string, o: { force?: boolean }) => deleteContainer(root(), id, o.force ?? false));
  p.command('exec').description('run a process in a container').argument('<id>').argument('[command...]')
    .option('-p, --process <file>', 'process.json (OCI process)').option('-d, --detach', 'do not wait')
    .option('--pid-file <file>', 'write the pid here').option('--console-socket <path>', 'send the pty master to this unix socket')
    .option('-t, --tty', 'allocate a pty').option('--cwd <dir>', 'working directory').option('-e, --env <K=V>', 'environment', collect, [])
    .option('-u, --user <uid[:gid]>', 'user').passThroughOptions()
    .action(async (id: string, args: string[], o: { process?: string; detach?: boolean; pidFile?: string; consoleSocket?: string; tty?: boolean; cwd?: string; env: string[]; user?: string }) => {
      const code = await execProcess(root(), id, { ...o, args, detach: o.detach ?? false, tty: o.tty ?? false });
      if (code) throw new ExitError(code);
    });
  p.command('ps').description('processes of a container').argument('<id>').argument('[ps-args...]').option('-f, --format <f>', 'table or json', 'table').passThroughOptions()
    .action(async (id: string, args: string[], o: { format: string }) => out(await psContainer(root(), id, o.format, args)));
  p.command('pause').description('freeze every process').argument('<id>').action((id: string) => pauseContainer(root(), id, true));
  p.command('resume').description('thaw a paused container').argument('<id>').action((id: string) => pauseContainer(root(), id, false));
  p.command('update').description('change linux.resources of a container').argument('<id>').requiredOption('-r, --resources <file>', 'LinuxResources JSON, - for stdin')
    .action((id: string, o: { resources: string }) => updateContainer(root(), id, o.resources));
  p.command('features').description('what this runtime supports, as JSON').action(() => out(`${JSON.stringify(features(), null, 2)}\n`));
  p.command('spec').description('write a default config.json').option('-b, --bundle <dir>', 'bundle directory', '.').option('--rootless', 'accepted')
    .action((o: { bundle: string }) => {
      const path = join(resolve(o.bundle), 'config.json');
      if (existsSync(path)) throw new TsdError('BAD_ARGS', `${path} already exists`, { exitCode: 1, hint: 'remove it first' });
      writeFileSync(path, `${JSON.stringify(defaultSpec(), null, 2)}\n`);
    });
  for (const c of p.commands) c.exitOverride();
  return p;
}

function logError(argv: string[], msg: string): void {
  const i = argv.indexOf('--log');
  const file = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--log='))?.slice(6);
  if (!file) return;
  const json = argv.includes('json') && (argv.includes('--log-format=json') || argv[argv.indexOf('--log-format') + 1] === 'json');
  const time = new Date().toISOString();
  try {
    appendFileSync(file, json ? `${JSON.stringify({ level: 'error', msg, time })}\n` : `time="${time}" level=error msg=${JSON.stringify(msg)}\n`);
  } catch {
    /* the log is best effort; stderr has the message */
  }
}

export async function ociMain(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof ExitError) return err.exitCode;
    if (err instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code)) return 0;
      logError(argv, err.message);
      return 1;
    }
    const msg = err instanceof TsdError ? err.message : `internal error: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}`;
    process.stderr.write(`tsdocker-oci: ${msg}\n`);
    if (err instanceof TsdError && err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    logError(argv, msg);
    return 1;
  }
}
