// ci:infra's reading of the CDK CLI: the stacks of a cloud assembly and the resource counts of a `cdk diff`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { countChanges, stacksOf } from '../infra.js';

describe('ci:infra', () => {
  it('counts the resources a cdk diff adds, changes and removes, not its IAM table', () => {
    const diff = [
      'Stack Data',
      'IAM Statement Changes',
      '[+] Allow kms:Decrypt',
      'Resources',
      '[+] AWS::KMS::Key DataKey DataKey17AFBB84',
      '[+] AWS::SNS::Topic Alerts Alerts1234',
      '[~] AWS::RDS::DBInstance Database Database5678',
      '[-] AWS::S3::Bucket Old Old9',
      '',
      '✨  Number of stacks with differences: 1',
    ].join('\n');
    assert.deepEqual(countChanges(diff), { added: 2, changed: 1, removed: 1 });
    assert.deepEqual(countChanges('Stack Data\nThere were no differences\n'), { added: 0, changed: 0, removed: 0 });
  });

  it('lists the CloudFormation stacks of a cloud assembly with their templates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'assembly-'));
    try {
      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify({
          artifacts: {
            Data: {
              type: 'aws:cloudformation:stack',
              displayName: 'Data',
              properties: { templateFile: 'Data.template.json' },
            },
            'Data.assets': { type: 'cdk:asset-manifest' },
          },
        }),
      );
      assert.deepEqual(stacksOf(dir), [{ id: 'Data', displayName: 'Data', templateFile: 'Data.template.json' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
