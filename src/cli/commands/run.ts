/** `tsdocker run`, and the flags it shares with `tsdocker create` (create.ts). */
import { Option, type Command } from 'commander';
import { checkTty, collect, parseIntArg, parseLabels, requireRoot, out } from './common.js';
import type { RunOptions } from '../../runtime/types.js';
import { TsdError } from '../../sys/errors.js';

export interface RunFlags {
  name?: string;
  rm?: boolean;
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  network: string[];
  net: string[];
  publish: string[];
  ip?: string;
  networkAlias: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  addHost: string[];
  securityOpt: string[];
  label: string[];
  pull: string;
  stopSignal?: string;
  stopTimeout?: string;
  cidfile?: string;
  labelFile: string[];
  restart?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthcheck?: boolean;
  init?: boolean;
  publishAll?: boolean;
  macAddress?: string;
  link: string[];
  volumesFrom: string[];
  sysctl: string[];
  groupAdd: string[];
  domainname?: string;
  platform?: string;
  quiet?: boolean;
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  shmSize?: string;
  expose: string[];
  [resourceFlag: string]: unknown;
}

/** Flags the resource module consumes (runtime/resources.ts), passed through untouched. */
const RESOURCE_FLAGS = [
  'memory', 'memorySwap', 'cpus', 'cpuShares', 'cpusetCpus', 'pidsLimit', 'ulimit', 'volume', 'mount', 'tmpfs',
  'readOnly', 'capAdd', 'capDrop', 'privileged', 'device', 'memoryReservation', 'cpuQuota', 'cpuPeriod', 'oomScoreAdj', 'oomKillDisable',
] as const;

export function toRunOptions(image: string, command: string[], f: RunFlags): RunOptions {
  const resources: Record<string, unknown> = {};
  for (const k of RESOURCE_FLAGS) if (f[k] !== undefined) resources[k] = f[k];
  return {
    image,
    command,
    name: f.name,
    rm: Boolean(f.rm),
    detach: Boolean(f.detach),
    interactive: Boolean(f.interactive),
    tty: Boolean(f.tty),
    env: f.env,
    envFiles: f.envFile,
    workdir: f.workdir,
    user: f.user,
    hostname: f.hostname,
    entrypoint: f.entrypoint,
    network: oneNetwork([...f.network, ...f.net]),
    publish: f.publish,
    ip: f.ip,
    aliases: f.networkAlias,
    dns: f.dns,
    dnsSearch: f.dnsSearch,
    dnsOptions: f.dnsOption,
    addHosts: f.addHost,
    securityOpt: f.securityOpt,
    labels: parseLabels(f.label),
    labelFiles: f.labelFile,
    ...(f.init ? { init: true } : {}),
    ...(f.publishAll ? { publishAll: true } : {}),
    ...(f.macAddress ? { macAddress: f.macAddress } : {}),
    links: f.link,
    volumesFrom: f.volumesFrom,
    sysctls: f.sysctl,
    groupAdd: f.groupAdd,
    ...(f.domainname ? { domainname: f.domainname } : {}),
    ...(f.platform ? { platform: f.platform } : {}),
    ns: { pid: f.pid, ipc: f.ipc, uts: f.uts, cgroupns: f.cgroupns, shmSize: f.shmSize },
    ...(f.expose.length ? { expose: f.expose } : {}),
    ...(f.stopSignal !== undefined ? { stopSignal: f.stopSignal } : {}),
    ...(f.stopTimeout !== undefined ? { stopTimeout: parseIntArg('--stop-timeout', f.stopTimeout, -1) } : {}),
    ...(f.restart !== undefined ? { restart: f.restart } : {}),
    health: { cmd: f.healthCmd, interval: f.healthInterval, timeout: f.healthTimeout, retries: f.healthRetries, startPeriod: f.healthStartPeriod, none: f.healthcheck === false },
    resources,
  };
}

/**
 * Docker 20.10 takes one network at create (more come with `network connect`): the same one
 * twice, user-defined with built-in modes, or two of them are refused with its messages.
 */
export function oneNetwork(modes: string[]): string | undefined {
  if (modes.length <= 1) return modes[0];
  const twice = modes.find((m, i) => modes.indexOf(m) !== i);
  if (twice) throw new TsdError('BAD_ARGS', `network "${twice}" is specified multiple times`, { hint: 'give --network once' });
  const builtin = (m: string) => ['default', 'bridge', 'host', 'none'].includes(m) || m.startsWith('container:');
  if (modes.some(builtin) && !modes.every(builtin)) {
    throw new TsdError('BAD_ARGS', 'conflicting options: cannot attach both user-defined and non-user-defined network-modes', { hint: 'give one --network' });
  }
  throw new TsdError('BAD_ARGS', `Container cannot be connected to network endpoints: ${modes.join(', ')}`, {
    hint: 'give one --network, then `tsdocker network connect` for the others',
  });
}

