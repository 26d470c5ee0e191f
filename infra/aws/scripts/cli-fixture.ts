// Writes packages/tier/test/fixtures/describe-stacks.json: what CloudFormation DescribeStacks would return for every
// stage's stacks, generated from the synthesized templates (output keys, values resolved to their shape; the
// SSM-typed parameters, which `tier restore` finds by the parameter name they read).
// The CLI's tests read only this; infra/aws/test/outputs-contract.test.ts fails when the committed file is stale.
//   npm run fixture:cli -w infra/aws
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeResolver, STAGES, stageStacks } from '../test/support/templates.js';

export const FIXTURE_FILE = fileURLToPath(
  new URL('../../../packages/tier/test/fixtures/describe-stacks.json', import.meta.url),
);

/** Export names are checked against the contract by outputs-contract.test.ts; the CLI reads keys and values only. */
interface FixtureOutput {
  OutputKey: string;
  OutputValue: string;
}

/** An SSM-typed template parameter: its value is the name of the SSM parameter it reads. */
interface FixtureParameter {
  ParameterKey: string;
  ParameterValue: string;
}

export function cliFixture(): string {
  const stages: Record<
    string,
    Array<{ StackName: string; Region: string; Parameters: FixtureParameter[]; Outputs: FixtureOutput[] }>
  > = {};
  for (const stage of STAGES) {
    const stacks = stageStacks(stage);
    const resolve = makeResolver(stacks);
    stages[stage] = stacks.map((stack) => ({
      StackName: stack.stackName,
      Region: stack.region,
      Parameters: Object.entries(stack.template.Parameters ?? {})
        .filter(([, p]) => String(p.Type).startsWith('AWS::SSM::Parameter::Value'))
        .map(([key, p]) => ({ ParameterKey: key, ParameterValue: String(p.Default) })),
      Outputs: Object.entries(stack.template.Outputs ?? {})
        // CDK's own cross-stack exports (ExportsOutput...) are wiring, not part of the contract the CLI reads.
        .filter(([key]) => !key.startsWith('ExportsOutput'))
        .map(([key, output]) => ({
          OutputKey: key,
          OutputValue: resolve(stack, output.Value),
        })),
    }));
  }
  const header = { generatedBy: 'npm run fixture:cli -w infra/aws (from the synthesized templates; do not edit)' };
  return `${JSON.stringify({ ...header, stages }, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(FIXTURE_FILE, cliFixture());
  console.log(`wrote ${FIXTURE_FILE}`);
}
