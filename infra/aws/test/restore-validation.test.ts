// The restore test validation: the function's check at the SDK boundary (fake clients record every call), and the
// rule that runs it for exactly the stage's restore testing jobs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateRestore } from '../lib/data/restore-validation/index.mjs';
import { type Json, platform, resourcesOf, template } from './support/platform.js';

/** Commands as plain records, so the test sees what would be sent. */
const command = (name: string) =>
  class {
    readonly name = name;
    constructor(readonly input: object) {}
  };
const commands = {
  DescribeRestoreJobCommand: command('DescribeRestoreJob'),
  PutRestoreValidationResultCommand: command('PutRestoreValidationResult'),
  DescribeDBInstancesCommand: command('DescribeDBInstances'),
};

function fakeClients(job: Json, instance: Json | undefined) {
  const sent: Array<{ name: string; input: Json }> = [];
  const client = (answer: (c: { name: string; input: Json }) => Json) => ({
    send: async (c: unknown) => {
      const recorded = c as { name: string; input: Json };
      sent.push(recorded);
      return answer(recorded);
    },
  });
  return {
    sent,
    clients: {
      backup: client((c) => (c.name === 'DescribeRestoreJob' ? job : {})),
      rds: client(() => ({ DBInstances: instance ? [instance] : [] })),
    },
  };
}

const testEvent = {
  detail: {
    restoreJobId: 'job-1',
    status: 'COMPLETED',
    restoreTestingPlanArn: 'arn:aws:backup:x:1:restore-testing-plan:p',
  },
};
const restored = { CreatedResourceArn: 'arn:aws:rds:us-east-1:111111111111:db:awsbackup-restore-test-abc' };

describe('restore validation function', () => {
  test('GIVEN a restored instance that is available, encrypted and private THEN SUCCESSFUL is reported on the job', async () => {
    const { sent, clients } = fakeClients(restored, {
      DBInstanceStatus: 'available',
      StorageEncrypted: true,
      PubliclyAccessible: false,
    });
    const result = await validateRestore(testEvent, clients, commands);
    assert.equal(result.status, 'SUCCESSFUL');
    assert.deepEqual(sent[1]?.input, { DBInstanceIdentifier: 'awsbackup-restore-test-abc' });
    assert.equal(sent[2]?.name, 'PutRestoreValidationResult');
    assert.deepEqual(sent[2]?.input, {
      RestoreJobId: 'job-1',
      ValidationStatus: 'SUCCESSFUL',
      ValidationStatusMessage: result.message,
    });
  });

  test('GIVEN a restored instance that is public or unencrypted THEN FAILED is reported with the reasons', async () => {
    const { sent, clients } = fakeClients(restored, {
      DBInstanceStatus: 'available',
      StorageEncrypted: false,
      PubliclyAccessible: true,
    });
    const result = await validateRestore(testEvent, clients, commands);
    assert.equal(result.status, 'FAILED');
    assert.match(result.message, /not encrypted.*publicly accessible/);
    assert.equal(sent.at(-1)?.input.ValidationStatus, 'FAILED');
  });

  test('GIVEN a job that created no instance THEN FAILED is reported', async () => {
    const { sent, clients } = fakeClients({}, undefined);
    const result = await validateRestore(testEvent, clients, commands);
    assert.equal(result.status, 'FAILED');
    assert.equal(sent.at(-1)?.input.ValidationStatus, 'FAILED');
  });

  test('GIVEN a restore that is not a restore test THEN nothing is called', async () => {
    const { sent, clients } = fakeClients(restored, undefined);
    const result = await validateRestore({ detail: { restoreJobId: 'job-2', status: 'COMPLETED' } }, clients, commands);
    assert.equal(result.status, 'SKIPPED');
    assert.equal(sent.length, 0);
  });
});

describe('restore validation wiring', () => {
  for (const stage of ['dev', 'prod'] as const) {
    test(`${stage}: completed jobs of the stage's restore testing plan invoke the function, which logs to an encrypted group`, () => {
      const t = template(platform(stage).data);
      const [[planId]] = resourcesOf(t, 'AWS::Backup::RestoreTestingPlan') as [[string, Json]];
      const rules = resourcesOf(t, 'AWS::Events::Rule');
      const rule = rules.find(([, r]) =>
        r.Properties.EventPattern?.['detail-type']?.includes('Restore Job State Change'),
      );
      assert.ok(rule, 'a restore-job rule in the data stack');
      assert.deepEqual(rule[1].Properties.EventPattern.detail, {
        status: ['COMPLETED'],
        restoreTestingPlanArn: [{ 'Fn::GetAtt': [planId, 'RestoreTestingPlanArn'] }],
      });
      const [[fnId, fn]] = resourcesOf(t, 'AWS::Lambda::Function') as [[string, Json]];
      assert.match(JSON.stringify(rule[1].Properties.Targets), new RegExp(fnId));
      assert.equal(fn.Properties.ReservedConcurrentExecutions, 1);
      const group = resourcesOf(t, 'AWS::Logs::LogGroup').find(([, g]) =>
        /restore-validation/.test(g.Properties.LogGroupName),
      );
      assert.ok(group?.[1].Properties.KmsKeyId, 'an encrypted log group');
    });
  }
});
