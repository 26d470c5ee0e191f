// ci:stage — the AWS coordinates of a stage from infra/aws/config, as step outputs: role, region, registry, environment.
//   npm run ci:stage -- --stage dev [--environment staging]   (fails when the job's environment is not the stage's)
import { parseArgs } from 'node:util';
import { main, setOutput } from './lib/github.js';
import { stageTarget } from './lib/stage.js';

await main(async () => {
  const { values } = parseArgs({ options: { stage: { type: 'string' }, environment: { type: 'string' } } });
  if (!values.stage) throw Object.assign(new Error('--stage is required'), { hint: 'pass --stage dev|prod' });
  const target = stageTarget(values.stage);
  if (values.environment !== undefined && values.environment !== target.environment) {
    throw Object.assign(
      new Error(
        `stage ${target.stage} trusts the GitHub environment '${target.environment}', not '${values.environment}'`,
      ),
      { hint: `set pipeline.githubEnvironment in infra/aws/config/${target.stage}.ts, or the job's environment:` },
    );
  }
  const outputs = {
    role: target.roleArn,
    region: target.region,
    registry: target.registry,
    environment: target.environment,
  };
  for (const [k, v] of Object.entries(outputs)) {
    setOutput(k, v);
    console.log(`${k}=${v}`);
  }
  return 0;
});
