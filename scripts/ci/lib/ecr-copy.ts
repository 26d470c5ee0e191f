// Copies one image by digest between ECR repositories through the ECR API (any region): the bytes staging tested, never rebuilt.
import {
  BatchCheckLayerAvailabilityCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';

export interface RepositoryRef {
  /** A client for the repository's region, with credentials that may read (source) or push (target) it. */
  readonly ecr: ECRClient;
  readonly registryId: string;
  readonly repositoryName: string;
}

export interface CopyOptions {
  readonly source: RepositoryRef;
  readonly target: RepositoryRef;
  /** `sha256:<64 hex>` of the manifest (or index) to copy. */
  readonly digest: string;
  /** The immutable tag the copy gets in the target. */
  readonly tag: string;
  /** Downloads a layer from the pre-signed URL ECR hands out. @default global fetch */
  readonly download?: (url: string) => Promise<Uint8Array>;
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const ACCEPTED = [
  ...INDEX_TYPES,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
/** ECR accepts layer parts of at least 5 MiB (the last part may be smaller). */
const PART_BYTES = 20 * 1024 * 1024;

const ids = (r: RepositoryRef) => ({ registryId: r.registryId, repositoryName: r.repositoryName });

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`layer download answered ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function getManifest(source: RepositoryRef, digest: string) {
  const out = await source.ecr.send(
    new BatchGetImageCommand({ ...ids(source), imageIds: [{ imageDigest: digest }], acceptedMediaTypes: ACCEPTED }),
  );
  const image = out.images?.[0];
  if (!image?.imageManifest) {
    throw Object.assign(new Error(`${source.repositoryName}@${digest} not found`), {
      hint: 'promote the digest the build job pushed (needs.build.outputs.<tier>_digest)',
    });
  }
  return { manifest: image.imageManifest, mediaType: image.imageManifestMediaType };
}

async function copyBlobs(opts: CopyOptions, digests: string[]): Promise<void> {
  const { source, target } = opts;
  if (digests.length === 0) return;
  const available = await target.ecr.send(
    new BatchCheckLayerAvailabilityCommand({ ...ids(target), layerDigests: digests }),
  );
  const present = new Set(
    (available.layers ?? []).filter((l) => l.layerAvailability === 'AVAILABLE').map((l) => l.layerDigest),
  );
  for (const digest of digests.filter((d) => !present.has(d))) {
    const { downloadUrl } = await source.ecr.send(
      new GetDownloadUrlForLayerCommand({ ...ids(source), layerDigest: digest }),
    );
    if (!downloadUrl) throw new Error(`no download URL for ${digest}`);
    const bytes = await (opts.download ?? fetchBytes)(downloadUrl);
    const { uploadId } = await target.ecr.send(new InitiateLayerUploadCommand(ids(target)));
    for (let first = 0; first < bytes.length || first === 0; first += PART_BYTES) {
      const part = bytes.subarray(first, Math.min(first + PART_BYTES, bytes.length));
      await target.ecr.send(
        new UploadLayerPartCommand({
          ...ids(target),
          uploadId,
          partFirstByte: first,
          partLastByte: first + part.length - 1,
          layerPartBlob: part,
        }),
      );
      if (bytes.length === 0) break;
    }
    await target.ecr.send(new CompleteLayerUploadCommand({ ...ids(target), uploadId, layerDigests: [digest] }));
  }
}

/** Copies the manifest at `digest` (an index: every platform manifest too) and its blobs, then tags it. */
async function copyManifest(opts: CopyOptions, digest: string, tag?: string): Promise<void> {
  const { manifest, mediaType } = await getManifest(opts.source, digest);
  const parsed = JSON.parse(manifest) as {
    mediaType?: string;
    manifests?: { digest: string }[];
    config?: { digest: string };
    layers?: { digest: string }[];
  };
  const type = mediaType ?? parsed.mediaType;
  if (type && INDEX_TYPES.has(type)) {
    for (const child of parsed.manifests ?? []) await copyManifest(opts, child.digest);
  } else {
    await copyBlobs(
      opts,
      [parsed.config?.digest, ...(parsed.layers ?? []).map((l) => l.digest)].filter(Boolean) as string[],
    );
  }
  await opts.target.ecr.send(
    new PutImageCommand({
      ...ids(opts.target),
      imageManifest: manifest,
      imageManifestMediaType: type,
      imageDigest: digest,
      ...(tag ? { imageTag: tag } : {}),
    }),
  );
}

/** The digest a tag points at in a repository, or undefined when the tag does not exist. */
export async function digestOfTag(repo: RepositoryRef, tag: string): Promise<string | undefined> {
  try {
    const out = await repo.ecr.send(new DescribeImagesCommand({ ...ids(repo), imageIds: [{ imageTag: tag }] }));
    return out.imageDetails?.[0]?.imageDigest;
  } catch (err) {
    if ((err as { name?: string }).name === 'ImageNotFoundException') return undefined;
    throw err;
  }
}

/** Copies `digest` to `target:tag`; a tag that already exists must hold exactly that digest (tags are immutable). */
export async function copyImageByDigest(opts: CopyOptions): Promise<'copied' | 'present'> {
  const existing = await digestOfTag(opts.target, opts.tag);
  if (existing === opts.digest) return 'present';
  if (existing) {
    throw Object.assign(
      new Error(`${opts.target.repositoryName}:${opts.tag} already holds ${existing}, not the tested ${opts.digest}`),
      {
        hint: 'never overwrite a released tag: investigate how a different image got this tag',
      },
    );
  }
  await copyManifest(opts, opts.digest, opts.tag);
  const promoted = await digestOfTag(opts.target, opts.tag);
  if (promoted !== opts.digest) {
    throw new Error(
      `${opts.target.repositoryName}:${opts.tag} resolves to ${promoted ?? 'nothing'} after the copy, expected ${opts.digest}`,
    );
  }
  return 'copied';
}
