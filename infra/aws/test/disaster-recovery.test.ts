// Specification of disaster recovery: the cross-region copy vault exists (its own stack, in the copy region), prod's
// vaults are locked, and a restore testing plan restores the database's latest recovery point every week.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../config/index.js';
import { type Json, platform, resourcesOf, template } from './support/platform.js';
import { makeResolver, stageStacks } from './support/templates.js';

describe('cross-region copy', () => {
  test('GIVEN prod copies its daily points THEN a backup-copy stack in eu-central-1 creates the vault the plan copies to', () => {
    const copy = platform('prod').backupCopy;
    assert.ok(copy, 'a backup-copy stack');
    assert.equal(copy.stackName, 'tier-prod-backup-copy');
    assert.equal(copy.region, 'eu-central-1');
    assert.equal(copy.terminationProtection, true);
    const t = template(copy);
    t.hasResourceProperties('AWS::Backup::BackupVault', {
      BackupVaultName: 'tier-prod-copy',
      EncryptionKeyArn: Match.anyValue(),
    });
    t.hasResource('AWS::Backup::BackupVault', { DeletionPolicy: 'Retain' });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test("the plan's copy action names exactly the vault the copy stack creates (ARN resolved, not assumed)", () => {
    const stacks = stageStacks('prod');
    const resolve = makeResolver(stacks);
    const copyStack = stacks.find((s) => s.id === 'BackupCopy');
    const data = stacks.find((s) => s.id === 'Data');
    assert.ok(copyStack && data);
    const [vaultId, vault] = Object.entries(copyStack.template.Resources).find(
      ([, r]) => (r as Json).Type === 'AWS::Backup::BackupVault',
    ) as [string, Json];
    const created = `arn:aws:backup:${copyStack.region}:${copyStack.account}:backup-vault:${vault.Properties.BackupVaultName}`;
    const [, plan] = resourcesOf(template(platform('prod').data), 'AWS::Backup::BackupPlan')[0] as [string, Json];
    const daily = plan.Properties.BackupPlan.BackupPlanRule.find((r: Json) => r.RuleName === 'daily');
    assert.equal(resolve(data, daily.CopyActions[0].DestinationBackupVaultArn), created, `copies go to ${vaultId}`);
    assert.equal(loadStageConfig('prod').backup.copyToVaultArn, created);
  });

  test('the copy vault is deployed before the data stack whose plan copies into it', () => {
    const { data, backupCopy } = platform('prod');
    assert.ok(backupCopy && data.dependencies.includes(backupCopy));
  });

  test('dev copies nowhere and has no copy stack', () => {
    assert.equal(platform('dev').backupCopy, undefined);
    const [, plan] = resourcesOf(template(platform('dev').data), 'AWS::Backup::BackupPlan')[0] as [string, Json];
    for (const rule of plan.Properties.BackupPlan.BackupPlanRule) assert.equal(rule.CopyActions, undefined);
  });
});

describe('vault lock', () => {
  test('prod locks both vaults in compliance mode: minimum = daily retention, changeable for 3 days', () => {
    const daily = loadStageConfig('prod').backup.dailyRetentionDays;
    for (const stack of [platform('prod').data, platform('prod').backupCopy]) {
      assert.ok(stack);
      template(stack).hasResourceProperties('AWS::Backup::BackupVault', {
        LockConfiguration: { MinRetentionDays: daily, ChangeableForDays: 3, MaxRetentionDays: Match.absent() },
      });
    }
  });

  test('every rule of a locked vault keeps its points at least the minimum (a shorter one would fail every job)', () => {
    const t = template(platform('prod').data);
    const [, vault] = resourcesOf(t, 'AWS::Backup::BackupVault')[0] as [string, Json];
    const [, plan] = resourcesOf(t, 'AWS::Backup::BackupPlan')[0] as [string, Json];
    const min = vault.Properties.LockConfiguration.MinRetentionDays;
    for (const rule of plan.Properties.BackupPlan.BackupPlanRule) {
      assert.ok(rule.Lifecycle.DeleteAfterDays >= min, `${rule.RuleName} keeps ${rule.Lifecycle.DeleteAfterDays} d`);
      for (const c of rule.CopyActions ?? []) assert.ok(c.Lifecycle.DeleteAfterDays >= min, `${rule.RuleName} copy`);
    }
  });

  test('dev does not lock its vault (recovery points can be cleaned up with the stage)', () => {
    template(platform('dev').data).hasResourceProperties('AWS::Backup::BackupVault', {
      LockConfiguration: Match.absent(),
    });
  });
});

describe('restore testing', () => {
  for (const stage of ['dev', 'prod'] as const) {
    test(`${stage}: a restore testing plan restores the latest RDS point of the stage vault into the DB subnet group, at most 4 days apart`, () => {
      const t = template(platform(stage).data);
      const [, plan] = resourcesOf(t, 'AWS::Backup::RestoreTestingPlan')[0] as [string, Json];
      assert.ok(plan, 'a restore testing plan');
      // The overdue alarm's window is one week (CloudWatch's longest): tests at most 4 days apart leave it 3 days of grace.
      const days = plan.Properties.ScheduleExpression.match(/^cron\(\d+ \d+ \? \* ([A-Z,]+) \*\)$/)?.[1]?.split(',');
      const week = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
      const at = (days ?? []).map((d: string) => week.indexOf(d)).sort((a: number, b: number) => a - b);
      assert.ok(at.length > 0 && !at.includes(-1), `days of the week in ${plan.Properties.ScheduleExpression}`);
      const gaps = at.map((d: number, i: number) => (i + 1 < at.length ? at[i + 1]! : at[0]! + 7) - d);
      assert.ok(Math.max(...gaps) <= 4, `tests ${at.join(',')} leave a gap of ${Math.max(...gaps)} days`);
      const selection = plan.Properties.RecoveryPointSelection;
      assert.equal(selection.Algorithm, 'LATEST_WITHIN_WINDOW');
      assert.deepEqual(selection.RecoveryPointTypes, ['SNAPSHOT']);
      assert.match(JSON.stringify(selection.IncludeVaults), /BackupVault/, 'the stage vault');

      const [, sel] = resourcesOf(t, 'AWS::Backup::RestoreTestingSelection')[0] as [string, Json];
      assert.equal(sel.Properties.ProtectedResourceType, 'RDS');
      assert.deepEqual(sel.Properties.ProtectedResourceConditions.StringEquals, [
        { Key: 'aws:ResourceTag/backup', Value: 'daily' },
      ]);
      assert.equal(sel.Properties.RestoreTestingPlanName, plan.Properties.RestoreTestingPlanName);
      assert.ok(sel.Properties.ValidationWindowHours >= 1 && sel.Properties.ValidationWindowHours <= 168);
      const [, db] = resourcesOf(t, 'AWS::RDS::DBInstance')[0] as [string, Json];
      assert.deepEqual(
        sel.Properties.RestoreMetadataOverrides.dbsubnetgroupname,
        db.Properties.DBSubnetGroupName,
        'the instance subnet group, not the default VPC',
      );
      assert.match(JSON.stringify(sel.Properties.IamRoleArn), /RestoreTestingRole/);
      t.hasResourceProperties('AWS::IAM::Role', {
        ManagedPolicyArns: Match.arrayWith([
          Match.objectLike({
            'Fn::Join': Match.arrayWith([
              Match.arrayWith([Match.stringLikeRegexp('AWSBackupServiceRolePolicyForRestores')]),
            ]),
          }),
        ]),
      });
    });
  }

  test('restore testing names use only letters, digits and underscores (at most 50)', () => {
    const t = template(platform('prod').data);
    for (const [, r] of [
      ...resourcesOf(t, 'AWS::Backup::RestoreTestingPlan'),
      ...resourcesOf(t, 'AWS::Backup::RestoreTestingSelection'),
    ]) {
      for (const name of [r.Properties.RestoreTestingPlanName, r.Properties.RestoreTestingSelectionName].filter(
        Boolean,
      )) {
        assert.match(name, /^[A-Za-z0-9_]{1,50}$/);
      }
    }
  });
});
