/**
 * OCI hooks: each one an external command with the container's state JSON on stdin.
 * prestart/createRuntime/poststart/poststop run in the runtime's namespaces;
 * createContainer/startContainer in the container's mount namespace (nsenter). A failing
 * hook of the create phase fails create; failing poststart/poststop hooks are warnings.
 */
import { exec } from '../../sys/exec.js';
import { TsdError, errorMessage } from '../../sys/errors.js';
import type { HookName, OciHook } from './config.js';

function envOf(h: OciHook): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const e of h.env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

export async function runHooks(
  name: HookName,
  hooks: readonly OciHook[] | undefined,
  state: Record<string, unknown>,
  opts: { inContainer?: number; warnOnly?: boolean } = {},
): Promise<void> {
  for (const [i, h] of (hooks ?? []).entries()) {
    // args[0] is the hook's argv[0], which may differ from its path (Docker's network hook is
    // /proc/<dockerd>/exe named libnetwork-setkey): bash's `exec -a` sets it (in the runtime's
    // namespaces only: the container may have no bash)
    const args = h.args ?? [];
    const argv = args.length && args[0] !== h.path && !opts.inContainer
      ? ['/bin/bash', '-c', 'exec -a "$1" "${@:2}"', 'hook', args[0]!, h.path, ...args.slice(1)]
      : [h.path, ...args.slice(1)];
    const full = opts.inContainer ? ['nsenter', `--target=${opts.inContainer}`, '--mount', '--', ...argv] : argv;
    try {
      await exec(full, { input: JSON.stringify(state), env: envOf(h), timeoutMs: (h.timeout ?? 60) * 1000 });
    } catch (err) {
      const msg = `${name} hook #${i} (${h.path}) failed: ${errorMessage(err)}`;
      if (opts.warnOnly) {
        process.stderr.write(`tsdocker-oci: warning: ${msg}\n`);
        continue;
      }
      throw new TsdError('CMD_FAILED', msg, { exitCode: 1, cause: err });
    }
  }
}
