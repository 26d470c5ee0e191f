// main's build job gates and attests what it pushes: the SBOM of each image is read back by digest, the scan gate runs
// before anything is attested, and each tier's pushed digest gets a provenance and an SBOM attestation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TIERS } from '@tier/cli';
import { type WorkflowStep, workflowFile } from './conformance/workflows.js';

const workflow = workflowFile;
type Step = WorkflowStep;
const build = workflow('main.yml').jobs.build!;
const index = (pred: (s: Step) => boolean) => build.steps.findIndex(pred);
const runs = (script: string) => (s: Step) => s.run?.includes(`npm run ${script}`) === true;
const attests = build.steps.filter((s) => s.uses?.startsWith('actions/attest@'));

describe("main's build job: supply chain", () => {
  it('pushes, then writes each image SBOM, then gates on the scan, and only then attests', () => {
    const [images, sbom, scan] = [index(runs('ci:images')), index(runs('ci:sbom')), index(runs('ci:scan'))];
    const firstAttest = index((s) => s.uses?.startsWith('actions/attest@') === true);
    assert.ok(
      images >= 0 && images < sbom && sbom < scan && scan < firstAttest,
      `${images} ${sbom} ${scan} ${firstAttest}`,
    );
    assert.equal(build.steps[sbom]!.id, 'sbom', 'the attestations read the ci:sbom step outputs');
  });

  it('may sign (id-token) and store attestations, and nothing more than it had', () => {
    assert.deepEqual(build.permissions, { contents: 'read', 'id-token': 'write', attestations: 'write' });
  });

  for (const tier of TIERS) {
    it(`attests provenance and the SBOM of the pushed ${tier} digest, only when ${tier} was pushed`, () => {
      const mine = attests.filter((s) => s.with?.['subject-digest'] === `\${{ steps.sbom.outputs.${tier}_digest }}`);
      assert.deepEqual(
        mine.map((s) => ({ if: s.if, name: s.with?.['subject-name'], sbom: s.with?.['sbom-path'] })),
        [
          {
            if: `steps.sbom.outputs.${tier}_digest != ''`,
            name: `\${{ steps.sbom.outputs.${tier}_subject }}`,
            sbom: undefined,
          },
          {
            if: `steps.sbom.outputs.${tier}_digest != ''`,
            name: `\${{ steps.sbom.outputs.${tier}_subject }}`,
            sbom: `\${{ steps.sbom.outputs.${tier}_sbom }}`,
          },
        ],
      );
      // Kept in GitHub's attestation store only (docs/pipeline.md: why not in ECR).
      for (const s of mine) assert.equal(s.with?.['push-to-registry'], undefined);
    });
  }

  it('ci:sbom sets exactly the outputs the attestation steps read', () => {
    const source = readFileSync(new URL('../sbom.ts', import.meta.url), 'utf8');
    for (const output of ['sbom', 'subject', 'digest'])
      assert.ok(source.includes(`setOutput(\`\${image.tier}_${output}\``), `ci:sbom sets <tier>_${output}`);
  });

  it('the release artifact carries the SBOMs and the scan reports, also of a run the gate stopped', () => {
    const upload = build.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    assert.equal(upload.if, `\${{ !cancelled() }}`);
    assert.deepEqual(upload.with?.path?.trim().split('\n'), ['.tier/images.json', '.tier/sbom/', '.tier/scan/']);
  });
});

describe('pull requests: the same gate on the images they build', () => {
  const images = workflow('pr.yml').jobs.images!;
  it('writes each image SBOM and gates on the scan after building', () => {
    const at = (script: string) => images.steps.findIndex(runs(script));
    assert.ok(at('ci:images') >= 0 && at('ci:images') < at('ci:sbom') && at('ci:sbom') < at('ci:scan'));
  });
});
