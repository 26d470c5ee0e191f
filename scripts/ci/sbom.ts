// ci:sbom — a CycloneDX SBOM of each image of a version as it ships, its npm and Debian packages alike (syft), read
// from the registry by digest once pushed: .tier/sbom/tier-<tier>.image.cdx.json, and the step outputs <tier>_sbom,
// <tier>_subject and <tier>_digest the attestation steps take.
//   npm run ci:sbom -- --version <v> [--images .tier/images.json]
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { main, setOutput } from './lib/github.js';
import { checkImageSbom, type ImageRecord, MAX_ATTESTED_SBOM_BYTES, releaseImages } from './lib/image-sbom.js';

const exec = promisify(execFile);

await main(async () => {
  const { values } = parseArgs({
    options: { images: { type: 'string', default: '.tier/images.json' }, version: { type: 'string' } },
  });
  if (!values.version) {
    throw Object.assign(new Error('which images? --version is missing'), {
      hint: 'pass --version <the version ci:images built>',
    });
  }
  return imageSboms(values.images!, values.version);
});

async function imageSboms(file: string, version: string): Promise<number> {
  const records = JSON.parse(await readFile(file, 'utf8')) as ImageRecord[];
  for (const image of releaseImages(records, version, dirname(file))) {
    await mkdir(dirname(image.sbomFile), { recursive: true });
    await exec('syft', ['scan', image.source, '--quiet', '-o', `cyclonedx-json=${image.sbomFile}`], {
      env: { ...process.env, SYFT_CHECK_FOR_APP_UPDATE: 'false' },
      maxBuffer: 64 << 20,
    }).catch((err: { stderr?: string; message: string }) => {
      throw Object.assign(new Error(`syft scan ${image.source} failed: ${(err.stderr || err.message).trim()}`), {
        hint: 'syft must be on PATH (anchore/sbom-action/download-syft) and the registry logged in (amazon-ecr-login)',
      });
    });
    const text = await readFile(image.sbomFile, 'utf8');
    if (Buffer.byteLength(text) > MAX_ATTESTED_SBOM_BYTES)
      throw new Error(`${image.sbomFile} is over the 16 MB an SBOM attestation may carry`);
    const { deb, npm } = checkImageSbom(JSON.parse(text), image);
    setOutput(`${image.tier}_sbom`, image.sbomFile);
    if (image.digest) {
      setOutput(`${image.tier}_subject`, image.repository!);
      setOutput(`${image.tier}_digest`, image.digest);
    }
    console.log(`✔ ${image.name}: ${deb} Debian and ${npm} npm packages of ${image.source} -> ${image.sbomFile}`);
  }
  return 0;
}
