/** `tsdocker network create|ls|inspect|rm|prune|connect|disconnect`: thin wrappers over src/net. */
import type { Command } from 'commander';
import { TsdError } from '../../sys/errors.js';
import { table, ago } from '../format.js';
import { collect, out, requireRoot } from './common.js';

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
    .option('-q, --quiet', 'only ids')
    .option('--no-trunc', 'full ids')
    .action(async (f: { quiet?: boolean; trunc: boolean }) => {
      requireRoot();
      const { listNetworks } = await import('../../net/store.js');
      const { clusterConfigured } = await import('../../net/overlay/config.js');
      if (clusterConfigured()) {
        // the cluster's overlay networks show on every host
        const { syncOverlayRecords } = await import('../../net/overlay/cluster.js');
        await syncOverlayRecords().catch((err: Error) => process.stderr.write(`tsdocker: warning: ${err.message}: overlay networks as last known\n`));
      }
      const nets = listNetworks().sort((a, b) => a.name.localeCompare(b.name));
      const rows = [
        ...nets,
      ];
      if (f.quiet) {
        for (const n of rows) out(f.trunc ? n.id.slice(0, 12) : n.id);
        return;
      }
      const lines = rows.map((n) => [f.trunc ? n.id.slice(0, 12) : n.id, n.name, n.driver, n.subnet, [n.driver === 'overlay' ? 'global' : '', n.internal ? 'internal' : ''].filter(Boolean).join(','), ago(n.created)]);
      if (!nets.some((n) => n.name === 'bridge')) lines.unshift(['-', 'bridge', 'bridge', '(created on first use)', '', '']);
      lines.push(['-', 'host', 'host', '', '', ''], ['-', 'none', 'null', '', '', '']);
      out(table(['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'SCOPE', 'CREATED'], lines));
    });

  net
    .command('inspect')
    .description('Show networks in detail (JSON)')
    .argument('<network...>')
    .action(async (refs: string[]) => {
      requireRoot();
      const { ensureLayout } = await import('../../state/paths.js');
      ensureLayout();
      const { inspectNetwork } = await import('../../net/networks.js');
      out(JSON.stringify(await Promise.all(refs.map((r) => inspectNetwork(r))), null, 2));
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
    .option('-f, --force', 'do not prompt (tsdocker never prompts)')
    .action(async () => {
      requireRoot();
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
