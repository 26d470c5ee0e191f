// tier status: every replica with its version, health and address, plus the endpoints.
import type { Command } from 'commander';
import type { EnvironmentStatus } from '../backend.js';
import type { Context } from '../context.js';
import { table } from '../ui/table.js';

export function renderStatus(status: EnvironmentStatus): string {
  const endpoints = Object.entries(status.endpoints).map(([name, url]) => ({ endpoint: name, url }));
  return `${table([...status.replicas], ['tier', 'name', 'version', 'health', 'address'])}\n\n${table(endpoints)}`;
}

export function registerStatus(program: Command, ctx: Context): void {
  program
    .command('status')
    .description('show each replica (tier, version, health, address) and the endpoints')
    .action(async () => {
      const status = await (await ctx.backend()).status();
      const healthy = status.replicas.filter((r) => r.health === 'healthy').length;
      ctx.print(status, () => `${renderStatus(status)}\n\n${healthy}/${status.replicas.length} replicas healthy`);
    });
}
