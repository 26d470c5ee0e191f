// What each release image holds: the images of one version (.tier/images.json), where syft reads each one from, and
// the check that an image SBOM describes that image's digest and lists both its npm and its Debian packages.

/** One entry of `.tier/images.json` (written by ci:images). */
export interface ImageRecord {
  readonly tier: string;
  readonly image: string;
  readonly version: string;
  /** `<repository>@sha256:...` once pushed. */
  readonly pushed?: string;
}

export interface ReleaseImage {
  readonly tier: string;
  /** `tier-<tier>`: the name the SBOM and scan files carry. */
  readonly name: string;
  /** What syft reads: the registry by digest once pushed, else the local engine's image. */
  readonly source: string;
  /** Registry repository without tag or digest: the attestation subject. */
  readonly repository?: string;
  /** Manifest digest the registry returned for the push. */
  readonly digest?: string;
  readonly sbomFile: string;
  readonly scanFile: string;
}

/** The images of `version` in `.tier/images.json`, or an error saying which versions it has. */
export function releaseImages(records: readonly ImageRecord[], version: string, dir = '.tier'): ReleaseImage[] {
  const mine = records.filter((r) => r.version === version);
  if (mine.length === 0) {
    const have = [...new Set(records.map((r) => r.version))].join(', ') || 'none';
    throw Object.assign(new Error(`.tier/images.json has no image of version ${version} (it has: ${have})`), {
      hint: 'run npm run ci:images -- --version <the same version> first',
    });
  }
  return mine.map((r) => {
    const name = `tier-${r.tier}`;
    const files = { sbomFile: `${dir}/sbom/${name}.image.cdx.json`, scanFile: `${dir}/scan/${name}.grype.json` };
    const at = r.pushed?.lastIndexOf('@sha256:') ?? -1;
    if (!r.pushed || at < 0) return { tier: r.tier, name, source: `docker:${r.image}`, ...files };
    const repository = r.pushed.slice(0, at);
    const digest = r.pushed.slice(at + 1);
    // registry: reads the manifest the registry serves for the digest, never a same-named image the engine has.
    return { tier: r.tier, name, source: `registry:${r.pushed}`, repository, digest, ...files };
  });
}

/** actions/attest refuses a larger SBOM (its sbom-path input: "File size cannot exceed 16MB"). */
export const MAX_ATTESTED_SBOM_BYTES = 16 * 1024 * 1024;

interface CycloneDx {
  bomFormat?: string;
  specVersion?: string;
  serialNumber?: string;
  metadata?: { component?: { type?: string; name?: string; version?: string } };
  components?: Array<{ purl?: string }>;
}

/**
 * Checks a syft CycloneDX SBOM of a release image: it describes a container whose manifest digest (syft writes it as
 * the component version) is the pushed digest, and lists Debian (`pkg:deb/`) and npm (`pkg:npm/`) packages.
 */
export function checkImageSbom(sbom: unknown, image: ReleaseImage): { deb: number; npm: number } {
  const bom = sbom as CycloneDx;
  const fail = (why: string) =>
    Object.assign(new Error(`${image.sbomFile}: ${why}`), { hint: `see what syft printed for ${image.source}` });
  if (bom?.bomFormat !== 'CycloneDX' || !bom.specVersion || !bom.serialNumber)
    throw fail('not a CycloneDX document (bomFormat, specVersion and serialNumber are what attestation needs)');
  const subject = bom.metadata?.component;
  if (subject?.type !== 'container') throw fail(`describes a ${subject?.type ?? 'nothing'}, not a container image`);
  if (image.digest && subject.version !== image.digest)
    throw fail(`describes ${subject.version ?? 'no digest'}, not the pushed ${image.digest}`);
  const purls = (bom.components ?? []).map((c) => c.purl ?? '');
  const deb = purls.filter((p) => p.startsWith('pkg:deb/')).length;
  const npm = purls.filter((p) => p.startsWith('pkg:npm/')).length;
  if (deb === 0 || npm === 0) {
    throw fail(
      `lists ${deb} Debian and ${npm} npm packages: an image SBOM must list both (the OS and the app's node_modules)`,
    );
  }
  return { deb, npm };
}
