// Infrastructure is delivered, not only detected: a pull request gets each stage's cdk diff as an artifact, and on
// main each stage's job deploys its stacks (through its own role, after the credentials step and before the services
// take the new version) whenever change detection says infrastructure changed; production waits for its approval.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type WorkflowFileJob, type WorkflowStep, workflowFile } from './conformance/workflows.js';

const workflow = workflowFile;
type Step = WorkflowStep;
type Job = WorkflowFileJob;
const at = (job: Job, pred: (s: Step) => boolean) => job.steps.findIndex(pred);
const runs = (script: string) => (s: Step) => s.run?.includes(`npm run ${script}`) === true;

describe('infrastructure delivery in the workflows', () => {
  const main = workflow('main.yml');
  for (const [job, stage, environment] of [
    ['staging', '$STAGING_STAGE', 'staging'],
    ['production', '$PRODUCTION_STAGE', 'production'],
  ] as const) {
    it(`main's ${job} job deploys the stacks of ${stage} when infrastructure changed, before the services move`, () => {
      const j = main.jobs[job];
      assert.ok(j, `main.yml has no ${job} job`);
      const name = typeof j.environment === 'string' ? j.environment : j.environment?.name;
      assert.equal(name, environment, `${job} runs in the ${environment} environment (its role trusts only that)`);
      // Staging runs for an infrastructure-only change (no build); production follows a successful staging.
      if (job === 'staging')
        assert.match(
          j.if ?? '',
          /needs\.changes\.outputs\.infra == 'true'/,
          'staging runs for an infrastructure-only change',
        );
      const deploy = at(j, runs('ci:infra -- deploy'));
      assert.ok(deploy >= 0, `${job} never runs ci:infra deploy`);
      const step = j.steps[deploy]!;
      assert.match(step.run ?? '', new RegExp(`--stage "\\${stage}"`), `${job} deploys its own stage`);
      assert.equal(
        step.if,
        "needs.changes.outputs.infra == 'true'",
        `${job} deploys the stacks only when they changed`,
      );
      const credentials = at(j, (s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@') === true);
      assert.ok(credentials >= 0 && credentials < deploy, 'the stage role is assumed before the stacks deploy');
      assert.ok(deploy < at(j, runs('ci:deploy')), 'the stacks deploy before the services take the new version');
    });
  }

  it("production's job only runs after staging succeeded (and waits for the environment's approval)", () => {
    const j = main.jobs.production!;
    assert.match(j.if ?? '', /needs\.staging\.result == 'success'/);
  });

  it('a pull request gets the cdk diff of every stage as an artifact', () => {
    const j = workflow('pr.yml').jobs['infra-diff'];
    assert.ok(j, 'pr.yml has no infra-diff job');
    const diff = at(j, runs('ci:infra -- diff'));
    assert.ok(diff >= 0, 'infra-diff runs no ci:infra diff');
    for (const stage of ['dev', 'prod']) assert.match(j.steps[diff]!.run ?? '', new RegExp(`--stage ${stage}\\b`));
    const upload = at(j, (s) => s.uses?.startsWith('actions/upload-artifact@') === true);
    assert.ok(upload > diff, 'the diff is uploaded after it is made');
    assert.equal(j.steps[upload]!.with?.['if-no-files-found'], 'error', 'a missing diff fails the job');
  });
});