/** run -a, --detach-keys, --sig-proxy (Docker's messages for a bad stream, and -a with -d). */
function streamOptions(f: RunFlags): Partial<RunOptions> {
  const streams = (f.attach as string[] | undefined) ?? [];
  for (const s of streams) {
    if (!['stdin', 'stdout', 'stderr'].includes(s.toLowerCase())) {
      throw new TsdError('BAD_ARGS', `invalid argument "${s}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`, { hint: 'give -a stdin, -a stdout or -a stderr' });
    }
  }
  if (streams.length && f.detach) throw new TsdError('BAD_ARGS', 'Conflicting options: -a and -d', { hint: 'drop -a to run detached' });
  const has = (s: string) => streams.some((x) => x.toLowerCase() === s);
  return {
    ...(streams.length ? { attach: { stdin: has('stdin'), stdout: has('stdout'), stderr: has('stderr') } } : {}),
    ...(typeof f.detachKeys === 'string' ? { detachKeys: f.detachKeys } : {}),
    ...(f.sigProxy === false ? { sigProxy: false } : {}),
  };
}

export function declareCreateFlags(cmd: Command): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .argument('<image>', 'image name[:tag] or id')
    .argument('[command...]', 'command and arguments (default: the image\'s Entrypoint/Cmd)')
    .passThroughOptions()
    .option('--name <name>', 'assign a name to the container')
    .option('--rm', 'remove the container when it exits')
    .option('-i, --interactive', 'keep STDIN open')
    .option('-t, --tty', 'allocate a pseudo-TTY')
    .option('-e, --env <NAME=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read environment variables from a file (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <uid[:gid]>', 'user (name or uid) and optional group')
    .option('-h, --hostname <name>', 'container host name')
    .option('--entrypoint <cmd>', 'override the image entrypoint')
    .option('--network <mode>', 'network: bridge (default), none, host, container:NAME, or a network name', collect, [])
    .addOption(new Option('--net <mode>', 'alias of --network').hideHelp().argParser(collect).default([]))
    .option('-p, --publish <[ip:]host:container[/proto]>', 'publish a port (repeatable)', collect, [])
    .option('-P, --publish-all', 'publish every exposed port (EXPOSE, --expose) on a free host port')
    .option('--expose <port[/proto]>', 'expose a port or a range, e.g. 80 or 8000-8010/udp (repeatable)', collect, [])
    .option('--mac-address <mac>', 'MAC address of the container\'s interface, e.g. 02:42:ac:11:00:99')
    .option('--ip <address>', 'IPv4 address on the network')
    .option('--network-alias <alias>', 'DNS alias on the network (repeatable)', collect, [])
    .option('--dns <ip>', 'DNS server (repeatable)', collect, [])
    .option('--dns-search <domain>', 'DNS search domain (repeatable)', collect, [])
    .option('--dns-option <option>', 'resolv.conf option, e.g. ndots:2 or timeout:1 (repeatable)', collect, [])
    .option('--add-host <host:ip>', 'add a line to /etc/hosts; ip host-gateway is the default bridge\'s gateway (repeatable)', collect, [])
    .option('--security-opt <opt>', 'security option, e.g. no-new-privileges (repeatable)', collect, [])
    .option('-l, --label <key=value>', 'set metadata (repeatable)', collect, [])
    .option('--cidfile <file>', 'write the container id to the file')
    .option('--label-file <file>', 'read labels from a file of KEY=VALUE lines (repeatable)', collect, [])
    .option('--pid <mode>', 'PID namespace: host, or container:NAME (default: its own)')
    .option('--ipc <mode>', 'IPC namespace: private (default), shareable, host, none, or container:NAME (a shareable one)')
    .option('--uts <mode>', 'UTS namespace: host (the host\'s hostname)')
    .option('--cgroupns <mode>', 'cgroup namespace: private (default) or host')
    .option('--shm-size <bytes>', 'size of /dev/shm, e.g. 128m (default 64m)')
    .option('--sysctl <key=value>', 'a namespaced kernel parameter, e.g. net.ipv4.ip_forward=1 (repeatable)', collect, [])
    .option('--group-add <group>', 'an additional group (name in the image or gid) to join (repeatable)', collect, [])
    .option('--domainname <name>', 'container NIS domain name')
    .option('--platform <os/arch[/variant]>', 'the platform the image must be (pulled for it when missing)')
    .option('-q, --quiet', 'suppress the pull output')
    .option('--link <name[:alias]>', 'legacy link to a container on the default bridge: /etc/hosts line and variables (repeatable)', collect, [])
    .option('--volumes-from <container[:ro|rw]>', 'mount the volumes and binds of a container (repeatable)', collect, [])
    .option('--init', 'run an init (/sbin/docker-init) as pid 1 that forwards signals and reaps processes')
    .option('--stop-signal <signal>', "signal to stop the container (default: the image's STOPSIGNAL, else SIGTERM)")
    .option('--stop-timeout <seconds>', 'seconds `stop` waits before killing the container (default 10)')
    .option('--restart <policy>', 'restart policy when the container exits: no (default), on-failure[:max-retries], always, unless-stopped (the native monitor restarts it; not after a reboot)')
    .option('--health-cmd <command>', 'command to run to check health (a shell command, as HEALTHCHECK CMD-SHELL)')
    .option('--health-interval <duration>', "time between running the check (ms|s|m|h) (default: the image's, else 30s)")
    .option('--health-timeout <duration>', "maximum time to allow one check to run (ms|s|m|h) (default: the image's, else 30s)")
    .option('--health-retries <n>', "consecutive failures needed to report unhealthy (default: the image's, else 3)")
    .option('--health-start-period <duration>', "start period for the container to initialize before failures count (ms|s|m|h) (default 0s)")
    .option('--no-healthcheck', "disable any container-specified HEALTHCHECK (the image's)")
    .addOption(new Option('--pull <policy>', 'pull the image before creating: missing (when not stored), always, never').choices(['missing', 'always', 'never']).default('missing'))
    // resources flags (runtime/resources.ts)
    .option('-m, --memory <bytes>', 'memory limit, e.g. 512m or 1g')
    .option('--memory-swap <bytes>', 'memory plus swap limit; -1 for unlimited swap')
    .option('--cpus <number>', 'number of CPUs, e.g. 0.5')
    .option('-c, --cpu-shares <number>', 'CPU shares (relative weight)')
    .option('--memory-reservation <bytes>', 'memory soft limit, e.g. 256m')
    .option('--cpu-quota <microseconds>', 'CFS quota per period (-1 for none)')
    .option('--cpu-period <microseconds>', 'CFS period, 1000 to 1000000 (default 100000)')
    .option('--oom-score-adj <number>', "the container's OOM score adjustment, -1000 to 1000")
    .option('--oom-kill-disable', 'disable the OOM killer for the container (cgroup v1)')
    .option('--cpuset-cpus <list>', 'CPUs the container may run on, e.g. 0-1 or 0,2')
    .option('--pids-limit <number>', 'process limit (-1 for unlimited)')
    .option('--ulimit <name=soft[:hard]>', 'ulimit, e.g. nofile=1024:2048 (repeatable)', collect, [])
    .option('-v, --volume <[source:]target[:opts]>', 'bind mount a host path or mount a volume (repeatable)', collect, [])
    .option('--mount <type=...,target=...>', 'mount: type=bind|volume|tmpfs,source=,target=,readonly (repeatable)', collect, [])
    .option('--tmpfs <path[:opts]>', 'mount a tmpfs, e.g. /run:size=64m (repeatable)', collect, [])
    .option('--read-only', "mount the container's root filesystem read-only")
    .option('--cap-add <capability>', 'add a Linux capability, or ALL (repeatable)', collect, [])
    .option('--cap-drop <capability>', 'drop a Linux capability, or ALL (repeatable)', collect, [])
    .option('--device <host[:container][:perms]>', 'add a host device, e.g. /dev/fuse or /dev/sda:/dev/xvda:rwm (repeatable)', collect, [])
    .option('--privileged', "every capability the host allows, all devices, no seccomp, no masked paths");
}

