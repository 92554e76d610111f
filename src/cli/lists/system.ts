/**
 * `info` and `version` as docker/cli prints them: the Client and Server sections of
 * prettyPrintInfo, and version's template through the tabwriter; --format templates see
 * docker/cli's structs (info: types.Info plus ClientInfo; version: {Client, Server}).
 */
import { binarySize } from '../format.js';
import { struct, tabwrite } from '../template/index.js';

type Info = Record<string, unknown>;

export interface ClientInfo {
  Context: string;
  Debug: boolean;
  Plugins: unknown[];
  Warnings: string[] | null;
}

export const CLIENT_INFO: ClientInfo = { Context: 'default', Debug: false, Plugins: [], Warnings: null };

/** What `info --format` sees: the server's fields at the top, ClientInfo beside them. */
export function infoRow(info: Info): unknown {
  return struct('info', { ...info, ClientInfo: CLIENT_INFO, ClientErrors: null });
}

/** docker/cli's prettyPrintInfo; the Warnings go to stderr, as Docker prints them. */
export function infoText(info: Info): string {
  const l: string[] = ['Client:', ` Context:    ${CLIENT_INFO.Context}`, ` Debug Mode: ${CLIENT_INFO.Debug}`, '', 'Server:'];
  const add = (label: string, v: unknown) => l.push(`${label} ${v === undefined || v === null ? '' : String(v)}`.trimEnd());
  const nonEmpty = (label: string, v: unknown) => v !== undefined && v !== '' && add(label, v);
  add(' Containers:', info.Containers);
  add('  Running:', info.ContainersRunning);
  add('  Paused:', info.ContainersPaused);
  add('  Stopped:', info.ContainersStopped);
  add(' Images:', info.Images);
  nonEmpty(' Server Version:', info.ServerVersion);
  nonEmpty(' Storage Driver:', info.Driver);
  for (const [k, v] of (info.DriverStatus as [string, string][] | undefined) ?? []) l.push(`  ${k}: ${v}`);
  nonEmpty(' Logging Driver:', info.LoggingDriver);
  nonEmpty(' Cgroup Driver:', info.CgroupDriver);
  nonEmpty(' Cgroup Version:', info.CgroupVersion);
  const plugins = (info.Plugins ?? {}) as Record<string, string[] | null>;
  l.push(' Plugins:');
  for (const k of ['Volume', 'Network', 'Authorization', 'Log']) if (plugins[k]?.length) l.push(`  ${k}: ${plugins[k]!.join(' ')}`);
  add(' Swarm:', (info.Swarm as { LocalNodeState?: string } | undefined)?.LocalNodeState);
  const runtimes = Object.keys((info.Runtimes ?? {}) as object);
  if (runtimes.length) {
    l.push(` Runtimes: ${runtimes.join(' ')}`);
    add(' Default Runtime:', info.DefaultRuntime);
  }
  const security = (info.SecurityOptions as string[] | undefined) ?? [];
  if (security.length) {
    l.push(' Security Options:');
    for (const o of security) {
      const kv = Object.fromEntries(o.split(',').map((p) => p.split('=', 2) as [string, string]));
      l.push(`  ${kv.name ?? o}`);
      if (kv.profile) l.push(`   Profile: ${kv.profile}`);
    }
  }
  add(' Kernel Version:', info.KernelVersion);
  add(' Operating System:', info.OperatingSystem);
  add(' OSType:', info.OSType);
  add(' Architecture:', info.Architecture);
  add(' CPUs:', info.NCPU);
  add(' Total Memory:', binarySize(Number(info.MemTotal ?? 0)));
  add(' Name:', info.Name);
  add(' ID:', info.ID);
  add(' Docker Root Dir:', info.DockerRootDir);
  add(' Debug Mode:', info.Debug);
  nonEmpty(' HTTP Proxy:', info.HttpProxy);
  nonEmpty(' HTTPS Proxy:', info.HttpsProxy);
  nonEmpty(' No Proxy:', info.NoProxy);
  nonEmpty(' Registry:', info.IndexServerAddress);
  l.push(' Labels:');
  for (const label of (info.Labels as string[] | undefined) ?? []) l.push(`  ${label}`);
  add(' Experimental:', info.ExperimentalBuild);
  const reg = info.RegistryConfig as { IndexConfigs?: Record<string, { Name: string; Secure: boolean }>; InsecureRegistryCIDRs?: string[] } | undefined;
  const insecure = [...Object.values(reg?.IndexConfigs ?? {}).filter((c) => !c.Secure).map((c) => c.Name), ...(reg?.InsecureRegistryCIDRs ?? [])];
  if (insecure.length) l.push(' Insecure Registries:', ...insecure.map((i) => `  ${i}`));
  add(' Live Restore Enabled:', info.LiveRestoreEnabled);
  return `${l.join('\n')}\n\n`;
}

/** The client half of `version`: this CLI (types of docker/cli's clientVersion). */
export function clientVersion(server: Info): Record<string, unknown> {
  return {
    Platform: { Name: '' },
    Version: server.Version,
    ApiVersion: server.ApiVersion,
    DefaultAPIVersion: server.ApiVersion,
    GitCommit: server.GitCommit,
    GoVersion: server.GoVersion,
    Os: server.Os,
    Arch: server.Arch,
    BuildTime: server.BuildTime,
    Context: CLIENT_INFO.Context,
    Experimental: true,
  };
}

/** What `version --format` sees: {Client, Server} with docker/cli's field names (APIVersion). */
export function versionRow(server: Info): unknown {
  const c = clientVersion(server);
  const client = struct('clientVersion', { ...c, APIVersion: c.ApiVersion });
  const comps = ((server.Components as { Name: string; Version: string; Details: Record<string, string> }[] | undefined) ?? []).map((x) => struct('types.ComponentVersion', x));
  const srv = struct('types.Version', { ...server, Components: comps, APIVersion: server.ApiVersion });
  return struct('versionInfo', { Client: client, Server: srv, ServerOK: true, toJSON: () => ({ Client: c, Server: server }) });
}

/** docker/cli's version layout (tabwriter: min width 20, padding 1). */
export function versionText(server: Info): string {
  const c = clientVersion(server);
  const rows = [
    `Client:`,
    ` Version:\t${c.Version}`,
    ` API version:\t${c.ApiVersion}`,
    ` Go version:\t${c.GoVersion}`,
    ` Git commit:\t${c.GitCommit}`,
    ` Built:\t${c.BuildTime}`,
    ` OS/Arch:\t${c.Os}/${c.Arch}`,
    ` Context:\t${c.Context}`,
    ` Experimental:\t${c.Experimental}`,
    '',
    `Server: ${(server.Platform as { Name: string }).Name}`,
  ];
  for (const comp of (server.Components as { Name: string; Version: string; Details: Record<string, string> }[]) ?? []) {
    const d = comp.Details;
    rows.push(
      ` ${comp.Name}:`,
      `  Version:\t${comp.Version}`,
      `  API version:\t${d.ApiVersion} (minimum version ${d.MinAPIVersion})`,
      `  Go version:\t${d.GoVersion}`,
      `  Git commit:\t${d.GitCommit}`,
      `  Built:\t${d.BuildTime}`,
      `  OS/Arch:\t${d.Os}/${d.Arch}`,
      `  Experimental:\t${d.Experimental}`,
    );
  }
  return tabwrite(`${rows.join('\n')}\n`, { minWidth: 20, padding: 1 });
}
