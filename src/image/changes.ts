/**
 * `commit -c` / `import -c`: the Dockerfile instructions Docker accepts as config changes
 * (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD is not, USER, VOLUME, WORKDIR, STOPSIGNAL),
 * applied to an image config's `config` object. JSON (exec) form or shell form, as a
 * Dockerfile line.
 */
import { TsdError } from '../sys/errors.js';

export type RunConfig = Record<string, unknown>;

const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL'];

function bad(msg: string): TsdError {
  return new TsdError('BAD_ARGS', msg, { hint: `a change is one Dockerfile instruction: ${ALLOWED.join(', ')}` });
}

function jsonList(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(rest) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

const unquote = (s: string): string => (/^"(.*)"$/.test(s) || /^'(.*)'$/.test(s) ? s.slice(1, -1) : s);

/** KEY=VALUE pairs (quoted values allowed), or the old `KEY VALUE` form. */
function pairs(rest: string, what: string): [string, string][] {
  if (!rest.includes('=') || /^[^=\s]+\s/.test(rest) && !/^[^=\s]+=/.test(rest)) {
    const m = /^(\S+)\s+(.*)$/.exec(rest);
    if (!m) throw bad(`${what} requires at least one argument`);
    return [[m[1]!, unquote(m[2]!.trim())]];
  }
  const out: [string, string][] = [];
  for (const m of rest.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) out.push([m[1]!, unquote(m[2]!)]);
  return out;
}

export function applyChanges(base: RunConfig, changes: string[]): RunConfig {
  const c: RunConfig = { ...base };
  for (const raw of changes) {
    const line = raw.trim();
    const m = /^(\S+)\s*(.*)$/s.exec(line);
    if (!m) continue;
    const ins = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (!ALLOWED.includes(ins)) throw bad(`${m[1]} is not a valid change command`);
    switch (ins) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const list = jsonList(rest) ?? ['/bin/sh', '-c', rest];
        c[ins === 'CMD' ? 'Cmd' : 'Entrypoint'] = list;
        if (ins === 'ENTRYPOINT') c.Cmd = null; // as Dockerfile: a new ENTRYPOINT resets CMD
        break;
      }
      case 'ENV': {
        const env = [...((c.Env as string[] | undefined) ?? [])];
        for (const [k, v] of pairs(rest, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL':
        c.Labels = { ...((c.Labels as Record<string, string> | undefined) ?? {}), ...Object.fromEntries(pairs(rest, 'LABEL')) };
        break;
      case 'EXPOSE': {
        const ports = { ...((c.ExposedPorts as Record<string, object> | undefined) ?? {}) };
        for (const p of rest.split(/\s+/).filter(Boolean)) {
          if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(p)) throw bad(`invalid port in EXPOSE: ${p}`);
          ports[p.includes('/') ? p : `${p}/tcp`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...((c.Volumes as Record<string, object> | undefined) ?? {}) };
        for (const v of jsonList(rest) ?? rest.split(/\s+/).filter(Boolean)) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      case 'USER':
        c.User = rest;
        break;
      case 'WORKDIR':
        c.WorkingDir = rest;
        break;
      case 'STOPSIGNAL':
        c.StopSignal = rest;
        break;
    }
  }
  return c;
}
