// No function reserves concurrency: Lambda refuses a reservation that leaves less than 100 of the account's
// concurrency unreserved, and new accounts start with a reduced quota, so any reservation can fail a stage's first
// deploy in a new account (docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html, gettingstarted-limits).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Json } from './support/platform.js';
import { STAGES, stageStacks } from './support/templates.js';

for (const stage of STAGES) {
  describe(`Lambda functions of ${stage}`, () => {
    test('GIVEN every stack of the stage THEN no function sets ReservedConcurrentExecutions', () => {
      const functions = stageStacks(stage).flatMap((s) =>
        Object.entries(s.template.Resources)
          .filter(([, r]) => (r as Json).Type === 'AWS::Lambda::Function')
          .map(([id, r]) => ({ name: `${s.stackName}/${id}`, props: (r as Json).Properties })),
      );
      assert.ok(functions.length >= 2, `${stage}: the stage has its functions (restore validation, smoke test)`);
      const reserving = functions.filter((f) => f.props.ReservedConcurrentExecutions !== undefined);
      assert.deepEqual(
        reserving.map((f) => `${f.name}: ${f.props.ReservedConcurrentExecutions}`),
        [],
        'functions that reserve concurrency',
      );
    });
  });
}
