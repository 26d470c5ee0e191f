// AWS backend: how stack outputs are found and how AWS failures reach the operator (cause + next step).
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { toTierError } from '../src/aws/errors.js';
import { TierError } from '../src/backend.js';
import { awsError, backend, CLUSTER, mockAws, recorder, SERVICE, STACKS } from './aws-support.js';

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  aws = mockAws();
});

/** Asserts a TierError whose message and hint match. */
function tierError(message: RegExp, hint: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TierError, `expected TierError, got ${String(err)}`);
    assert.match(err.message, message);
    assert.match(err.hint ?? '', hint);
    return true;
  };
}

describe('stack outputs', () => {
  it('reads only the stacks of the chosen stage', async () => {
    aws.ecs.on(DescribeServicesCommand).resolves({ services: [] });
    await assert.rejects(backend().stop(recorder(), 'web'), /tier-dev-web/);
    const described = aws.ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input;
    assert.equal(described?.cluster, CLUSTER);
    assert.equal(CLUSTER, 'tier-dev', 'the dev stage names its cluster tier-dev (services stack)');
    assert.deepEqual(described?.services, [SERVICE.web]);
  });

  it('names the cdk deploy command when the stage has no stacks', async () => {
    aws.cfn.on(DescribeStacksCommand).resolves({ Stacks: STACKS.filter((s) => s.StackName?.startsWith('tier-prod')) });
    await assert.rejects(
      backend().status(),
      tierError(/no stacks named tier-dev-\*/, /npx cdk deploy --all -c stage=dev/),
    );
  });

  it('honours a custom stack prefix', async () => {
    await assert.rejects(backend({ stackPrefix: 'Tier-qa-' }).status(), tierError(/Tier-qa-\*/, /cdk deploy/));
  });

  it('names a missing output key', async () => {
    aws.cfn.on(DescribeStacksCommand).resolves({
      Stacks: STACKS.map((s) => ({
        ...s,
        Outputs: (s.Outputs ?? []).filter((o) => o.OutputKey !== 'BackupVaultName'),
      })),
    });
    await assert.rejects(
      backend().backupList(),
      tierError(/stack output BackupVaultName not found/, /redeploy infra\/aws/),
    );
  });

  it('turns expired credentials into "run aws sso login"', async () => {
    aws.cfn
      .on(DescribeStacksCommand)
      .rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    await assert.rejects(backend().status(), tierError(/credentials are missing or expired/, /aws sso login/));
  });

  it('names the IAM action that was denied', async () => {
    aws.ecs
      .on(DescribeServicesCommand)
      .rejects(awsError('AccessDeniedException', 'User: x is not authorized to perform: ecs:DescribeServices'));
    await assert.rejects(
      backend().status(),
      tierError(/AWS denied ecs:DescribeServices/, /grant ecs:DescribeServices/),
    );
  });

  it('rejects a stage name that cannot be one', () => {
    assert.throws(() => backend({ stage: 'Dev Stage' }), tierError(/not a stage name/, /--stage dev/));
  });
});

describe('error mapping', () => {
  const cases: [string, RegExp, RegExp][] = [
    ['ThrottlingException', /throttled/, /wait a minute/],
    ['ServiceNotFoundException', /ServiceNotFoundException/, /redeploy the stacks/],
    ['InvalidDBInstanceStateFault', /not in a state/, /wait until it is available/],
    ['DBInstanceNotFoundFault', /does not exist/, /--stage/],
    ['InvalidRestoreFault', /cannot restore/, /restore window/],
    ['CredentialsProviderError', /credentials/, /aws sso login/],
    ['SomethingNew', /AWS ecs:UpdateService failed: SomethingNew/, /TIER_DEBUG=1/],
  ];
  for (const [name, message, hint] of cases) {
    it(`maps ${name}`, () => {
      assert.ok(tierError(message, hint)(toTierError(awsError(name), 'ecs:UpdateService')));
    });
  }

  it('maps a missing region and an unreachable endpoint', () => {
    assert.ok(tierError(/no AWS region/, /--region/)(toTierError(new Error('Region is missing'), 'ecs:ListTasks')));
    const offline = Object.assign(new Error('getaddrinfo ENOTFOUND ecs.eu-west-1.amazonaws.com'), {
      code: 'ENOTFOUND',
    });
    assert.ok(tierError(/cannot reach AWS/, /network/)(toTierError(offline, 'ecs:ListTasks')));
  });
});

describe('commands that are not tier’s job on AWS', () => {
  it('up and down name the exact cdk command for the stage', async () => {
    await assert.rejects(
      backend().up(recorder()),
      tierError(/does not provision/, /npx cdk deploy --all -c stage=dev/),
    );
    await assert.rejects(
      backend({ stage: 'prod' }).down(recorder(), { volumes: false }),
      tierError(/does not delete/, /npx cdk destroy --all -c stage=prod.*deletion protection/),
    );
    assert.equal(aws.cfn.calls().length, 0);
  });

  it('backup verify points to a restore into a new instance', async () => {
    await assert.rejects(
      backend().backupVerify(recorder()),
      tierError(/not available for the aws target/, /tier restore --target aws/),
    );
  });

  it('stop and start name the tiers they accept', async () => {
    await assert.rejects(backend().stop(recorder(), 'edge'), tierError(/unknown tier 'edge'/, /web, api, db/));
  });
});
