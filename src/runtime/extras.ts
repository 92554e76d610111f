/**
 * Smaller `run`/`create` settings checked at create, with Docker 20.10's rules and messages:
 * --sysctl (namespaced ones only, and none of a namespace shared with the host), --group-add
 * (names from the image's /etc/group), --platform (the stored image must be that platform).
 */
import { TsdError } from '../sys/errors.js';
import { readImageFile } from '../image/files.js';
import { formatPlatform, parsePlatform } from '../image/registry/platform.js';

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);
const isIpc = (k: string) => IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.');

/** --sysctl KEY=VALUE: docker/cli's allow list, then runc's refusals for shared namespaces. */
export function planSysctls(specs: readonly string[], ctx: { hostNet: boolean; hostIpc: boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of specs) {
    const eq = s.indexOf('=');
    const key = eq < 0 ? s : s.slice(0, eq);
    if (eq < 0 || !(isIpc(key) || key.startsWith('net.'))) {
      throw new TsdError('BAD_ARGS', `invalid argument "${s}" for "--sysctl" flag: sysctl '${s}' is not whitelisted`, {
        hint: 'namespaced sysctls only: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*',
      });
    }
    if (key.startsWith('net.') && ctx.hostNet) {
      throw new TsdError('BAD_ARGS', `sysctl "${key}" not allowed in host network namespace`, { hint: 'leave out --network host, or this --sysctl' });
    }
    if (isIpc(key) && ctx.hostIpc) {
      throw new TsdError('BAD_ARGS', `sysctl "${key}" is not allowed in the hosts ipc namespace`, { hint: 'leave out --ipc host, or this --sysctl' });
    }
    out[key] = s.slice(eq + 1);
  }
  return out;
}

/** --group-add NAME|GID: gids, names looked up in the image's /etc/group (runc's message). */
export function resolveGroupAdd(groups: readonly string[], layerDirs: readonly string[]): number[] {
  if (!groups.length) return [];
  const db = (readImageFile(layerDirs, 'etc/group') ?? '').split('\n').map((l) => l.split(':'));
  return groups.map((g) => {
    if (/^\d+$/.test(g) && Number(g) < 2 ** 32 - 1) return Number(g);
    const entry = db.find((e) => e[0] === g);
    if (!entry) {
      throw new TsdError('BAD_ARGS', `Unable to find group ${g}: no matching entries in group file`, { hint: 'give a gid, or a group the image\'s /etc/group has' });
    }
    return Number(entry[2]);
  });
}

/** --platform: the stored image must be that platform (Docker 20.10's message; `missing` then pulls it). */
export function checkPlatform(platform: string | undefined, ref: string, image: { architecture?: string; os?: string; variant?: string }): void {
  if (platform === undefined || platform === '') return;
  const want = parsePlatform(platform);
  const have = { os: image.os ?? 'linux', architecture: image.architecture ?? '', variant: image.variant };
  const fits = have.os === want.os && have.architecture === want.architecture && (want.variant === undefined || want.variant === have.variant);
  if (!fits) {
    throw new TsdError('IMAGE_NOT_FOUND', `image with reference ${ref} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`, {
      hint: `pull the ${formatPlatform(want)} image (tsdocker pull --platform ${formatPlatform(want)} ${ref}), or leave out --platform`,
    });
  }
}
