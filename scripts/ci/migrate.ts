// ci:migrate — run database migrations once, before new API tasks start: locally `npm run migrate -w apps/api`, on AWS the one-off ECS task.

import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECSClient } from '@aws-sdk/client-ecs';
import { runMigration } from './lib/aws-migrate.js';
import { main } from './lib/github.js';

await main(async () => {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'aws' },
      stage: { type: 'string', default: 'dev' },
      version: { type: 'string' },
    },
  });
  if (values.target !== 'aws') {
    throw Object.assign(
      new Error('locally `tier deploy` runs the migrations itself, once, before the first new API replica'),
      {
        hint: 'use `npx tier deploy --tier api`, or `npm run migrate -w apps/api` against a database you choose',
      },
    );
  }
  if (!values.version)
    throw Object.assign(new Error('--version is required'), { hint: 'pass --version <git sha> (the api image tag)' });
  const region = process.env.AWS_REGION;
  const started = Date.now();
  const { taskArn } = await runMigration({
    ecs: new ECSClient(region ? { region } : {}),
    cfn: new CloudFormationClient(region ? { region } : {}),
    stage: values.stage!,
    version: values.version,
  });
  console.log(
    `✔ migrations at ${values.version} done in ${((Date.now() - started) / 1000).toFixed(0)}s (${taskArn.split('/').pop()})`,
  );
  return 0;
});
