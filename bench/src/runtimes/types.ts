import type { Sandbox } from '../sandbox.js';

export type NetMode = 'none' | 'bridge';

export interface RunSpec {
  name?: string;
  rm?: boolean;
  detach?: boolean;
  net: NetMode;
  /** -p hostPort:containerPort */
  publish?: string;
  cmd: string[];
}

/** A container runtime under test: tsdocker, docker, podman. */
export interface Runtime {
  name: string;
  version: string;
  sandbox: Sandbox;
  /** argv prefix of the runtime's own CLI (in its sandbox), where a measure needs more than run/rm */
  cli?: string[];
  runArgv(spec: RunSpec): string[];
  /** argv of the runtime's CLI with `args` (exec, ps), entered into its sandbox where it needs to be */
  cliArgv?(args: string[]): string[];
  rmArgv(names: string[]): string[];
  /** removes every container, stops daemons, closes the sandbox; returns what had to be ended */
  close(): Promise<string[]>;
  /** the same daemon running containers with another OCI runtime (measured for start only) */
  variants?: Omit<Runtime, 'variants'>[];
}

export function runFlags(spec: RunSpec): string[] {
  const f: string[] = [];
  if (spec.rm) f.push('--rm');
  if (spec.detach) f.push('-d');
  if (spec.name) f.push('--name', spec.name);
  f.push('--network', spec.net);
  if (spec.publish) f.push('-p', spec.publish);
  return f;
}
