// ci:scan — the image scan gate: grype reads each image SBOM ci:sbom wrote and image-allowlist.json decides, with the
// same policy as ci:audit (unlisted high/critical findings and expired entries fail).
//   npm run ci:scan -- --version <v> [--images .tier/images.json]  grype ($GRYPE, else grype on PATH) per image
//   npm run ci:scan -- --report <grype -o json> [--digest sha256:…] gate a saved report
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { evaluateFindings, type Finding, printVerdict, type Severity } from './lib/audit-policy.js';
import { main } from './lib/github.js';
import { type ImageRecord, releaseImages } from './lib/image-sbom.js';
import { grypeFindings } from './lib/image-scan.js';

const exec = promisify(execFile);

await main(async () => {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '.tier/images.json' },
      version: { type: 'string' },
      report: { type: 'string' },
      digest: { type: 'string' },
      allowlist: { type: 'string', default: 'image-allowlist.json' },
      level: { type: 'string', default: 'high' },
      today: { type: 'string' },
    },
  });
  if (!['low', 'moderate', 'high', 'critical'].includes(values.level!)) {
    throw Object.assign(new Error(`--level '${values.level}' is not low, moderate, high or critical`), {
      hint: 'use --level high',
    });
  }
  const findings: Finding[] = [];
  const scanned: string[] = [];
  if (values.report) {
    findings.push(...grypeFindings(JSON.parse(await readFile(values.report, 'utf8')), values.report, values.digest));
    scanned.push(values.report);
  } else if (values.version) {
    const records = JSON.parse(await readFile(values.images!, 'utf8')) as ImageRecord[];
    for (const image of releaseImages(records, values.version, dirname(values.images!))) {
      const report = await grype(image.sbomFile);
      await mkdir(dirname(image.scanFile), { recursive: true });
      await writeFile(image.scanFile, `${JSON.stringify(report, null, 2)}\n`);
      findings.push(...grypeFindings(report, image.name, image.digest));
      scanned.push(`${image.name}${image.digest ? `@${image.digest}` : ''}`);
    }
  } else {
    throw Object.assign(new Error('nothing to scan: --version or --report is missing'), {
      hint: 'pass --version <v> (after ci:sbom --version <v>), or --report <grype -o json>',
    });
  }
  const allowList = await readFile(values.allowlist!, 'utf8').catch(() => '{"entries": []}');
  const today = values.today ?? new Date().toISOString().slice(0, 10);
  const verdict = evaluateFindings(findings, allowList, today, {
    threshold: values.level as Severity,
    file: values.allowlist,
  });
  printVerdict(verdict, {
    title: `image scan (${scanned.join(', ')})`,
    file: values.allowlist!,
    next: 'rebuild on a patched base image (TIER_NODE_IMAGE) or upgrade the package',
  });
  return verdict.ok ? 0 : 1;
});

/** grype's report of an SBOM; it exits 0 with findings (no --fail-on: the allow-list decides). */
async function grype(sbomFile: string): Promise<unknown> {
  const program = process.env.GRYPE || 'grype';
  const { stdout } = await exec(program, [`sbom:${sbomFile}`, '-o', 'json', '--quiet'], {
    env: { ...process.env, GRYPE_CHECK_FOR_APP_UPDATE: 'false' },
    maxBuffer: 256 << 20,
  }).catch((err: { stderr?: string; message: string }) => {
    throw Object.assign(new Error(`grype sbom:${sbomFile} failed: ${(err.stderr || err.message).trim()}`), {
      hint: 'GRYPE names the executable anchore/scan-action/download-grype installed; its database must be reachable',
    });
  });
  return JSON.parse(stdout);
}
