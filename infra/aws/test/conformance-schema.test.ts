// Conformance: every resource of every stage is one CloudFormation accepts by its resource specification
// (@aws-cdk/aws-service-spec, as bundled with the aws-cdk CLI): known type, required properties, no unknown property
// at any depth, literal values of the declared kind, Fn::GetAtt of real attributes. L1 resources (restore testing,
// monitoring subscription, WAF) are typed only as far as the CDK's generated classes go; this reads the result.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STATEFUL_TYPES } from '../lib/data/backup-coverage.js';
import { cfnSpec, specProblems } from './support/cfn-spec.js';
import type { Json } from './support/platform.js';
import { STAGES, stageStacks } from './support/templates.js';

describe('the resource specification check itself', () => {
  test('GIVEN a restore testing selection without its required role and with a misspelt property THEN both are reported', () => {
    const problems = specProblems(
      {
        Sel: {
          Type: 'AWS::Backup::RestoreTestingSelection',
          Properties: {
            ProtectedResourceType: 'RDS',
            RestoreTestingPlanName: 'p',
            RestoreTestingSelectionName: 's',
            ValidationWindowHour: 4,
          },
        },
      },
      'Sel',
    );
    assert.ok(
      problems.some((p) => /IamRoleArn: required/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /ValidationWindowHour: not a property/.test(p)),
      problems.join('\n'),
    );
  });

  test('GIVEN a vault lock with a string where an integer belongs THEN it is reported', () => {
    const problems = specProblems(
      {
        V: {
          Type: 'AWS::Backup::BackupVault',
          Properties: { BackupVaultName: 'v', LockConfiguration: { MinRetentionDays: 'thirty' } },
        },
      },
      'V',
    );
    assert.ok(
      problems.some((p) => /MinRetentionDays: expected integer/.test(p)),
      problems.join('\n'),
    );
  });
});

for (const stage of STAGES) {
  describe(`resources of ${stage} against the CloudFormation resource specification`, () => {
    test('GIVEN every resource of every stack THEN its properties are ones its type defines, with the required ones', () => {
      const problems = stageStacks(stage).flatMap((stack) =>
        Object.keys(stack.template.Resources).flatMap((id) =>
          specProblems(stack.template.Resources, id).map((p) => `${stack.stackName} ${p}`),
        ),
      );
      assert.deepEqual(problems, []);
    });

    test('GIVEN every type the specification marks stateful THEN lib/data/backup-coverage.ts classifies it', () => {
      for (const stack of stageStacks(stage)) {
        for (const [id, r] of Object.entries(stack.template.Resources)) {
          const type = (r as Json).Type as string;
          if (cfnSpec().resources.get(type)?.isStateful) {
            assert.ok(
              (STATEFUL_TYPES as readonly string[]).includes(type),
              `${stack.stackName} ${id}: ${type} is stateful by the specification; classify it in STATEFUL_TYPES`,
            );
          }
        }
      }
    });
  });
}
