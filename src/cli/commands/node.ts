/** `tsdocker node ls`: the hosts of the overlay's cluster store. */
import type { Command } from 'commander';
import { table } from '../format.js';
import { ago } from '../../query/human.js';
import { out, requireRoot } from './common.js';

export function register(program: Command): void {
  const node = program.command('node').description('Hosts of the cluster (overlay networks)');
  node
    .command('ls')
    .alias('list')
    .description('List the hosts the cluster store knows: ready (registered), stale (heartbeat late), gone (lease expired)')
    .option('-q, --quiet', 'only ids')
    .action(async (f: { quiet?: boolean }) => {
      requireRoot();
      const { listNodes } = await import('../../net/overlay/inspect.js');
      const rows = await listNodes();
      if (f.quiet) {
        for (const r of rows) out(r.id);
        return;
      }
      out(
        table(
          ['NODE ID', 'ADVERTISE ADDRESS', 'STATE', 'LAST SEEN', 'ENDPOINTS', 'MTU'],
          rows.map((r) => [r.self ? `${r.id} *` : r.id, r.addr, r.state, ago(r.lastSeen), String(r.endpoints), String(r.mtu)]),
        ),
      );
    });
}
