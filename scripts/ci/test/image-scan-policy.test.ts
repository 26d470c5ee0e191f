// The image supply chain gates: an image SBOM must describe the pushed digest and list npm and Debian packages; the
// scan gate fails on unlisted high/critical findings and expired entries, with the audit's own allow-list policy.
// Fixtures are the tools' own snapshots of their output: fixtures/grype-image-report.json is grype v0.110.0's
// grype/presenter/json/testdata/snapshot/TestJsonImgsPresenter.golden (anchore/grype dee8de48), and
// fixtures/syft-image-sbom.cdx.json is syft v1.42.3's syft/format/cyclonedxjson/testdata/snapshot/
// TestCycloneDxImageEncoder.golden (anchore/syft 860126c6), the versions the pinned download actions install.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { evaluateFindings } from '../lib/audit-policy.js';
import { checkImageSbom, releaseImages } from '../lib/image-sbom.js';
import { grypeFindings } from '../lib/image-scan.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));
const TODAY = '2026-06-01';
const allow = (entries: unknown[]) => JSON.stringify({ entries });
const CRITICAL = {
  id: 'CVE-1999-0002',
  reason: 'the package is never loaded by the server process',
  expires: '2026-07-01',
};

const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/tier-dev/api';
const DIGEST = `sha256:${'b'.repeat(64)}`;

describe('the images of a release', () => {
  const records = [
    { tier: 'api', image: 'localhost/tier-api:abc', version: 'abc', pushed: `${REPO}@${DIGEST}` },
    { tier: 'web', image: 'localhost/tier-web:abc', version: 'abc' },
    { tier: 'web', image: 'localhost/tier-web:old', version: 'old' },
  ];

  it('a pushed image is read from the registry by digest and attested as its repository; a local one from the engine', () => {
    const [api, web] = releaseImages(records, 'abc');
    assert.deepEqual(
      { source: api!.source, repository: api!.repository, digest: api!.digest, sbom: api!.sbomFile },
      {
        source: `registry:${REPO}@${DIGEST}`,
        repository: REPO,
        digest: DIGEST,
        sbom: '.tier/sbom/tier-api.image.cdx.json',
      },
    );
    assert.deepEqual(
      { source: web!.source, digest: web!.digest },
      { source: 'docker:localhost/tier-web:abc', digest: undefined },
    );
  });

  it('a version with no image fails naming the versions there are', () => {
    assert.throws(() => releaseImages(records, 'nope'), /no image of version nope \(it has: abc, old\)/);
  });
});

