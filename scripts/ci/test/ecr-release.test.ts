// Re-running the build job for a commit already pushed: the existing tag is verified and reused, at the SDK boundary.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { BatchGetImageCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { parseEcrRepository, pushedRelease } from '../lib/ecr-release.js';

const ecr = mockClient(ECRClient);
const REPO = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/tier-dev/web';
const TAG = 'a'.repeat(40);
const DIGEST = `sha256:${'d'.repeat(64)}`;
const notFound = () => Object.assign(new Error('not found'), { name: 'ImageNotFoundException' });

beforeEach(() => ecr.reset());

describe('pushedRelease', () => {
  it('GIVEN the tag is new THEN nothing is reused', async () => {
    ecr.on(DescribeImagesCommand).rejects(notFound());
    assert.equal(await pushedRelease(REPO, TAG, () => new ECRClient({})), undefined);
  });

  it('GIVEN the tag exists THEN its digest is verified against the image and reused', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: [TAG] }] });
    ecr.on(BatchGetImageCommand).resolves({
      images: [{ imageId: { imageDigest: DIGEST, imageTag: TAG }, imageManifest: '{}' }],
      failures: [],
    });
    assert.equal(await pushedRelease(REPO, TAG, () => new ECRClient({})), DIGEST);
    assert.deepEqual(ecr.commandCalls(DescribeImagesCommand)[0]!.args[0].input, {
      registryId: '111111111111',
      repositoryName: 'tier-dev/web',
      imageIds: [{ imageTag: TAG }],
    });
    assert.deepEqual(ecr.commandCalls(BatchGetImageCommand)[0]!.args[0].input.imageIds, [
      { imageDigest: DIGEST, imageTag: TAG },
    ]);
  });

  it('GIVEN the tag and its digest do not resolve to one image THEN it refuses to reuse it', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecr.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [{ failureCode: 'ImageTagDoesNotMatchDigest', failureReason: 'tag does not match digest' }],
    });
    await assert.rejects(
      pushedRelease(REPO, TAG, () => new ECRClient({})),
      /does not resolve.*tag does not match/,
    );
  });

  it('reads account, region and repository from an ECR reference, and ignores other registries', () => {
    assert.deepEqual(parseEcrRepository(REPO), {
      registryId: '111111111111',
      region: 'eu-west-1',
      repositoryName: 'tier-dev/web',
    });
    assert.equal(parseEcrRepository('localhost:5000/tier-web'), undefined);
  });
});
