// The names contract (packages/contract) against every stage's synthesized templates, and the CLI's generated fixture
// against a fresh generation: the outputs tier reads are the outputs the stacks emit, under names unique per stage.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  exportName,
  OPTIONAL_STACK_CONCERNS,
  type OutputKey,
  STACK_CONCERNS,
  STACK_OUTPUTS,
  type StackConcern,
  stackName,
} from '../../../packages/contract/src/index.js';
import { cliFixture, FIXTURE_FILE } from '../scripts/cli-fixture.js';
import { STAGES, stageStacks } from './support/templates.js';

/** CDK's own cross-stack wiring (`ExportsOutputRef...`), not part of what the stacks offer to operators. */
const isCdkWiring = (key: string) => key.startsWith('ExportsOutput');

for (const stage of STAGES) {
  describe(`stack outputs of ${stage} follow the contract`, () => {
    test('every stack is named tier-<stage>-<concern> for a concern the contract knows, and no required one is missing', () => {
      const names = stageStacks(stage).map((s) => s.stackName);
      const known = STACK_CONCERNS.map((c) => stackName(stage, c));
      for (const name of names) assert.ok(known.includes(name), `${name} is not in packages/contract STACK_CONCERNS`);
      for (const concern of STACK_CONCERNS.filter((c) => !OPTIONAL_STACK_CONCERNS.includes(c))) {
        assert.ok(names.includes(stackName(stage, concern)), `${stage} has no ${stackName(stage, concern)} stack`);
      }
    });

    test('GIVEN each stack WHEN synthesized THEN it emits exactly the outputs the contract lists', () => {
      for (const stack of stageStacks(stage)) {
        const concern = stack.stackName.slice(`tier-${stage}-`.length) as StackConcern;
        const emitted = Object.keys(stack.template.Outputs ?? {})
          .filter((k) => !isCdkWiring(k))
          .sort();
        const listed = [...((STACK_OUTPUTS as Partial<Record<StackConcern, readonly string[]>>)[concern] ?? [])].sort();
        assert.deepEqual(emitted, listed, `${stack.stackName}: outputs in the template vs packages/contract`);
      }
    });

    test('every exported output is exported as tier-<stage>-<OutputKey>, so two stages never collide', () => {
      for (const stack of stageStacks(stage)) {
        for (const [key, output] of Object.entries(stack.template.Outputs ?? {})) {
          if (isCdkWiring(key) || output.Export === undefined) continue;
          assert.equal(output.Export.Name, exportName(stage, key as OutputKey), `${stack.stackName} ${key}`);
        }
      }
    });
  });
}

describe('export names across stages', () => {
  test('no export name of one stage is used by another (stages may share an account and region)', () => {
    const owner = new Map<string, string>();
    for (const stage of STAGES) {
      for (const stack of stageStacks(stage)) {
        for (const output of Object.values(stack.template.Outputs ?? {})) {
          const name = output.Export?.Name;
          if (typeof name !== 'string') continue;
          assert.ok(
            !owner.has(name) || owner.get(name) === stage,
            `${name} is exported by ${owner.get(name)} and ${stage}`,
          );
          owner.set(name, stage);
        }
      }
    }
  });
});

describe("the CLI's fixture", () => {
  test('packages/tier/test/fixtures/describe-stacks.json is what the synthesized templates produce now', () => {
    assert.equal(
      readFileSync(FIXTURE_FILE, 'utf8'),
      cliFixture(),
      'the committed fixture is stale: run `npm run fixture:cli -w infra/aws` and commit it',
    );
  });
});
