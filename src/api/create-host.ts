/**
 * The parts of a create request that say where a container is wired and what it mounts:
 * NetworkingConfig.EndpointsConfig (the aliases and static address on its network, as
 * `--network-alias` and `--ip`), HostConfig.Mounts (as `--mount` specs) and HostConfig.Tmpfs
 * (as `--tmpfs`). What tsdocker cannot do is refused with a 400 naming the field.
 */
import { ApiError } from './http.js';
import { refuseUnknown, str } from './fields.js';
import { endpointOptions } from './networks.js';

type Obj = Record<string, unknown>;

/** The one endpoint a container is created with: the entry for its NetworkMode (docker run sends at most one). */
export function endpointFor(networking: unknown, mode: string | undefined): { ip?: string; aliases: string[] } {
  const nc = (networking ?? {}) as Obj;
  refuseUnknown(nc, new Set(['EndpointsConfig']), 'NetworkingConfig');
  const eps = Object.entries((nc.EndpointsConfig ?? {}) as Obj);
  if (eps.length === 0) return { aliases: [] };
  if (eps.length > 1) {
    throw new ApiError(400, 'Container cannot be connected to network endpoints: a container is created on one network; connect it to the others afterwards (POST /networks/{id}/connect)');
  }
  const [name, ep] = eps[0]!;
  const primary = !mode || mode === 'default' ? 'bridge' : mode;
  if (name !== primary) throw new ApiError(400, `NetworkingConfig.EndpointsConfig names network ${name}, but HostConfig.NetworkMode is ${primary}`);
  return endpointOptions(ep, `NetworkingConfig.EndpointsConfig.${name}`);
}

const MOUNT_TYPES = new Set(['bind', 'volume', 'tmpfs']);

/** One Mounts entry as a --mount spec (src/rootfs/volumes.ts parses and checks it, as for the CLI). */
function mountSpec(m: Obj, i: number): string {
  const where = `HostConfig.Mounts[${i}]`;
  refuseUnknown(m, new Set(['Type', 'Source', 'Target', 'ReadOnly', 'Consistency', 'BindOptions', 'VolumeOptions', 'TmpfsOptions']), where);
  const type = str(m.Type, `${where}.Type`) ?? '';
  if (!MOUNT_TYPES.has(type)) throw new ApiError(400, `${where}.Type ${JSON.stringify(type)} is not supported by tsdocker; use bind, volume or tmpfs`);
  const target = str(m.Target, `${where}.Target`);
  if (!target) throw new ApiError(400, `${where}.Target is required`);
  const parts = [`type=${type}`, `target=${target}`];
  const source = str(m.Source, `${where}.Source`);
  if (source) parts.push(`source=${source}`);
  if (m.ReadOnly === true) parts.push('readonly');
  const bind = (m.BindOptions ?? {}) as Obj;
  refuseUnknown(bind, new Set(['Propagation', 'NonRecursive']), `${where}.BindOptions`);
  if (bind.Propagation) parts.push(`bind-propagation=${str(bind.Propagation, `${where}.BindOptions.Propagation`)}`);
  if (bind.NonRecursive === true) parts.push('bind-nonrecursive=true');
  const vol = (m.VolumeOptions ?? {}) as Obj;
  refuseUnknown(vol, new Set(['NoCopy', 'Labels', 'DriverConfig']), `${where}.VolumeOptions`);
  if (vol.NoCopy === true) parts.push('volume-nocopy=true');
  for (const [k, v] of Object.entries((vol.Labels ?? {}) as Obj)) parts.push(`volume-label=${k}=${String(v)}`);
  const driver = (vol.DriverConfig ?? {}) as Obj;
  refuseUnknown(driver, new Set(['Name']), `${where}.VolumeOptions.DriverConfig`);
  if (driver.Name) parts.push(`volume-driver=${str(driver.Name, `${where}.VolumeOptions.DriverConfig.Name`)}`);
  const tmpfs = (m.TmpfsOptions ?? {}) as Obj;
  refuseUnknown(tmpfs, new Set(['SizeBytes', 'Mode']), `${where}.TmpfsOptions`);
  if (typeof tmpfs.SizeBytes === 'number' && tmpfs.SizeBytes > 0) parts.push(`tmpfs-size=${tmpfs.SizeBytes}`);
  if (typeof tmpfs.Mode === 'number' && tmpfs.Mode > 0) parts.push(`tmpfs-mode=${tmpfs.Mode.toString(8)}`);
  return parts.join(',');
}

export function mountSpecs(mounts: unknown): string[] {
  if (mounts === null || mounts === undefined) return [];
  if (!Array.isArray(mounts)) throw new ApiError(400, 'HostConfig.Mounts must be a list');
  return mounts.map((m, i) => mountSpec((m ?? {}) as Obj, i));
}

/** {"/run": "size=64m"} as --tmpfs specs. */
export function tmpfsSpecs(tmpfs: unknown): string[] {
  if (tmpfs === null || tmpfs === undefined) return [];
  if (typeof tmpfs !== 'object' || Array.isArray(tmpfs)) throw new ApiError(400, 'HostConfig.Tmpfs must map paths to options');
  return Object.entries(tmpfs as Obj).map(([path, opts]) => (str(opts, `HostConfig.Tmpfs.${path}`) ? `${path}:${String(opts)}` : path));
}