describe('an image SBOM', () => {
  const syft = fixture('syft-image-sbom.cdx.json');
  // syft's snapshot redacts the digest; the release image it stands for carries that value.
  const image = { ...releaseImages([{ tier: 'api', image: 'x', version: 'v', pushed: `${REPO}@${DIGEST}` }], 'v')[0]! };
  const pushed = { ...image, digest: syft.metadata.component.version as string };

  it("GIVEN syft's image SBOM with the app's npm packages THEN it passes, counting both kinds", () => {
    const npm = JSON.parse(
      execFileSync('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '-w', 'apps/api'], {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }),
    );
    const counts = checkImageSbom({ ...syft, components: [...syft.components, ...npm.components] }, pushed);
    assert.equal(counts.deb, 1);
    assert.ok(counts.npm > 10, `${counts.npm} npm packages`);
  });

  it("GIVEN syft's snapshot as it is (a Debian package, no npm package) THEN it fails naming what is missing", () => {
    assert.throws(() => checkImageSbom(syft, pushed), /lists 1 Debian and 0 npm packages/);
  });

  it('GIVEN an SBOM of another digest THEN it fails naming both', () => {
    assert.throws(() => checkImageSbom(syft, image), new RegExp(`describes sha256:redacted, not the pushed ${DIGEST}`));
  });

  it('GIVEN something that is not a CycloneDX container SBOM THEN it fails', () => {
    assert.throws(() => checkImageSbom({ spdxVersion: 'SPDX-2.3' }, pushed), /not a CycloneDX document/);
    const directory = { ...syft, metadata: { ...syft.metadata, component: { type: 'file', name: '.' } } };
    assert.throws(() => checkImageSbom(directory, pushed), /describes a file, not a container image/);
  });
});

describe('the image scan gate', () => {
  const report = fixture('grype-image-report.json');
  const scanned = report.source.target.manifestDigest as string;

  it("reads grype's matches as one finding per vulnerability and package, on the audit's severity scale", () => {
    const findings = grypeFindings(report, 'tier-api', scanned);
    assert.deepEqual(
      findings.map((f) => `${f.id} ${f.package} ${f.severity}`),
      ['CVE-1999-0001 package-1 low', 'CVE-1999-0002 package-2 critical'],
    );
    assert.match(findings[0]!.title, /^\[tier-api\] package-1 1\.1\.1 \(rpm\), fixed in 1\.2\.1, 2\.1\.3, 3\.4\.0$/);
  });

  it('fails on an unlisted critical finding and lets the low one through', () => {
    const v = evaluateFindings(grypeFindings(report, 'tier-api'), allow([]), TODAY, { file: 'image-allowlist.json' });
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.blocking.map((f) => f.id),
      ['CVE-1999-0002'],
    );
  });

  it('passes when a reviewed, unexpired entry covers it, by id, by a related id, or for its package only', () => {
    const findings = grypeFindings(report, 'tier-api');
    assert.equal(evaluateFindings(findings, allow([CRITICAL]), TODAY).ok, true);
    assert.equal(evaluateFindings(findings, allow([{ ...CRITICAL, package: 'package-2' }]), TODAY).ok, true);
    assert.equal(evaluateFindings(findings, allow([{ ...CRITICAL, package: 'other' }]), TODAY).ok, false);
    const related = structuredClone(report);
    related.matches[1].relatedVulnerabilities = [{ id: 'GHSA-c2qf-rxjj-qqgw' }];
    const byAlias = { ...CRITICAL, id: 'GHSA-c2qf-rxjj-qqgw' };
    assert.equal(evaluateFindings(grypeFindings(related, 'tier-api'), allow([byAlias]), TODAY).ok, true);
  });

  it('fails on an expired entry even though it matches, naming the file', () => {
    const v = evaluateFindings(
      grypeFindings(report, 'tier-api'),
      allow([{ ...CRITICAL, expires: '2026-05-31' }]),
      TODAY,
      {
        file: 'image-allowlist.json',
      },
    );
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.blocking.map((f) => f.id),
      ['CVE-1999-0002'],
      'an expired entry covers nothing',
    );
    assert.match(v.policyErrors[0]!, /expired on 2026-05-31/);
  });

  it('the allow-list is checked like the audit one: a bad CVE id or a far expiry fails', () => {
    const v = evaluateFindings(
      [],
      allow([
        { ...CRITICAL, id: 'CVE-99' },
        { ...CRITICAL, expires: '2027-01-01' },
      ]),
      TODAY,
      {
        file: 'image-allowlist.json',
      },
    );
    assert.equal(v.ok, false);
    assert.match(v.policyErrors.join('\n'), /entry 1 \(CVE-99\): "id" must be a CVE id[\s\S]*more than 90 days/);
    assert.match(
      evaluateFindings([], '{ nope', TODAY, { file: 'image-allowlist.json' }).policyErrors[0]!,
      /^image-allowlist\.json is not JSON/,
    );
  });

  it('a report of another digest, or no report at all, fails instead of passing empty', () => {
    assert.throws(() => grypeFindings(report, 'tier-api', DIGEST), new RegExp(`is of ${scanned}, not of ${DIGEST}`));
    assert.throws(() => grypeFindings({ errors: ['db unavailable'] }, 'tier-api'), /grype gave no report for tier-api/);
  });

  it('the repository allow-list is valid today', () => {
    const text = readFileSync(new URL('../../../image-allowlist.json', import.meta.url), 'utf8');
    assert.deepEqual(evaluateFindings([], text, new Date().toISOString().slice(0, 10)).policyErrors, []);
  });
});
