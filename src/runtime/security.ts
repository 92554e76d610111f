/**
 * Capabilities, --privileged, no-new-privileges and the seccomp choice, as a plan (pure
 * apart from reading this process's bounding set and a profile file). Docker's arithmetic
 * for --cap-add/--cap-drop lives in caps.ts; here it meets the host: a capability the
 * host's bounding set lacks cannot be given, so an explicit --cap-add of one is refused,
 * and ALL or --privileged mean "everything this host allows" (runc would refuse to start;
 * the issue asks us to start with what the host has).
 */
import { readFileSync } from 'node:fs';
import { TsdError } from '../sys/errors.js';
import { log } from '../sys/log.js';
import { CAPABILITIES, capMask, capName, capsFromMask, effectiveCaps, type CapName } from './caps.js';
import { parseProfile, renderProfile, type SeccompProfile } from './seccomp.js';
import { defaultSeccompProfile } from './seccomp-default.js';

export interface SecurityOptions {
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
}

export type SeccompChoice =
  | { kind: 'default' }
  | { kind: 'unconfined' }
  | { kind: 'file'; path: string; profile: SeccompProfile };

export interface SecurityPlan {
  privileged: boolean;
  caps: CapName[];
  /** hex mask for the spec's `caps` key */
  capsMask: string;
  noNewPrivileges: boolean;
  seccomp: SeccompChoice;
}

const lg = log.child({ mod: 'runtime.security' });

/** Capabilities in this process's bounding set (/proc/self/status CapBnd). */
export function hostBoundingCaps(status = readFileSync('/proc/self/status', 'utf8')): CapName[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? capsFromMask(m[1]!) : [...CAPABILITIES];
}

function parseBool(v: string, opt: string): boolean {
  if (/^(true|1)$/i.test(v)) return true;
  if (/^(false|0)$/i.test(v)) return false;
  throw new TsdError('BAD_ARGS', `invalid --security-opt ${opt}: "${v}" is not true or false`);
}

interface SecurityOpts {
  noNewPrivileges: boolean;
  seccomp: SeccompChoice;
}

/** --security-opt values: seccomp=unconfined|PROFILE.json, no-new-privileges[:true|false] (also with `=`). */
export function parseSecurityOpts(opts: readonly string[], readFile = (p: string) => readFileSync(p, 'utf8')): SecurityOpts {
  const out: SecurityOpts = { noNewPrivileges: false, seccomp: { kind: 'default' } };
  for (const opt of opts) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(opt.trim());
    const key = m?.[1];
    const value = m?.[2];
    if (key === 'no-new-privileges') {
      out.noNewPrivileges = value === undefined ? true : parseBool(value, opt);
    } else if (key === 'seccomp' && value) {
      if (value === 'unconfined') out.seccomp = { kind: 'unconfined' };
      else if (value === 'builtin' || value === 'default') out.seccomp = { kind: 'default' };
      else {
        let text: string;
        try {
          text = readFile(value);
        } catch (err) {
          throw new TsdError('BAD_ARGS', `cannot read seccomp profile ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
            hint: 'give the path of a JSON profile in Docker\'s format, or seccomp=unconfined',
          });
        }
        out.seccomp = { kind: 'file', path: value, profile: parseProfile(text, value) };
      }
    } else if ((key === 'apparmor' && value === 'unconfined') || (key === 'label' && value === 'disable')) {
      // tsdocker applies no AppArmor or SELinux confinement: asking for none is already true
    } else if (key === 'apparmor' || key === 'label') {
      throw new TsdError('BAD_ARGS', `--security-opt ${opt}: tsdocker does not apply ${key === 'apparmor' ? 'AppArmor profiles' : 'SELinux labels'}`, {
        hint: `leave the option out (only ${key === 'apparmor' ? 'apparmor=unconfined' : 'label=disable'} is accepted)`,
      });
    } else {
      throw new TsdError('BAD_ARGS', `invalid --security-opt "${opt}"`, {
        hint: 'tsdocker knows seccomp=unconfined, seccomp=PROFILE.json and no-new-privileges[:true|false]',
      });
    }
  }
  return out;
}

export function planSecurity(o: SecurityOptions, bounding: readonly CapName[] = hostBoundingCaps()): SecurityPlan {
  const sec = parseSecurityOpts(o.securityOpt ?? []);
  const host = new Set(bounding);
  const isAll = (s: string) => /^(CAP_)?ALL$/i.test(s.trim());
  // validate every name first: an unknown capability is bad input even when --privileged
  for (const c of [...(o.capAdd ?? []), ...(o.capDrop ?? [])]) if (!isAll(c)) capName(c);
  if (o.privileged) {
    const caps = CAPABILITIES.filter((c) => host.has(c));
    return { privileged: true, caps, capsMask: capMask(caps), noNewPrivileges: sec.noNewPrivileges, seccomp: { kind: 'unconfined' } };
  }
  for (const c of o.capAdd ?? []) {
    if (isAll(c)) continue;
    const name = capName(c);
    if (!host.has(name)) {
      throw new TsdError('RESOURCE', `cannot add capability ${name}: this host's capability bounding set does not include it`, {
        hint: 'tsdocker itself runs without it (see CapBnd in /proc/self/status); leave --cap-add ' + name + ' out',
      });
    }
  }
  const wanted = effectiveCaps(o.capAdd ?? [], o.capDrop ?? []);
  const missing = wanted.filter((c) => !host.has(c));
  if (missing.length) lg.debug({ missing }, 'capabilities outside the host bounding set are left out');
  const caps = wanted.filter((c) => host.has(c));
  return { privileged: false, caps, capsMask: capMask(caps), noNewPrivileges: sec.noNewPrivileges, seccomp: sec.seccomp };
}

/** The monitor's seccomp text for this plan, or undefined for no filter. */
export function renderSeccomp(plan: SecurityPlan): string | undefined {
  if (plan.seccomp.kind === 'unconfined') return undefined;
  const profile = plan.seccomp.kind === 'file' ? plan.seccomp.profile : defaultSeccompProfile();
  return renderProfile(profile, { caps: plan.caps });
}
