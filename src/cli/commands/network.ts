/** `tsdocker network create|ls|inspect|rm|prune|connect|disconnect`: thin wrappers over src/net. */
import type { Command } from 'commander';
import { TsdError } from '../../sys/errors.js';
import { collect, confirm, out, requireRoot } from './common.js';
import { writeOut } from '../stdout.js';

function parseOpts(list: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new TsdError('BAD_ARGS', `invalid option "${kv}": expected KEY=VALUE`, { hint: 'e.g. -o mtu=1400' });
    o[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return o;
}

const OVERLAY_HELP = `
Overlay networks span hosts: VXLAN in the kernel, etcd v3 as the cluster store. Give every
host the store and its own underlay address (global flags, TSDOCKER_CLUSTER_STORE and
TSDOCKER_ADVERTISE_ADDR, or <root>/cluster.json), create the network once on any host:

  host1$ tsdocker --cluster-store etcd://192.0.2.100:2379 --advertise-addr 192.0.2.1 \\
           network create -d overlay --subnet 10.77.0.0/24 ov
  host1$ tsdocker ... run -d --name web --network ov busybox httpd -f -p 80
  host2$ tsdocker --cluster-store etcd://192.0.2.100:2379 --advertise-addr 192.0.2.2 \\
           run --rm --network ov busybox ping -c1 web
  host2$ tsdocker ... node ls

Options: -o vni=N (default: the lowest free from 4096), -o vxlan-port=N (default 4789),
-o mtu=N (default: the underlay's MTU minus 50), --internal. Addresses are unique across
hosts; names resolve on every host; -p publishes on the container's own host. A small agent
per host programs the kernel; containers keep talking when it or etcd is down.
`;

export function register(program: Command): void {
  const net = program.command('network').description('Manage networks').addHelpText('after', OVERLAY_HELP);

  net
    .command('create')
    .description('Create a network: a bridge on this host, or an overlay spanning the hosts of a cluster store')
    .argument('<name>')
    .option('-d, --driver <driver>', 'driver: bridge, or overlay (needs --cluster-store and --advertise-addr)', 'bridge')
    .option('--subnet <cidr>', 'subnet, e.g. 10.89.0.0/24 (default: a free one from the pool)')
    .option('--gateway <ip>', 'gateway address (default: the first host address)')
    .option('--ip-range <cidr>', 'allocate container addresses from this sub-range')
    .option('--internal', 'no route to or from the outside')
    .option('-o, --opt <k=v>', 'driver option: mtu=N; overlay: vni=N, vxlan-port=N (default 4789)', collect, [])
    .option('--label <k=v>', 'label', collect, [])
    .action(async (name: string, f: { driver: string; subnet?: string; gateway?: string; ipRange?: string; internal?: boolean; opt: string[]; label: string[] }) => {
      requireRoot();
      const { ensureLayout } = await import('../../state/paths.js');
      ensureLayout();
      const { createNetwork } = await import('../../net/networks.js');
      const rec = await createNetwork({
        name,
        driver: f.driver,
        subnet: f.subnet,
        gateway: f.gateway,
        ipRange: f.ipRange,
        internal: !!f.internal,
        options: parseOpts(f.opt),
        labels: parseOpts(f.label),
      });
      out(rec.id);
    });

  net
    .command('ls')
    .alias('list')
    .description('List networks')
    .option('-f, --filter <filter>', 'filter output: driver, id, label, name, scope, type=custom|builtin (repeatable)', collect, [])
    .option('--format <format>', 'Go template, "table TEMPLATE" or "json" (fields: ID Name Driver Scope IPv6 Internal Labels Label CreatedAt)')
    .option('--no-trunc', 'do not truncate the output')
    .option('-q, --quiet', 'only display network ids')
    .action(async (f: { quiet?: boolean; trunc: boolean; filter: string[]; format?: string }) => {
      requireRoot();
      const { ensureLayout } = await import('../../state/paths.js');
      ensureLayout();
      const { NETWORK_SPEC, networkRow } = await import('../lists/resources.js');
      const { NETWORK_FILTERS, filterNetworks, networkSummaries } = await import('../../query/resources.js');
      const { parseFilters } = await import('../../query/filters.js');
      const { chooseFormat, formatList } = await import('../template/index.js');
      const filters = parseFilters(f.filter, NETWORK_FILTERS);
      const format = chooseFormat(f.format, Boolean(f.quiet), NETWORK_SPEC);
      writeOut(formatList(format, filterNetworks(await networkSummaries(), filters).map((n) => networkRow(n, f.trunc)), NETWORK_SPEC));
    });

  net
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<network...>')
    .option('-f, --format <template>', 'format the output using a Go template')
    .option('-v, --verbose', 'accepted for compatibility')
    .action(async (refs: string[], f: { format?: string }) => {
      requireRoot();
      const { ensureLayout } = await import('../../state/paths.js');
      ensureLayout();
      const { inspectNetwork } = await import('../../net/networks.js');
      const { writeInspect } = await import('./inspect.js');
      await writeInspect(refs, f.format, inspectNetwork);
    });

  net
    .command('rm')
    .alias('remove')
    .description('Remove networks (refused while containers are attached)')
    .argument('<network...>')
    .action(async (refs: string[]) => {
      requireRoot();
      const { removeNetwork } = await import('../../net/networks.js');
      let firstErr: unknown;
      for (const r of refs) {
        try {
          await removeNetwork(r);
          out(r);
        } catch (err) {
          if (refs.length === 1) throw err;
          process.stderr.write(`tsdocker: ${(err as Error).message}\n`);
          firstErr ??= err;
        }
      }
      if (firstErr) throw firstErr;
    });

  net
    .command('prune')
    .description('Remove every user-defined network without containers')
    .option('-f, --force', 'do not prompt for confirmation')
    .action(async (f: { force?: boolean }) => {
      requireRoot();
      if (!confirm('WARNING! This will remove all custom networks not used by at least one container.', f.force)) return;
      const { pruneNetworks } = await import('../../net/networks.js');
      const removed = await pruneNetworks();
      if (removed.length) {
        out('Deleted Networks:');
        for (const n of removed) out(n);
      }
    });

  net
    .command('reload')
    .description("Rebuild tsdocker's bridges and firewall rules from its records (after a firewall reload wiped them)")
    .action(async () => {
      requireRoot();
      const { reloadNetworks } = await import('../../net/reload.js');
      const r = await reloadNetworks();
      out(`reloaded ${r.networks.length} network(s) and the published ports of ${r.containers} container(s)`);
    });

  net
    .command('connect')
    .description('Connect a running container to a network (a new interface appears)')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <ip>', 'IPv4 address on that network')
    .option('--alias <name>', 'network-scoped alias', collect, [])
    .action(async (netRef: string, ctr: string, f: { ip?: string; alias: string[] }) => {
      requireRoot();
      const { connectContainer } = await import('../../net/connect.js');
      await connectContainer(netRef, ctr, { ...(f.ip ? { ip: f.ip } : {}), aliases: f.alias });
    });

  net
    .command('disconnect')
    .description('Disconnect a container from a network (its interface goes)')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'accepted for compatibility')
    .action(async (netRef: string, ctr: string) => {
      requireRoot();
      const { disconnectContainer } = await import('../../net/connect.js');
      await disconnectContainer(netRef, ctr);
    });
}
