/**
 * POST /containers/create: Docker's Config + HostConfig as the runtime's RunOptions, the
 * same createContainer as `tsdocker create`. Fields tsdocker supports are translated; a
 * field it does not support is refused with a 400 naming it when its value would change
 * what runs (any non-zero value), and passes when it is the zero value every client sends.
 */
import type { ServerResponse } from 'node:http';
import { ApiError, readJson, sendJson, type Request } from './http.js';
import { refuseUnknown, str, strings } from './fields.js';
import { endpointFor, mountSpecs, tmpfsSpecs } from './create-host.js';
import { RUN_CONFIG_FIELDS, RUN_HOST_FIELDS, runFieldOptions } from './create-run.js';
import type { RunOptions } from '../runtime/types.js';
import { TsdError } from '../sys/errors.js';

type Obj = Record<string, unknown>;

/** Config fields translated below, and those that only describe the attach of this client. */
const CONFIG_FIELDS = new Set(['Image', 'Cmd', 'Entrypoint', 'Env', 'WorkingDir', 'User', 'Labels', 'Tty', 'OpenStdin', 'Hostname', 'ExposedPorts',
  'AttachStdin', 'AttachStdout', 'AttachStderr', 'StdinOnce', 'HostConfig', 'NetworkingConfig', ...RUN_CONFIG_FIELDS]);
const HOST_FIELDS = new Set(['AutoRemove', 'NetworkMode', 'Binds', 'PortBindings', 'Memory', 'NanoCpus', 'Mounts', 'Tmpfs', 'ReadonlyRootfs', ...RUN_HOST_FIELDS]);

/** {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} as -p specs. */
export function publishSpecs(bindings: unknown): string[] {
  const out: string[] = [];
  for (const [port, list] of Object.entries((bindings ?? {}) as Obj)) {
    const [cport, proto = 'tcp'] = port.split('/');
    for (const b of (list ?? [{}]) as Obj[]) {
      const ip = str(b.HostIp, 'HostConfig.PortBindings.HostIp');
      const hostPort = str(b.HostPort, 'HostConfig.PortBindings.HostPort') ?? '';
      out.push(ip ? `${ip.includes(':') ? `[${ip}]` : ip}:${hostPort}:${cport}/${proto}` : hostPort ? `${hostPort}:${cport}/${proto}` : `${cport}/${proto}`);
    }
  }
  return out;
}

/** The request body as RunOptions; 400 for anything tsdocker would otherwise ignore. */
export function toRunOptions(body: Obj, name: string | undefined): RunOptions {
  const host = (body.HostConfig ?? {}) as Obj;
  refuseUnknown(body, CONFIG_FIELDS, 'Config');
  refuseUnknown(host, HOST_FIELDS, 'HostConfig');
  const image = str(body.Image, 'Config.Image');
  if (!image) throw new ApiError(400, 'Config.Image is required');
  const publish = publishSpecs(host.PortBindings);
  // exposed ports without a binding: --expose (published by PublishAllPorts, as -P)
  const expose = Object.keys((body.ExposedPorts ?? {}) as Obj).filter((p) => !(host.PortBindings as Obj | undefined)?.[p]);
  const entry = body.Entrypoint === null || body.Entrypoint === undefined ? undefined : strings(body.Entrypoint, 'Config.Entrypoint');
  const cmd = strings(body.Cmd, 'Config.Cmd');
  const labels = (body.Labels ?? {}) as Obj;
  if (typeof labels !== 'object' || Object.values(labels).some((v) => typeof v !== 'string')) throw new ApiError(400, 'Config.Labels must map names to strings');
  const network = str(host.NetworkMode, 'HostConfig.NetworkMode');
  const endpoint = endpointFor(body.NetworkingConfig, network);
  const resources: Obj = { volume: strings(host.Binds, 'HostConfig.Binds'), mount: mountSpecs(host.Mounts), tmpfs: tmpfsSpecs(host.Tmpfs) };
  if (host.ReadonlyRootfs === true) resources.readOnly = true;
  if (typeof host.Memory === 'number' && host.Memory > 0) resources.memory = String(host.Memory);
  if (typeof host.NanoCpus === 'number' && host.NanoCpus > 0) resources.cpus = String(host.NanoCpus / 1e9);
  const more = runFieldOptions(body, host, resources);
  return {
    image,
    // Entrypoint [a, b...]: the runtime takes one entrypoint word; the rest lead the command
    command: entry && entry.length > 1 ? [...entry.slice(1), ...cmd] : cmd,
    name,
    rm: host.AutoRemove === true,
    detach: true,
    interactive: body.OpenStdin === true,
    tty: body.Tty === true,
    env: strings(body.Env, 'Config.Env'),
    envFiles: [],
    workdir: str(body.WorkingDir, 'Config.WorkingDir'),
    user: str(body.User, 'Config.User'),
    hostname: str(body.Hostname, 'Config.Hostname'),
    entrypoint: entry === undefined ? undefined : (entry[0] ?? ''),
    network: network === 'default' ? undefined : network,
    publish,
    ...(endpoint.ip ? { ip: endpoint.ip } : {}),
    aliases: endpoint.aliases,
    dns: [],
    dnsSearch: [],
    addHosts: [],
    securityOpt: [],
    labels: labels as Record<string, string>,
    ...more,
    ...(expose.length ? { expose } : {}),
    resources,
  };
}

export async function createHandler(req: Request, res: ServerResponse): Promise<void> {
  const platform = req.query.get('platform');
  if (platform && !platform.startsWith('linux')) throw new ApiError(400, `platform ${platform} is not supported: tsdocker runs linux containers`);
  const opts = toRunOptions(await readJson(req.raw), req.query.get('name') || undefined);
  const { createContainer } = await import('../runtime/create.js');
  const config = await createContainer(opts).catch((err: unknown) => {
    // dockerd's words: the client reads the 404 and says "Unable to find image" itself
    if (err instanceof TsdError && err.code === 'IMAGE_NOT_FOUND') throw new ApiError(404, `No such image: ${opts.image}`, 'IMAGE_NOT_FOUND');
    throw err;
  });
  sendJson(res, 201, { Id: config.id, Warnings: [] });
}
