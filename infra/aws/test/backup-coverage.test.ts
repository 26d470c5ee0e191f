// Every mutable store in every stage's synthesized templates is either selected by the AWS Backup plan of its region
// or carries a written reason in lib/data/backup-coverage.ts; the docs say the same for AWS and the local environment.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  AWS_BACKUP_SUPPORTED_TYPES,
  NOT_BACKED_UP,
  notBackedUpReason,
  STATEFUL_TYPES,
} from '../lib/data/backup-coverage.js';
import type { Json } from './support/platform.js';
import { STAGES, type StageName, type SynthesizedStack, stageStacks } from './support/templates.js';

/** Deletion policies CDK gives resources that hold state (RemovalPolicy.RETAIN / SNAPSHOT). */
const KEEPS_STATE = ['Retain', 'Snapshot', 'RetainExceptOnCreate'];

interface Store {
  readonly stack: SynthesizedStack;
  readonly id: string;
  readonly type: string;
  readonly props: Json;
  readonly deletionPolicy?: string;
}

function stores(stage: StageName): Store[] {
  return stageStacks(stage).flatMap((stack) =>
    Object.entries(stack.template.Resources)
      .map(([id, r]) => ({
        stack,
        id,
        type: (r as Json).Type,
        props: (r as Json).Properties ?? {},
        deletionPolicy: (r as Json).DeletionPolicy,
      }))
      .filter(
        (s) => (STATEFUL_TYPES as readonly string[]).includes(s.type) || KEEPS_STATE.includes(s.deletionPolicy ?? ''),
      ),
  );
}

/** Tag conditions of the backup plans' selections, per region. */
function selectedTags(stage: StageName): Array<{ region: string; key: string; value: string }> {
  return stageStacks(stage).flatMap((stack) =>
    Object.values(stack.template.Resources)
      .filter((r) => (r as Json).Type === 'AWS::Backup::BackupSelection')
      .flatMap((r) =>
        ((r as Json).Properties.BackupSelection.ListOfTags ?? []).map((t: Json) => ({
          region: stack.region,
          key: t.ConditionKey,
          value: t.ConditionValue,
        })),
      ),
  );
}

const tagsOf = (props: Json): Array<{ Key: string; Value: string }> =>
  Array.isArray(props.Tags)
    ? props.Tags
    : props.Tags
      ? Object.entries(props.Tags).map(([Key, Value]) => ({ Key, Value: String(Value) }))
      : [];

for (const stage of STAGES) {
  describe(`mutable stores of ${stage}`, () => {
    test('GIVEN every resource that keeps state THEN its type is classified in lib/data/backup-coverage.ts', () => {
      for (const s of stores(stage)) {
        assert.ok(
          (STATEFUL_TYPES as readonly string[]).includes(s.type),
          `${s.stack.stackName} ${s.id} (${s.type}, DeletionPolicy ${s.deletionPolicy}) keeps state: add its type to STATEFUL_TYPES and cover it`,
        );
      }
    });

    test('GIVEN every stateful resource THEN the backup plan of its region selects it, or a written reason says why not', () => {
      const selections = selectedTags(stage);
      for (const s of stores(stage)) {
        const reason = notBackedUpReason(s.type, s.id);
        const selected = tagsOf(s.props).some((tag) =>
          selections.some((sel) => sel.region === s.stack.region && sel.key === tag.Key && sel.value === tag.Value),
        );
        const where = `${s.stack.stackName} ${s.id} (${s.type})`;
        if (selected) {
          assert.ok(
            AWS_BACKUP_SUPPORTED_TYPES.includes(s.type),
            `${where} is tagged for AWS Backup, which cannot back it up`,
          );
          assert.equal(reason, undefined, `${where} is backed up and also listed as not backed up`);
        } else {
          assert.ok(
            reason,
            `${where} is in no backup plan and has no reason in NOT_BACKED_UP (lib/data/backup-coverage.ts)`,
          );
        }
      }
    });

    test('the database and the log buckets are in the plan', () => {
      const backedUp = stores(stage).filter((s) => notBackedUpReason(s.type, s.id) === undefined);
      assert.equal(backedUp.filter((s) => s.type === 'AWS::RDS::DBInstance').length, 1);
      assert.equal(backedUp.filter((s) => s.type === 'AWS::S3::Bucket').length, 3);
      for (const bucket of backedUp.filter((s) => s.type === 'AWS::S3::Bucket')) {
        assert.equal(
          bucket.props.VersioningConfiguration?.Status,
          'Enabled',
          `${bucket.id}: AWS Backup needs versioning`,
        );
      }
    });

    test('the plan role may back up S3 as well as RDS', () => {
      const data = stageStacks(stage).find((s) => s.id === 'Data');
      assert.match(JSON.stringify(data?.template.Resources), /AWSBackupServiceRolePolicyForS3Backup/);
    });
  });
}

describe('the written reasons', () => {
  test('every reason still matches a resource of some stage (no stale excuses)', () => {
    const all = STAGES.flatMap((stage) => stores(stage));
    for (const entry of NOT_BACKED_UP) {
      assert.ok(
        all.some((s) => s.type === entry.type && (entry.logicalId === undefined || entry.logicalId.test(s.id))),
        `NOT_BACKED_UP "${entry.store}" matches no resource: delete it`,
      );
    }
  });

  test('infra/aws/README.md lists every store left out and how the rest is backed up', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### What is backed up'));
    assert.ok(section.length > 0 && readme.includes('### What is backed up'), 'a "What is backed up" section');
    for (const entry of NOT_BACKED_UP)
      assert.ok(section.includes(entry.store), `README does not name "${entry.store}"`);
    for (const needle of ['backup=daily', 'PostgreSQL', 'S3']) assert.ok(section.includes(needle), needle);
  });

  test('docs/operations.md says how the local database, central logs and metrics history are covered', () => {
    const ops = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const section = ops.slice(ops.indexOf('### What is backed up'));
    assert.ok(ops.includes('### What is backed up'), 'a "What is backed up" section in docs/operations.md');
    for (const needle of ['pgBackRest', 'central logs', 'Prometheus']) assert.ok(section.includes(needle), needle);
  });
});
