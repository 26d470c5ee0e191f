// Conformance: the database setup of every stage is one RDS accepts. RDS cannot create a read replica when the
// source manages its master password in Secrets Manager (all engines but SQL Server; "Limitations for Secrets
// Manager integration with Amazon RDS", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Json } from './support/platform.js';
import { STAGES, stageStacks } from './support/templates.js';

for (const stage of STAGES) {
  describe(`the ${stage} database`, () => {
    const instances = () =>
      stageStacks(stage).flatMap((stack) =>
        Object.entries(stack.template.Resources)
          .filter(([, r]) => (r as Json).Type === 'AWS::RDS::DBInstance')
          .map(([id, r]) => ({ stack, id, props: (r as Json).Properties ?? {} })),
      );

    test('GIVEN an instance whose master password RDS manages THEN no read replica is created from it', () => {
      for (const replica of instances().filter((i) => i.props.SourceDBInstanceIdentifier !== undefined)) {
        const source = replica.props.SourceDBInstanceIdentifier;
        // CDK names the source by ARN: Fn::Join of arn:aws:rds:...:db: and a Ref to the instance.
        const sourceId = /"Ref":"([^"]+)"/.exec(JSON.stringify(source))?.[1];
        const sourceProps = sourceId ? replica.stack.template.Resources[sourceId]?.Properties : undefined;
        assert.ok(sourceProps, `${replica.stack.stackName} ${replica.id}: source ${JSON.stringify(source)} not found`);
        assert.notEqual(
          sourceProps.ManageMasterUserPassword,
          true,
          `${replica.stack.stackName} ${replica.id} replicates ${sourceId}, whose password RDS manages: RDS refuses to create it`,
        );
      }
    });

    test('the primary keeps the RDS-managed, rotated master password', () => {
      const primaries = instances().filter((i) => i.props.SourceDBInstanceIdentifier === undefined);
      assert.equal(primaries.length, 1, `${stage}: one primary instance`);
      assert.equal(primaries[0]?.props.ManageMasterUserPassword, true);
    });
  });
}
