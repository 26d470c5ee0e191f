// tier rotate db-credentials: give the API's database login new credentials without a restart and
// without failing a request (alternating users; packages/tier/src/local/credentials.ts).
import type { Command } from 'commander';
import { TierError } from '../backend.js';
import type { Context } from '../context.js';

const WHAT = ['db-credentials'] as const;

export function registerRotate(program: Command, ctx: Context): void {
  program
    .command('rotate <what>')
    .description(`rotate credentials with no restart and no failed request: ${WHAT.join(', ')}`)
    .action(async (what: string) => {
      if (!WHAT.includes(what as (typeof WHAT)[number])) {
        throw new TierError(`cannot rotate '${what}'`, `use one of: ${WHAT.join(', ')}`);
      }
      const local = await ctx.localOperations(
        new TierError(
          'on AWS, Secrets Manager rotates the API user (every 30 days, alternating users)',
          'rotate now with `aws secretsmanager rotate-secret --secret-id <DBCREDENTIALS_ARN of the api task definition>` (docs/runbooks/rotate-db-secret.md)',
        ),
      );
      const { user } = await local.rotateCredentials(ctx.progress);
      ctx.print({ rotated: what, user }, () => `✔ the API's new connections log in as ${user} (new password)`);
    });
}
