// A re-run of the build job for a commit already pushed: ECR tags are immutable, so an existing tag is the release;
// it is verified (the tag and its digest name the same image) and reused instead of pushed again.
import { BatchGetImageCommand, ECRClient } from '@aws-sdk/client-ecr';
import { digestOfTag } from './ecr-copy.js';

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>`, or undefined for another registry. */
export function parseEcrRepository(
  reference: string,
): { registryId: string; region: string; repositoryName: string } | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(reference);
  return m ? { registryId: m[1]!, region: m[2]!, repositoryName: m[3]! } : undefined;
}

/**
 * The digest `repository:tag` already holds, or undefined when the tag is new. Throws when the tag and the digest it
 * reports do not resolve to one image: the release is not what a re-run may reuse.
 */
export async function pushedRelease(
  repository: string,
  tag: string,
  ecrFor: (region: string) => ECRClient = (region) => new ECRClient({ region }),
): Promise<string | undefined> {
  const ref = parseEcrRepository(repository);
  if (!ref) return undefined;
  const ecr = ecrFor(ref.region);
  const repo = { ecr, registryId: ref.registryId, repositoryName: ref.repositoryName };
  const digest = await digestOfTag(repo, tag);
  if (!digest) return undefined;
  const got = await ecr.send(
    new BatchGetImageCommand({
      registryId: ref.registryId,
      repositoryName: ref.repositoryName,
      imageIds: [{ imageDigest: digest, imageTag: tag }],
    }),
  );
  const image = got.images?.[0];
  if (!/^sha256:[0-9a-f]{64}$/.test(digest) || !image?.imageManifest || image.imageId?.imageDigest !== digest) {
    throw Object.assign(
      new Error(
        `${repository}:${tag} exists but does not resolve to ${digest}: ${got.failures?.[0]?.failureReason ?? 'no manifest'}`,
      ),
      { hint: 'tags are immutable: find out what pushed this tag before releasing it' },
    );
  }
  return digest;
}
