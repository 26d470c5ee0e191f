// The operator role of a stage: who may assume it (configurable, MFA and one hour by default) and that the stage
// configuration refuses a trust that would drop MFA for a whole account. What it may do is checked by running the
// operator commands through a policy evaluator (scripts/ci/test/operator-iam.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { dev } from '../config/dev.js';
import { type StageConfig, validateStageConfig } from '../config/index.js';
import { OperatorAccess, operatorRoleName } from '../lib/access/operator-access.js';

function operatorTemplate(config: StageConfig): Template {
  const stack = new Stack(new App(), 'Access', { env: { account: config.account, region: config.region } });
  new OperatorAccess(stack, 'Operator', { config });
  return Template.fromStack(stack);
}

const SSO_ROLE =
  'arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_TierOperator_0123456789abcdef';

describe('operator role', () => {
  test('GIVEN no operator config THEN the stage account may assume it with MFA, for at most one hour', () => {
    operatorTemplate(dev).hasResourceProperties('AWS::IAM::Role', {
      RoleName: operatorRoleName('dev'),
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::111111111111:root' },
            Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
          },
        ],
      },
    });
  });

  test('GIVEN an Identity Center role without the MFA key THEN exactly that role is trusted', () => {
    const config = { ...dev, operator: { trustedPrincipals: [SSO_ROLE], requireMfa: false } };
    validateStageConfig(config);
    operatorTemplate(config).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: SSO_ROLE }, Condition: Match.absent() },
        ],
      },
    });
  });

  test('MFA cannot be turned off for a whole account, nor without naming the principals', () => {
    const root = { ...dev, operator: { trustedPrincipals: ['arn:aws:iam::111111111111:root'], requireMfa: false } };
    assert.throws(() => validateStageConfig(root), /operator\.requireMfa is false but .*:root/);
    assert.throws(
      () => validateStageConfig({ ...dev, operator: { requireMfa: false } }),
      /without operator\.trustedPrincipals/,
    );
  });

  test('a principal that is not an account root or a role ARN is refused, naming the field', () => {
    const user = { ...dev, operator: { trustedPrincipals: ['arn:aws:iam::111111111111:user/alice'] } };
    assert.throws(() => validateStageConfig(user), /config\/dev\.ts: operator\.trustedPrincipals .* must be/);
    assert.throws(() => validateStageConfig({ ...dev, operator: { trustedPrincipals: [] } }), /is empty/);
  });
});