/**
 * Docker's --pull: `always` pulls first; `missing` tries the store and pulls only when the
 * image is not there (so a stored image costs nothing extra); `never` does not pull. Pull
 * progress goes to stderr, as Docker's does for run.
 */
export async function withPull<T>(image: string, f: { pull: string; quiet?: boolean; platform?: string }, fn: () => Promise<T>): Promise<T> {
  const policy = f.pull;
  const pull = async (): Promise<void> => {
    const { pullForRun } = await import('../../image/registry/index.js');
    const { makeProgress } = await import('../progress.js');
    await pullForRun(image, makeProgress(process.stderr, Boolean(f.quiet)), f.platform);
  };
  if (policy === 'always') {
    await pull();
    return fn();
  }
  try {
    return await fn();
  } catch (err) {
    if (policy !== 'missing' || !(err instanceof TsdError) || err.code !== 'IMAGE_NOT_FOUND' || /^(sha256:)?[0-9a-f]{12,64}$/.test(image)) throw err;
    process.stderr.write(`${err.message}\n`);
    await pull();
    return fn();
  }
}

export function register(program: Command): void {
  declareCreateFlags(
    program
      .command('run')
      .description('Create and run a new container from an image')
      .option('-d, --detach', 'run in the background and print the container id')
      .option('-a, --attach <stream>', 'attach to STDIN, STDOUT or STDERR (repeatable; default all)', collect, [])
      .option('--detach-keys <keys>', 'override the key sequence for detaching a container (default "ctrl-p,ctrl-q")')
      .option('--sig-proxy', 'proxy received signals to the process (default true; --sig-proxy=false)')
      .addOption(new Option('--no-sig-proxy').hideHelp()),
  ).action(async (image: string, command: string[], flags: RunFlags) => {
    requireRoot();
    checkTty(flags);
    const { runContainer } = await import('../../runtime/run.js');
    const { openCidFile } = await import('../cidfile.js');
    const opts = { ...toRunOptions(image, command, flags), ...streamOptions(flags) };
    const cid = openCidFile(flags.cidfile);
    try {
      process.exitCode = await withPull(image, flags, () => runContainer(opts, { onDetached: (id) => out(id), onCreated: (id) => cid.write(id) }));
    } catch (err) {
      cid.abort();
      throw err;
    }
  });
}
