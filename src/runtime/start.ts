/**
 * Start a created (or stopped) container. The order matters:
 *   spec -> monitor clones the container (it waits) -> record pids -> cgroups -> network -> go
 * so that cgroups and network are in place before the container runs its first instruction,
 * and a crash at any point leaves a record that the next command can clean up from.
 */
import { resolveImage, type ImageRecord } from '../image/index.js';
import { containerFiles, clearRunState, writeState, type ContainerConfig, type ContainerState } from '../state/containers.js';
import { containerDirs, writeEtcFiles } from '../rootfs/prepare.js';
import { attachNetwork, detachNetwork, resolveJoinTarget, type NetworkPlan, type NetworkState } from '../net/index.js';
import { TsdError } from '../sys/errors.js';
import { reconcile } from './lifecycle.js';
import { processStartTime } from '../sys/proc.js';
import { createUndoStack } from '../sys/undo.js';
import { log } from '../sys/log.js';
import { mark } from '../sys/trace.js';
import { emitContainer } from '../state/events.js';
import { kill as sendSignal } from '../native/index.js';
import { startMonitor, type MonitorHandle } from './monitor.js';
import { buildRunSpec } from './build-spec.js';
import { resolveNamespaces } from './namespaces.js';
import { resolveLinks } from './legacy.js';
import { prepareContainerResources } from './hooks.js';
import { restartSpecInput } from './restart-policy.js';
import { healthSpecInput, writeProbeSpec } from './health.js';

const lg = log.child({ mod: 'runtime.start' });

export interface StartMode {
  /** foreground: the container's stdio is ours; otherwise it is logged */
  foreground: boolean;
  /** the pty's size before the command runs (-t in the foreground: our terminal's) */
  ttySize?: { rows: number; cols: number };
  /** run -a: the streams of ours the container gets (default all) */
  attach?: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** the foreground pty relay's detach keys (hex) */
  detachKeys?: string;
  /** just before `go` (the container waits): start -a attaches here, so it misses no output */
  beforeGo?: () => Promise<void>;
}

/** Our terminal's size, for a container's pty; undefined when stdout is not a terminal. */
export function terminalSize(): { rows: number; cols: number } | undefined {
  if (!process.stdout.isTTY) return undefined;
  const [cols, rows] = process.stdout.getWindowSize();
  return rows && cols ? { rows, cols } : undefined;
}

export interface StartedContainer {
  id: string;
  pid: number;
  handle: MonitorHandle;
}

/**
 * attachNetwork; when the address pool is exhausted or the requested address is taken, the
 * holder may be a container that died unwatched (its monitor killed): clean those up, once,
 * and try again, so a small subnet never refuses containers until someone runs `ps`.
 */
async function attachReconciled(plan: NetworkPlan, ctx: { containerId: string; pid: number }): Promise<NetworkState> {
  try {
    return await attachNetwork(plan, ctx);
  } catch (err) {
    const taken = err instanceof TsdError && (err.code === 'IPAM_EXHAUSTED' || err.message.startsWith('Address already in use'));
    if (!taken || (await reconcile()) === 0) throw err;
    return attachNetwork(plan, ctx);
  }
}

export async function startContainer(config: ContainerConfig, mode: StartMode, resolved?: ImageRecord): Promise<StartedContainer> {
  const id = config.id;
  const image = resolved ?? (await resolveImage(config.image.id));
  // container:X: X's namespace as it is now, never one recorded at create
  const joined = await resolveJoinTarget(config.network as unknown as NetworkPlan, id);
  // --link: X's address now (its /etc/hosts line, its variables)
  const links = await resolveLinks(config, config.links);
  const plan = links.hosts.length ? { ...joined, extraHosts: [...((joined.extraHosts as string[] | undefined) ?? []), ...links.hosts] } : joined;
  const dirs = containerDirs(id);
  writeEtcFiles(dirs, { hostname: config.hostname, hosts: plan.hosts, resolvConf: plan.resolvConf });
  await clearRunState(id);

  const undo = createUndoStack();
  try {
    mark('start: image resolved');
    const resources = await prepareContainerResources(config, image);
    mark('start: resources prepared');
    undo.push('release resources', resources.undo);
    // a foreground container keeps its log too (Docker's `logs` shows it), unless --rm removes it anyway
    const logged = !mode.foreground || !config.autoRemove;
    const ns = await resolveNamespaces(id, config.ns);
    const spec = buildRunSpec({ config, image, dirs, plan, resources, ns, linkEnv: links.env, logPath: logged ? containerFiles.log(id) : undefined, logTee: mode.foreground && logged, restart: restartSpecInput(config), health: healthSpecInput(config), detachKeys: mode.detachKeys });
    const a = mode.attach ?? { stdin: true, stdout: true, stderr: true };
    const stdio: [number, number, number] = mode.foreground
      ? [config.interactive && a.stdin ? 0 : -1, a.stdout ? 1 : -1, a.stderr ? 2 : -1]
      : [-1, -1, -1];
    const handle = await startMonitor({ spec, specPath: containerFiles.spec(id), mode: 'run', stdio });
    // ack first: the monitor leaves the cleanup of this failed start to us (no exit hook)
    undo.push('stop monitor', () => {
      handle.ack();
      handle.detach();
    });
    mark('start: monitor spawned');
    const pid = await handle.pid;
    mark('start: container cloned');
    undo.push('kill container', () => void sendSignal(pid, 9));
    const state: ContainerState = {
      monitorPid: handle.monitorPid,
      monitorStartTime: processStartTime(handle.monitorPid) ?? 0,
      pid,
      pidStartTime: processStartTime(pid) ?? 0,
      startedAt: new Date().toISOString(),
    };
    await writeState(id, state);
    await writeProbeSpec(config, image, pid); // healthcheck: what the monitor's probes run (runtime/health.ts)
    mark('start: state written');
    // the monitor moved the container into its cgroups before it sent `pid` (spec `cgroup`)
    const network = await attachReconciled(plan, { containerId: id, pid });
    undo.push('detach network', () => detachNetwork(id, network, false)); // the container still waits for go
    mark('start: cgroups joined, network attached');
    await writeState(id, { ...state, network });
    // the size first: a command that asks for it at once must not see 0x0
    if (mode.ttySize) handle.resize(mode.ttySize.rows, mode.ttySize.cols);
    // the container's side of each veth: configured by its init before exec (bridge.ts)
    for (const ep of network.endpoints ?? []) handle.netif(ep.ifname, ep.ip, ep.prefix, ep.defaultRoute ? ep.gateway : undefined);
    await mode.beforeGo?.();
    handle.go();
    await handle.started;
    mark('start: exec ok');
    undo.clear();
    emitContainer(config, 'start');
    lg.debug({ id, pid }, 'container started');
    return { id, pid, handle };
  } catch (err) {
    const failure = await undo.rollback(err, lg);
    await clearRunState(id);
    throw failure;
  }
}
